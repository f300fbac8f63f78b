"""The notebooks' glue: ``DemoSession`` gate by gate, the cards and tables, the agent helpers.

The session tests stop before the TOTP enrollment, so they need no Chromium: the embedded dev
IdP, the local vault and the emulated AWS are real, on loopback, in a private home.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vaultborn.approvals.audit import AuditEvent
from vaultborn.core.errors import UsageError
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.idp.tokens import TokenSource
from vaultborn.notebook import DemoSession, demo_home, run_cli
from vaultborn.notebook_agent import (
    MODES,
    AgentClient,
    TokenCalls,
    api_checks,
    live_code,
    token_calls_by_callers,
)
from vaultborn.notebook_view import audit_rows, card, table
from vaultborn.runner.plan import default_plan
from vaultborn.runner.runs import RunView
from vaultborn.runner.runtime import ensure_demo_secrets
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.otp import parse_otpauth_uri, totp_code

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def no_user_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A home without ``~/.aws``: the session's store is the embedded emulator, emptied first
    (moto keeps secrets per process, so a session would see what an earlier test seeded)."""
    from moto.moto_api._internal.models import moto_api_backend

    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    moto_api_backend.reset()


def test_demo_home_is_vaultborn_home_when_set(tmp_path: Path) -> None:
    assert demo_home({"VAULTBORN_HOME": str(tmp_path / "h")}) == tmp_path / "h"


def test_demo_home_is_otherwise_a_fresh_private_temporary_directory() -> None:
    first, second = demo_home({}), demo_home({})

    assert first != second and first.is_dir() and second.is_dir()
    assert first.stat().st_mode & 0o777 == 0o700
    assert ".vaultborn" not in str(first)
    first.rmdir()
    second.rmdir()


def test_gate_by_gate_with_an_edit_then_a_rejection(home: Path) -> None:
    async def scenario() -> list[RunView]:
        async with DemoSession(home) as demo:
            views = [await demo.start()]
            views.append(await demo.approve("plan reviewed"))
            views.append(await demo.edit("longer", password_recipe="letters,digits,40"))
            views.append(await demo.approve())
            assert demo.item().title == default_plan().break_glass.item
            assert demo.effects() == {
                "items": 1, "users": 0, "confirmed_totp": 0, "seeded_targets": 0,
            }  # fmt: skip
            views.append(await demo.reject("not today"))
            with pytest.raises(UsageError, match="waits for nothing"):
                await demo.approve()
            kinds = [(e.kind, e.subject) for e in demo.audit_events()]
        assert kinds[:3] == [("decision", "vault_session"), ("decision", "create_item"),
                             ("decision", "create_item")]  # fmt: skip
        return views

    session, item, edited, user, rejected = asyncio.run(scenario())

    assert session.waiting is not None and session.waiting["kind"] == "vault_session"
    assert item.waiting is not None and edited.waiting is not None
    assert item.waiting["action"]["name"] == edited.waiting["action"]["name"] == "create_item"
    assert edited.waiting["digest"] != item.waiting["digest"]
    assert edited.waiting["action"]["args"]["password_recipe"] == "letters,digits,40"
    assert user.waiting is not None and user.waiting["action"]["name"] == "create_user"
    assert (rejected.status, rejected.reason) == ("rejected", "create_user rejected: not today")


def test_history_state_at_and_fork_from_an_earlier_checkpoint(home: Path) -> None:
    async def scenario() -> tuple[RunView, RunView, DemoSession]:
        async with DemoSession(home) as demo:
            first = await demo.start("run-first")
            await demo.approve()
            await demo.approve()  # create_item: the run now waits at create_user
            timeline = demo.history()
            after_item = next(p for p in timeline if p["next"] == ["propose_create_user"])
            before = demo.state_at(after_item["checkpoint_id"])
            assert "item" in before and "user" not in before
            fork = await demo.fork("run-first", after_item["checkpoint_id"], "run-fork")
            assert demo.effects()["items"] == 1  # the fork made no second item
            assert {v.run_id for v in demo.runs()} == {"run-first", "run-fork"}
            assert next(e.kind for e in demo.audit_events("run-fork")) == "fork"
        return first, fork, demo

    _, fork, demo = asyncio.run(scenario())

    assert fork.run_id == "run-fork" and fork.status == "waiting"
    assert fork.waiting is not None and fork.waiting["action"]["name"] == "create_user"
    assert fork.values["run_id"] == "run-fork"
    with pytest.raises(UsageError, match="not open"):
        _ = demo.deps


def test_answers_need_a_run_and_a_fork_needs_a_step(home: Path) -> None:
    async def scenario() -> None:
        async with DemoSession(home) as demo:
            with pytest.raises(UsageError, match="no run yet"):
                await demo.approve()
            await demo.start("run-x")
            (origin,) = [p for p in demo.history() if p["step"] == -1]
            with pytest.raises(UsageError, match="nothing to fork"):
                await demo.fork("run-x", origin["checkpoint_id"])

    asyncio.run(scenario())


def test_run_cli_runs_vaultborn_in_a_new_process_on_the_home(home: Path) -> None:
    done = run_cli(home, "runs", "--json")

    assert (done.code, done.json) == (0, [])
    assert str(done).startswith("$ vaultborn runs --json  →  exit 0")


# -- cards and tables ---------------------------------------------------------------------------
def _waiting(payload: dict[str, object]) -> RunView:
    return RunView(run_id="run-1", status="waiting", waiting=payload)


def test_a_waiting_approval_card_shows_action_args_digest_and_expiry() -> None:
    payload = {
        "kind": "approval", "run_id": "run-1", "digest": "sha256:abc", "requested_at": 0.0,
        "expires_at": 3600.0, "summary": "Seed <x>",
        "action": {"name": "seed", "args": {"from": "op://ACL/a/b", "to": "aws://t"},
                   "effects": ["store.put"], "summary": "Seed <x>"},
    }  # fmt: skip

    shown = card(_waiting(payload), now=600.0)

    text = str(shown)
    assert text.startswith("run-1 waits for approval of seed — Seed <x>")
    for line in ("  action: seed", "    from: op://ACL/a/b", "  effects: store.put",
                 "  digest: sha256:abc", "(in 50 min)"):  # fmt: skip
        assert line in text
    html = shown._repr_html_()
    assert "Seed &lt;x&gt;" in html and "<x>" not in html
    assert "padding-left:2em" in html  # the arguments sit under their action


def test_human_step_and_finished_cards() -> None:
    human = card(_waiting({"kind": "human_step", "url": "http://p/x", "instructions": "click"}))
    done = card(
        RunView(
            run_id="run-2", status="done",
            values={"item": {"item_id": "i1", "version": 1, "password_ref": "op://v/i1/password"},
                    "user": {"user_id": "auth0|u", "email": "a@b"},
                    "seeds": {"aws://t": {"target": "aws://t", "version_id": "v1"}}},
        )
    )  # fmt: skip

    assert (
        str(human)
        == "run-1 waits for a person at http://p/x: click\n  page: http://p/x\n  do: click"
    )
    assert str(done).splitlines() == [
        "run-2: done",
        "  vault item: i1 (version 1)",
        "  password: op://v/i1/password",
        "  IdP user: auth0|u (a@b)",
        '  seed aws://t: {"version_id": "v1"}',
    ]


def test_tables_render_records_as_text_and_escaped_html() -> None:
    shown = table([{"a": 1, "b": "<b>"}, {"a": 22, "b": {"k": [1]}}], title="T")

    assert str(shown) == 'T\na   b\n1   <b>\n22  {"k": [1]}'
    assert "<td style='text-align:left'>&lt;b&gt;</td>" in shown._repr_html_()
    assert str(table([])) == ""


def test_audit_rows_shorten_the_chain_hash() -> None:
    event = AuditEvent(3, "run-1", 0.0, "effect", "seed[0]", {"outcome": "created"}, "p", "f" * 64)

    (row,) = audit_rows([event])

    assert row["hash"] == "f" * 12 + "…"
    assert (row["seq"], row["kind"], row["detail"]) == (3, "effect", {"outcome": "created"})


# -- the agent's side ---------------------------------------------------------------------------
@pytest.fixture
def idp(tmp_path: Path) -> Iterator[tuple[LocalVault, RunningDevIdP]]:
    """The dev IdP of the demo tenant, its client secrets generated in a local vault."""
    vault = LocalVault(tmp_path / "vault-home")
    ensure_demo_secrets(vault, default_plan().to_dict())
    plan = default_plan()
    tenant = demo_tenant(
        mgmt_secret=vault.read(plan.idp.management_secret),
        agent_secret=vault.read(plan.agent.secret),
    )
    try:
        with start_dev_idp(tenant, db=tmp_path / "devidp.db") as running:
            yield vault, running
    finally:
        vault.close()


def _agent() -> AgentClient:
    plan = default_plan()
    return AgentClient(plan.agent.client_id, plan.agent.secret, plan.agent.audience)


def test_token_calls_one_per_caller_without_a_shared_source_else_one(
    idp: tuple[LocalVault, RunningDevIdP],
) -> None:
    vault, running = idp

    rows = asyncio.run(token_calls_by_callers(vault, running.base_url, _agent(), [1, 4]))

    assert rows == [
        {"callers": 1, **dict.fromkeys(MODES, 1)},
        {"callers": 4, **dict.fromkeys(MODES, 1), "one source per caller": 4},
    ]


def test_token_calls_count_only_token_answers() -> None:
    calls = TokenCalls()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    with httpx.Client(transport=transport, event_hooks={"response": [calls.hook]}) as http:
        http.post("http://idp/oauth/token")
        http.get("http://idp/oauth/token")
        http.post("http://idp/api/v2/users")

    assert calls.count == 1


def test_api_checks_accept_the_token_and_refuse_the_spoiled_ones(
    idp: tuple[LocalVault, RunningDevIdP],
) -> None:
    vault, running = idp
    agent = _agent()
    with TokenSource(vault, domain=running.base_url) as tokens:
        token = tokens.token(agent.client_id, agent.secret_ref, agent.audience)

    rows = api_checks(
        token, running.base_url + "api/protected/whoami", running.issuer, agent.audience
    )

    assert [(r["check"], r["status"]) for r in rows] == [
        ("JwtVerifier, our audience", "verified"),
        ("JwtVerifier, another audience", "refused"),
        ("GET whoami: the agent's token", 200),
        ("GET whoami: no token", 401),
        ("GET whoami: signature altered", 401),
    ]
    assert rows[2]["answer"]["sub"] == "agent@clients"
    assert token.reveal() not in repr(rows)


def test_live_code_is_the_vaults_code_and_its_time_left(tmp_path: Path) -> None:
    uri = f"otpauth://totp/dev:admin?secret={SEED}&issuer=dev&period=30"
    with LocalVault(tmp_path / "home") as vault:
        item = vault.create_item(
            "ACL", ItemSpec(title="bg", assignments=(parse_assignment(f"otp[otp]={uri}"),))
        )

        shown = live_code(vault, item.vault.id, item.id, clock=lambda: 1_000_000_007.5)

    expected = totp_code(parse_otpauth_uri(uri), 1_000_000_007.5).reveal()
    assert shown == {"code": expected, "valid_for": 12.5, "period": 30}
    assert SEED not in repr(shown)


def test_live_code_needs_an_otp_field(tmp_path: Path) -> None:
    with LocalVault(tmp_path / "home") as vault:
        item = vault.create_item("ACL", ItemSpec(title="plain"))

        with pytest.raises(LookupError, match="no one-time password field"):
            live_code(vault, item.vault.id, item.id)
