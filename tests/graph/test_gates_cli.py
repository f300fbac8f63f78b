"""Gates from the command line: plan, a wrong digest, edits, expiry — before any browser step."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.rundb import audit_log_of
from vaultborn.approvals.audit import AuditLog
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.robustness("approval integrity: answers at the gates")


def _json(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _started(cli: Run) -> tuple[str, dict[str, Any]]:
    """A run past its vault session, waiting at create_item."""
    first = cli("setup", "--json")
    assert first.code == 3, first
    run_id = _json(first.out)["run_id"]
    second = cli("approve", run_id, "--json")
    assert second.code == 3, second
    waiting = _json(second.out)["waiting"]
    assert waiting["action"]["name"] == "create_item"
    return run_id, waiting


def test_plan_lists_actions_and_changes_nothing(cli: Run, home: Path) -> None:
    result = cli("plan", "--json")

    assert result.code == 0, result
    shown = _json(result.out)
    names = [a["name"] for a in shown["actions"]]
    assert names == ["create_item", "create_user", "enroll_totp", "seed", "verify"]
    assert all(a["digest"].startswith("sha256:") for a in shown["actions"])
    assert {c["name"]: c["status"] for c in shown["checks"]}["idp"] == "warn"
    assert not (home / "state.db").exists()


def test_plan_with_a_bad_file_is_one_line(cli: Run, tmp_path: Path) -> None:
    plan = tmp_path / "vaultborn.toml"
    plan.write_text('[vault]\nnmae = "ACL"\n')
    result = cli("plan", "--plan", str(plan))
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "unknown key vault.nmae (did you mean name?)" in result.err


def test_an_answer_for_another_digest_is_refused_and_audited(cli: Run, home: Path) -> None:
    run_id, waiting = _started(cli)
    wrong = cli("approve", run_id, "--digest", "sha256:" + "0" * 64)

    assert wrong.code == 2
    assert "not for the waiting create_item" in wrong.err
    still = json.loads(cli("approvals", "--json").out)
    assert [(v["run_id"], v["status"]) for v in still] == [(run_id, "waiting")]
    right = cli("approve", run_id, "--digest", waiting["digest"], "--json")
    assert right.code == 3
    assert _json(right.out)["waiting"]["action"]["name"] == "create_user"
    audit = audit_log_of(home)
    try:
        kinds = [(e.kind, e.subject) for e in audit.events(run_id)]
        assert ("refused", "create_item") in kinds
        assert audit.verify().ok
    finally:
        audit.close()


def test_an_edit_is_asked_again_and_cannot_widen(cli: Run, home: Path) -> None:
    run_id, waiting = _started(cli)
    widened = cli("edit", run_id, "extra=1")
    assert widened.code == 2
    assert "not add arguments (extra)" in widened.err

    edited = cli("edit", run_id, "title=Break glass — edited", "--json")
    assert edited.code == 3, edited
    again = _json(edited.out)["waiting"]
    assert again["action"]["args"]["title"] == "Break glass — edited"
    assert again["digest"] != waiting["digest"]
    assert cli("approve", run_id).code == 3  # created; now create_user waits
    vault = LocalVault(home)
    try:
        assert [i.title for i in vault.find_items("ACL", title="Break glass — edited")] == [
            "Break glass — edited"
        ]
    finally:
        vault.close()


def test_an_expired_request_is_asked_again(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULTBORN_APPROVAL_TTL", "1")
    first = cli("setup", "--json")
    run_id, asked = _json(first.out)["run_id"], _json(first.out)["waiting"]
    time.sleep(1.2)
    # The re-asked request gets this process's TTL; a long one keeps a slow machine from
    # letting it lapse again before the next answer.
    monkeypatch.setenv("VAULTBORN_APPROVAL_TTL", "600")

    late = cli("approve", run_id, "--json")
    # Refused out loud, saying why and when (not a silent "waiting" with exit 3).
    assert late.code == 2, late
    assert late.err.count("\n") == 1
    assert "the request for vault session expired at " in late.err
    assert "before this answer came (the run asks again)" in late.err
    view = _json(cli("show", run_id, "--json").out)
    assert view["waiting"]["kind"] == "vault_session"
    assert view["waiting"]["expires_at"] > asked["expires_at"]
    assert view["waiting"]["request_id"] != asked["request_id"]
    assert view["reason"].startswith("refused: the request for vault session expired")
    assert _json(cli("approve", run_id, "--json").out)["waiting"]["action"]["name"] == (
        "create_item"
    )


def test_a_step_keeps_the_expiry_it_was_asked_with(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _json(cli("setup", "--json").out)["run_id"]
    monkeypatch.setenv("VAULTBORN_APPROVAL_TTL", "1")
    asked = _json(cli("approve", run_id, "--json").out)["waiting"]  # create_item, 1 s
    assert asked["action"]["name"] == "create_item"
    time.sleep(1.2)
    monkeypatch.setenv("VAULTBORN_APPROVAL_TTL", "600")

    refused = cli("approve", run_id, "--json")
    assert refused.code == 2
    assert "the request for create_item expired at" in refused.err
    late = _json(cli("show", run_id, "--json").out)
    assert late["waiting"]["action"]["name"] == "create_item"
    assert late["reason"].startswith("refused: the request for create_item expired")
    assert late["waiting"]["expires_at"] - late["waiting"]["requested_at"] == 600
    assert _json(cli("approve", run_id, "--json").out)["waiting"]["action"]["name"] == (
        "create_user"
    )


def test_sealed_checkpoints_need_their_key(
    cli: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    assert cli("item", "create", "--vault", "ACL", "--title", "State key", "--category",
               "password", f"password={key}").code == 0  # fmt: skip
    monkeypatch.setenv("VAULTBORN_CHECKPOINT_KEY", "op://ACL/State key/password")
    run_id, _ = _started(cli)
    shown = cli("show", run_id, "--history", "--json")

    assert shown.code == 0, shown
    timeline = _json(shown.out)["history"]
    assert [p["step"] for p in timeline] == sorted(p["step"] for p in timeline)
    assert timeline[-1]["waiting"]
    assert b"Auth0 \\u2014 admin@example.com" not in (home / "state.db").read_bytes()
    assert "Auth0 — admin@example.com".encode() not in (home / "state.db").read_bytes()
    monkeypatch.delenv("VAULTBORN_CHECKPOINT_KEY")  # the run database's own keys: not these
    other = cli("runs")
    assert other.code == 1
    assert "does not open with this key" in other.err and other.err.count("\n") == 1
    monkeypatch.setenv("VAULTBORN_CHECKPOINT_KEY", "off")
    unsealed = cli("runs")
    assert unsealed.code == 1
    assert "checkpoints are sealed" in unsealed.err
    assert unsealed.err.count("\n") == 1


def test_a_replayed_approval_does_not_open_the_next_gate(cli: Run) -> None:
    run_id, waiting = _started(cli)
    assert cli("approve", run_id, "--digest", waiting["digest"]).code == 3  # create_user waits
    replayed = cli("approve", run_id, "--digest", waiting["digest"])

    assert replayed.code == 2
    assert "not for the waiting create_user" in replayed.err
    view = _json(cli("show", run_id, "--json").out)
    assert view["waiting"]["action"]["name"] == "create_user"
    assert "user" not in view["state"]


OTHER_ACCOUNT = """\
[vault]
name = "ACL"
[idp]
management_client_id = "mgmt"
management_secret = "op://ACL/vaultborn dev — Auth0 Management/password"
[break_glass]
email = "other@example.com"
item = "Auth0 — other@example.com"
[agent]
client_id = "agent"
secret = "op://ACL/vaultborn dev — Auth0 M2M agent/password"
audience = "https://api.example.com"
"""


def test_approve_without_a_run_answers_the_one_that_waits(cli: Run, tmp_path: Path) -> None:
    nothing = cli("approve")
    assert nothing.code == 2
    assert "no run waits for a decision" in nothing.err

    run_id = _json(cli("setup", "--json").out)["run_id"]
    answered = cli("approve", "--json")
    assert answered.code == 3, answered
    assert _json(answered.out)["run_id"] == run_id
    assert _json(answered.out)["waiting"]["action"]["name"] == "create_item"

    other = tmp_path / "other.toml"
    other.write_text(OTHER_ACCOUNT)
    second = _json(cli("setup", "--plan", str(other), "--json").out)["run_id"]
    several = cli("reject", "--reason", "which one?")
    assert several.code == 2
    assert f"several runs wait ({second}, {run_id})" in several.err or (
        f"several runs wait ({run_id}, {second})" in several.err
    )


def test_the_plan_names_the_vault_and_a_conflicting_flag_is_refused(
    cli: Run, tmp_path: Path
) -> None:
    plan = tmp_path / "op.toml"
    plan.write_text(OTHER_ACCOUNT.replace("[vault]\n", '[vault]\nbackend = "op"\n'))

    refused = cli("--vault-backend", "local", "setup", "--plan", str(plan))
    assert refused.code == 2
    assert "the plan says vault.backend = 'op' but --vault-backend" in refused.err
    assert refused.err.count("\n") == 1


def test_a_policy_names_only_steps_and_denies_by_name(cli: Run, tmp_path: Path) -> None:
    """A misspelt action is refused before anything runs; a deny rule ends the run by name."""
    typo = tmp_path / "typo.toml"
    typo.write_text('[actions]\ncreate_iten = "deny"\n')
    refused = cli("setup", "--policy", str(typo), "--json")
    assert refused.code == 2
    assert refused.err.count("\n") == 1
    assert "unknown key actions.create_iten (did you mean actions.create_item?)" in refused.err
    assert json.loads(cli("runs", "--json").out) == []

    deny = tmp_path / "deny.toml"
    deny.write_text('[actions]\nvault_session = "allow"\ncreate_item = "deny"\n')
    denied = cli("setup", "--policy", str(deny), "--json")
    assert denied.code == 1, denied
    view = _json(denied.out)
    assert view["status"] == "rejected"
    assert view["reason"] == "create_item rejected: the policy denies create_item"


def test_a_step_the_policy_decides_skips_its_gate_and_one_a_person_decides_stops_there(
    cli: Run, tmp_path: Path, home: Path
) -> None:
    """The gate node (and its checkpoint) runs only where a person is asked."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[actions]\nvault_session = "allow"\ncreate_item = "allow"\n')
    first = cli("setup", "--policy", str(policy), "--json")
    assert first.code == 3, first
    view = _json(first.out)
    assert view["waiting"]["action"]["name"] == "create_user"
    shown = _json(cli("show", view["run_id"], "--history", "--json").out)
    went = {node for checkpoint in shown["history"] for node in checkpoint["next"]}
    assert {"propose_create_item", "create_item", "gate_create_user"} <= went
    assert "gate_create_item" not in went
    decisions = [
        (e.subject, e.detail["approver"])
        for e in AuditLog(f"sqlite:///{home / 'state.db'}").events(view["run_id"])
        if e.kind == "decision"
    ]
    assert decisions == [("vault_session", "policy"), ("create_item", "policy")]
