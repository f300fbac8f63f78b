"""``vaultborn setup`` end to end on the embedded defaults: real dev IdP, moto, Chromium, SQLite.

Each CLI call runs in this process but builds everything anew (graph, checkpointer, dev IdP
on its database in VAULTBORN_HOME), as separate processes would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Run
from tests.rundb import at_rest
from vaultborn.browser.chromium import find_chromium
from vaultborn.core.database import make_engine
from vaultborn.graphs.checkpoint import DATABASE_ENV
from vaultborn.vault.local import LocalVault
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


def _json(result: Any) -> dict[str, Any]:
    return dict(json.loads(result.out))


def _secret_values(home: Path) -> list[str]:
    """Every secret value in the local vault (passwords, OTP seeds, client secrets)."""
    vault = LocalVault(home)
    values = []
    try:
        for summary in vault.find_items():
            item = vault.get_item(summary.vault.id, summary.id, reveal=True)
            values += [f.value.reveal() for f in item.fields if isinstance(f.value, Secret)]
    finally:
        vault.close()
    return values


def _assert_no_secret_at_rest(home: Path, *outputs: str) -> None:
    values = _secret_values(home)
    assert len(values) >= 5  # break-glass password + OTP seed, two client secrets, an API key
    state = at_rest(home)
    for value in values:
        assert value.encode() not in state
        for output in outputs:
            assert value not in output


def test_auto_approved_setup_runs_to_done(cli: Run, home: Path, run_database: str) -> None:
    result = cli("setup", "--auto-approve", "--json")

    assert result.code == 0, result
    view = _json(result)
    assert view["status"] == "done"
    shown = cli("show", view["run_id"], "--json")
    state = _json(shown)["state"]
    assert state["enrollment"]["status"] == "confirmed"
    assert state["verify"]["api_status"] == 200
    assert state["verify"]["login_drill"] == "success-screen"
    assert list(state["seeds"]) == ["aws-secretsmanager://us-east-1/vaultborn-demo/some-api"]
    audit = _json(shown)["audit"]
    vault_ops = {e["detail"]["op"] for e in audit if e["kind"] == "vault"}
    assert {"find_items", "create_item", "read", "set_otp", "get_item"} <= vault_ops
    # Codes come from the item as its step read it (revealed, once), audited as that read.
    revealed = [e for e in audit if e["kind"] == "vault" and e["detail"]["op"] == "get_item"]
    assert revealed and all(e["detail"]["reveal"] is True for e in revealed)
    assert {e["subject"] for e in audit if e["kind"] == "effect"} == {
        "create_item",
        "create_user",
        "enroll_totp",
        "seed[0]",
        "verify",
    }
    assert cli("audit", "verify").code == 0
    _assert_no_secret_at_rest(home, result.out, result.err, shown.out)
    # The time steps of the codes sent (the enrollment's, the drill's) are in the run database
    # for the next process's drill; numbers only.
    url = os.environ.get(DATABASE_ENV) or f"sqlite:///{home / 'state.db'}"
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT item, step FROM totp_used_steps")).all()
    engine.dispose()
    assert len({item for item, _ in rows}) == 1, rows  # the break-glass item's
    used = {step for _, step in rows}
    enrolled = set(state["enrollment"]["code_steps"])
    assert enrolled < used, (enrolled, used)


def test_gate_by_gate_from_separate_invocations(cli: Run, home: Path, run_database: str) -> None:
    first = cli("setup", "--json")
    assert first.code == 3, first
    run_id = _json(first)["run_id"]
    asked = [_json(first)["waiting"]["kind"]]
    outputs = [first.out, first.err]
    for _ in range(10):
        step = cli("approve", run_id, "--json")
        outputs += [step.out, step.err]
        if step.code != 3:
            break
        waiting = _json(step)["waiting"]
        asked.append(
            waiting["action"]["name"] if waiting["kind"] == "approval" else waiting["kind"]
        )
    assert step.code == 0, step
    assert _json(step)["status"] == "done"
    assert asked == ["vault_session", "create_item", "create_user", "enroll_totp", "seed"]
    _assert_no_secret_at_rest(home, *outputs)


def test_reject_ends_the_run_cleanly(cli: Run, home: Path) -> None:
    run_id = _json(cli("setup", "--json"))["run_id"]
    assert cli("approve", run_id, "--json").code == 3  # the session; now create_item waits
    rejected = cli("reject", run_id, "--reason", "not today", "--json")

    assert rejected.code == 1
    view = _json(rejected)
    assert view["status"] == "rejected"
    assert "not today" in view["reason"]
    vault = LocalVault(home)
    try:
        assert vault.find_items("ACL", title="Auth0 — admin@example.com") == []
    finally:
        vault.close()
    again = cli("approve", run_id)
    assert again.code == 1  # the run is elsewhere: a run-state error
    assert "is not waiting" in again.err


@pytest.mark.parametrize(
    ("approvals", "gate"),
    [(0, "vault_session"), (2, "create_user"), (3, "enroll_totp"), (4, "seed")],
)
def test_reject_at_each_gate_stops_before_its_effect(
    cli: Run, home: Path, approvals: int, gate: str
) -> None:
    first = cli("setup", "--json")
    run_id = _json(first)["run_id"]
    for _ in range(approvals):
        assert cli("approve", run_id).code == 3
    assert _json(cli("show", run_id, "--json"))["status"] == "waiting"
    rejected = cli("reject", run_id, "--reason", f"no {gate}", "--json")

    assert rejected.code == 1
    assert _json(rejected)["status"] == "rejected"
    state = _json(cli("show", run_id, "--json"))["state"]
    done = {"vault_session": set(), "create_user": {"item"}, "enroll_totp": {"item", "user"},
            "seed": {"item", "user", "enrollment"}}[gate]  # fmt: skip
    assert {k for k in ("item", "user", "enrollment", "seeds") if state.get(k)} == done
