"""``run_setup`` from a program: the CLI's rules, a callback where the CLI would prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import vaultborn
from vaultborn.approvals.audit import AuditLog
from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import database_url


def test_a_program_runs_a_setup_answering_every_gate(home: Path) -> None:
    asked: list[str] = []
    approve = vaultborn.approve_all("release-bot")

    def on_gate(waiting: dict[str, Any]) -> object:
        asked.append(waiting.get("kind", "") + ":" + waiting.get("action", {}).get("name", ""))
        return approve(waiting)

    view = vaultborn.run_setup(on_gate=on_gate, home=home)
    assert view.status == "done", view.reason
    # The verification changes nothing: the default policy lets it run unasked.
    assert asked == ["vault_session:", *(f"approval:{n}" for n in (
        "create_item", "create_user", "enroll_totp", "seed"))]  # fmt: skip
    audit = AuditLog(database_url(home))
    try:
        decided = {
            e.subject: e.detail["approver"]
            for e in audit.events(view.run_id)
            if e.kind == "decision"
        }
    finally:
        audit.close()
    assert decided.pop("verify") == "policy"
    assert set(decided.values()) == {"release-bot"} and len(decided) == 5


def test_without_a_callback_it_stops_at_the_first_gate_and_continues_later(home: Path) -> None:
    waiting = vaultborn.run_setup(home=home)
    assert waiting.status == "waiting" and waiting.waiting is not None
    assert waiting.waiting["kind"] == "vault_session"
    with pytest.raises(UsageError, match="is unfinished"):
        vaultborn.run_setup(home=home)  # one setup per account at a time, as the CLI

    def unbound(w: dict[str, Any]) -> object:  # names the action only, not the run or request
        return {"decision": "reject", "digest": w["digest"], "approver": "ops",
                "reason": "not today"}  # fmt: skip

    # A callback whose answers are always refused is told why, once, rather than asked for ever.
    with pytest.raises(UsageError, match="the answer lacks request_id, run_id"):
        vaultborn.run_setup(run_id=waiting.run_id, home=home, on_gate=unbound)

    def reject(w: dict[str, Any]) -> object:
        return vaultborn.answer_for(w, "reject", approver="ops", reason="not today")

    refused = vaultborn.run_setup(run_id=waiting.run_id, home=home, on_gate=reject)
    assert refused.status == "rejected" and "not today" in refused.reason


def test_the_public_names_load_on_first_use() -> None:
    for name in vaultborn.__all__:
        assert getattr(vaultborn, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = vaultborn.nope
