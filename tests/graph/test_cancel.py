"""``vaultborn cancel``: the way out of a run that nothing else moves, and every number checked.

A run once kept ``VAULTBORN_APPROVAL_TTL=inf`` in its state: every ``resume`` ended in an
internal error, ``reject`` said it was not waiting, and a new setup for the account was refused
as unfinished. Now such a value is refused where it comes in, a run that still holds one stops
with one line naming the way out, and ``cancel`` ends any run that is not over — audited, shown
as ``cancelled`` everywhere, the account free again, what the run made still listed.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.rundb import state_db_of
from vaultborn.approvals.audit import AuditLog
from vaultborn.core.errors import UsageError
from vaultborn.graphs.setup import build_graph
from vaultborn.runner.board import RunBoard
from vaultborn.runner.library import run_setup
from vaultborn.runner.runs import StateDb

pytestmark = pytest.mark.robustness("approval integrity: cancel and unusable numbers")


def _json(text: str) -> Any:
    return json.loads(text)


def _db(home: Path) -> StateDb:
    return state_db_of(home)


def _events(home: Path, run_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    audit = AuditLog(_db(home).url)
    try:
        return [(e.kind, e.subject, e.detail) for e in audit.events(run_id)]
    finally:
        audit.close()


def _plant(home: Path, run_id: str, values: dict[str, Any], as_node: str) -> None:
    """Write ``values`` into the run's state through LangGraph, as an older version would have."""
    with _db(home).open() as saver:
        config: Any = {"configurable": {"thread_id": run_id}}
        build_graph(saver).update_state(config, values, as_node=as_node)


def _stuck(cli: Run, home: Path) -> str:
    """A run whose state keeps an infinite TTL for its vault session (as issue 18 found it)."""
    run_id = _json(cli("setup", "--json").out)["run_id"]
    _plant(home, run_id, {"session_ttl": math.inf}, "session_gate")
    return run_id


@pytest.mark.parametrize("ttl", ["inf", "-inf", "nan", "1e400", "0", "-5", "2592001", "soon"])
def test_an_unusable_approval_ttl_is_refused_before_anything_starts(
    cli: Run, home: Path, monkeypatch: pytest.MonkeyPatch, ttl: str
) -> None:
    monkeypatch.setenv("VAULTBORN_APPROVAL_TTL", ttl)
    refused = cli("setup", "--json")

    assert refused.code == 2, refused
    assert refused.err.count("\n") == 1
    assert "VAULTBORN_APPROVAL_TTL must be a number of seconds above 0 and at most" in refused.err
    monkeypatch.delenv("VAULTBORN_APPROVAL_TTL")
    assert _json(cli("runs", "--json").out) == []


def test_the_longest_ttl_is_taken(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULTBORN_APPROVAL_TTL", "2592000")
    waiting = _json(cli("setup", "--json").out)["waiting"]
    assert waiting["expires_at"] - waiting["requested_at"] == 2592000


@pytest.mark.parametrize("ttl", [math.inf, math.nan, 0.0, 1e9])
def test_a_program_cannot_start_a_run_with_an_unusable_ttl(home: Path, ttl: float) -> None:
    with pytest.raises(UsageError, match="approval_ttl must be a number of seconds"):
        run_setup(home=home, approval_ttl=ttl)


def test_a_run_stuck_on_an_unusable_value_says_so_and_can_be_cancelled(
    cli: Run, home: Path
) -> None:
    run_id = _stuck(cli, home)

    for _ in range(2):  # every resume, not only the first
        resumed = cli("resume", run_id)
        assert resumed.code == 1, resumed
        assert "internal error" not in resumed.err
        assert resumed.err.count("\n") == 1
        assert f"run {run_id} keeps an unusable request for the vault session" in resumed.err
        assert f"'vaultborn cancel {run_id} --reason TEXT'" in resumed.err
    assert cli("reject", run_id, "--reason", "stuck").code == 1  # a run-state error, not usage
    refused = cli("setup", "--json")
    assert refused.code == 1
    assert f"is unfinished as {run_id}" in refused.err
    assert f"vaultborn cancel {run_id}" in refused.err

    cancelled = cli("cancel", run_id, "--reason", "stuck on an infinite TTL", "--json")
    assert cancelled.code == 0, cancelled
    assert _json(cancelled.out)["status"] == "cancelled"
    again = cli("setup", "--json")  # the account is free
    assert again.code == 3, again
    assert _json(again.out)["run_id"] != run_id


def test_cancel_ends_a_waiting_run_everywhere_and_keeps_what_it_made(cli: Run, home: Path) -> None:
    run_id = _json(cli("setup", "--json").out)["run_id"]
    assert cli("approve", run_id).code == 3  # the vault session; create_item waits
    assert cli("approve", run_id).code == 3  # the item is made; create_user waits
    made = _json(cli("show", run_id, "--json").out)["state"]["item"]

    cancelled = cli("cancel", run_id, "--reason", "wrong tenant")
    assert cancelled.code == 0, cancelled
    assert f"{run_id}: cancelled (cancelled by " in cancelled.out
    assert f"it made vault item {made['item_id']} in vault {made['vault_id']}" in cancelled.out

    assert [(v["run_id"], v["status"]) for v in _json(cli("runs", "--json").out)] == [
        (run_id, "cancelled")
    ]
    assert _json(cli("approvals", "--json").out) == []
    shown = _json(cli("show", run_id, "--json").out)
    assert shown["status"] == "cancelled" and shown["waiting"] is None
    assert shown["reason"].endswith(": wrong tenant")
    assert shown["state"]["item"] == made  # listed still, for a person to take down
    with RunBoard(_db(home).url) as board:
        assert board.status(run_id) == "cancelled"
    late = cli("approve", run_id)
    assert late.code == 1
    assert "not waiting for a decision (it is cancelled)" in late.err
    assert cli("resume", run_id).code == 1

    decision = [d for k, s, d in _events(home, run_id) if (k, s) == ("decision", "cancel")]
    assert len(decision) == 1
    assert decision[0]["reason"] == "wrong tenant" and decision[0]["was"] == "waiting"
    assert decision[0]["identity"]["os_uid"] == os.getuid()
    assert decision[0]["made"] == [f"vault item {made['item_id']} in vault {made['vault_id']}"]
    assert cli("audit", "verify").code == 0


def test_cancel_refuses_a_run_that_is_over_and_needs_a_reason(cli: Run, home: Path) -> None:
    run_id = _json(cli("setup", "--json").out)["run_id"]
    assert cli("cancel", run_id, "--reason", "  ").code == 2
    assert cli("cancel", run_id, "--reason", "two\nlines").code == 2
    assert cli("cancel", "run-nope", "--reason", "x").code == 2
    assert cli("reject", run_id, "--reason", "not today").code == 1

    over = cli("cancel", run_id, "--reason", "late")
    assert over.code == 2
    assert over.err == f"vaultborn: run {run_id} is rejected: there is nothing to cancel\n"
    refusals = [d for k, s, d in _events(home, run_id) if (k, s) == ("refused", "cancel")]
    assert [r["why"] for r in refusals] == ["the run is rejected"]
    assert _json(cli("show", run_id, "--json").out)["status"] == "rejected"


def test_cancel_drops_the_answers_queued_for_the_run(cli: Run, home: Path) -> None:
    run_id = _json(cli("setup", "--json").out)["run_id"]
    assert cli("approve", run_id, "--queue").code == 0
    with RunBoard(_db(home).url) as board:
        assert [q.run_id for q in board.queued()] == [run_id]

    assert cli("cancel", run_id, "--reason", "changed my mind").code == 0
    with RunBoard(_db(home).url) as board:
        assert board.queued() == []
    worked = cli("worker", "--exit-when-idle", "--json")
    assert worked.code == 0, worked
    assert _json(worked.out)["moved"] == 0
    assert _json(cli("show", run_id, "--json").out)["status"] == "cancelled"


def test_a_cancelled_run_tampered_back_to_running_is_caught_by_the_audit_chain(
    cli: Run, home: Path
) -> None:
    """The audit row of the cancel cannot be edited or dropped without ``audit verify`` saying."""
    run_id = _json(cli("setup", "--json").out)["run_id"]
    assert cli("cancel", run_id, "--reason", "not needed").code == 0
    with sqlite3.connect(home / "state.db") as conn:
        conn.execute(
            "UPDATE audit_events SET detail = replace(detail, 'not needed', 'approved') "
            "WHERE subject = 'cancel'"
        )
    verdict = cli("audit", "verify", "--json")
    assert verdict.code == 1
    assert "was changed after it was written" in _json(verdict.out)["problem"]


def test_cancel_never_cuts_into_a_run_another_process_moves(cli: Run, home: Path) -> None:
    """The cancel holds the run's lease: a run a live process is moving on is left alone."""
    run_id = _json(cli("setup", "--json").out)["run_id"]
    with sqlite3.connect(home / "state.db") as conn:
        conn.execute(
            "INSERT INTO run_leases VALUES (?, ?, ?, ?, ?)",
            (run_id, socket.gethostname(), os.getppid(), time.time(), time.time() + 600),
        )
    busy = cli("cancel", run_id, "--reason", "now")

    assert busy.code == 1, busy
    assert f"run {run_id} is being moved on by pid {os.getppid()}" in busy.err
    assert _json(cli("show", run_id, "--json").out)["status"] == "waiting"
    assert not [k for k, s, _ in _events(home, run_id) if s == "cancel"]
