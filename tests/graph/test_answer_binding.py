"""An answer names the run, the request and the action; the audit row names who could be proved.

Issue 18 found that an empty ``--digest`` approved whatever waited, that another run's
``create_item`` answer approved this run's ``create_item`` (a digest names the action, not the
request), and that the approver was whoever ``$USER`` said. Each is refused or recorded here
end to end, through the CLI, the run queue and the audit database.
"""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from vaultborn.approvals.audit import AuditLog
from vaultborn.runner.board import RunBoard
from vaultborn.runner.runs import StateDb, view_run

pytestmark = pytest.mark.robustness("approval integrity: answers bound to run, request, person")

ME = {"os_uid": os.getuid(), "os_user": pwd.getpwuid(os.getuid()).pw_name}
"""What the test process can prove of who runs it."""


def _json(text: str) -> Any:
    return json.loads(text)


def _url(home: Path) -> str:
    return f"sqlite:///{home / 'state.db'}"


def _events(home: Path, run_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    audit = AuditLog(_url(home))
    try:
        return [(e.kind, e.subject, e.detail) for e in audit.events(run_id)]
    finally:
        audit.close()


def _at_create_item(cli: Run) -> tuple[str, dict[str, Any]]:
    """A new run past its vault session, waiting at create_item."""
    run_id = _json(cli("setup", "--json").out)["run_id"]
    waiting = _json(cli("approve", run_id, "--json").out)["waiting"]
    assert waiting["action"]["name"] == "create_item"
    return run_id, waiting


def test_an_empty_digest_approves_nothing(cli: Run, home: Path) -> None:
    run_id, _ = _at_create_item(cli)

    for empty in ("", " "):
        refused = cli("approve", run_id, "--digest", empty)
        assert refused.code == 2, refused
        assert refused.err.count("\n") == 1
        assert "an answer must name the digest of the action it answers" in refused.err
    shown = _json(cli("show", run_id, "--json").out)
    assert shown["waiting"]["action"]["name"] == "create_item"
    assert "item" not in shown["state"]
    assert "create_item" not in shown["state"].get("approvals", {})
    refusals = [d for k, s, d in _events(home, run_id) if (k, s) == ("refused", "create_item")]
    assert len(refusals) == 2
    assert all("must name the digest" in r["why"] and r["identity"] == ME for r in refusals)
    assert cli("approve", run_id, "--digest", shown["waiting"]["digest"]).code == 3


def test_every_answer_names_the_run_and_the_request(cli: Run, home: Path) -> None:
    run_id, waiting = _at_create_item(cli)
    queued = cli("approve", run_id, "--queue", "--json")
    answer = _json(queued.out)["answer"]

    assert answer["run_id"] == run_id and answer["request_id"] == waiting["request_id"]
    assert answer["digest"] == waiting["digest"]
    assert waiting["request_id"].startswith("req-")


def test_another_runs_answer_for_the_same_action_is_refused(cli: Run, home: Path) -> None:
    """The same plan's create_item has the same digest in every run: the answer names its run.

    The first run's queued approval is kept, the run rejected, and a second run of the same
    account brought to the same gate; the approval is then moved to the second run in the
    database, as a person with write access to it could. The worker refuses it, and audits why.
    """
    first, asked = _at_create_item(cli)
    assert cli("approve", first, "--queue").code == 0
    with sqlite3.connect(home / "state.db") as conn:
        (payload,) = conn.execute("SELECT payload FROM run_queue WHERE run_id = ?", (first,))
        stolen = _json(payload[0])
    assert cli("reject", first, "--reason", "a second try").code == 1
    second, waiting = _at_create_item(cli)
    assert waiting["digest"] == asked["digest"]  # the same action …
    assert waiting["request_id"] != asked["request_id"]  # … asked in another request
    with StateDb(_url(home)).open() as saver:
        interrupt = view_run(saver, second).interrupt_id
    with RunBoard(_url(home)) as board:
        board.queue_answer(second, interrupt, stolen)

    worked = cli("worker", "--exit-when-idle", "--json")

    assert worked.code == 0, worked
    shown = _json(cli("show", second, "--json").out)
    assert shown["status"] == "waiting" and shown["waiting"]["action"]["name"] == "create_item"
    assert "item" not in shown["state"]
    assert shown["reason"].startswith("refused: the answer is for another run")
    refusals = [d for k, s, d in _events(home, second) if (k, s) == ("refused", "create_item")]
    assert [r["why"] for r in refusals] == [
        f"the answer is for another run, not for the create_item of {second}"
    ]
    assert refusals[0]["request_id"] == waiting["request_id"]
    assert cli("approve", second).code == 3  # its own answer is taken


def test_an_answer_to_an_earlier_request_of_the_same_run_is_refused(cli: Run, home: Path) -> None:
    """A refused answer makes the gate ask again: the old request's answer no longer fits."""
    run_id, asked = _at_create_item(cli)
    assert cli("approve", run_id, "--queue").code == 0
    with sqlite3.connect(home / "state.db") as conn:
        (payload,) = conn.execute("SELECT payload FROM run_queue WHERE run_id = ?", (run_id,))
        earlier = _json(payload[0])
        conn.execute("DELETE FROM run_queue")
    assert cli("approve", run_id, "--digest", "sha256:" + "0" * 64).code == 2  # asked again
    with StateDb(_url(home)).open() as saver:
        again = view_run(saver, run_id)
    assert again.waiting is not None and again.waiting["digest"] == asked["digest"]
    assert again.waiting["request_id"] != asked["request_id"]
    with RunBoard(_url(home)) as board:
        board.queue_answer(run_id, again.interrupt_id, earlier)

    assert cli("worker", "--exit-when-idle").code == 0

    shown = _json(cli("show", run_id, "--json").out)
    assert "item" not in shown["state"]
    assert shown["reason"].startswith("refused: the answer is for an earlier request")


def test_the_approver_is_the_account_the_process_runs_as_not_user(
    cli: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.setenv("USERNAME", "mallory")
    run_id, _ = _at_create_item(cli)
    assert cli("approve", run_id, "--queue").code == 0
    assert cli("worker", "--exit-when-idle").code == 0

    rows = _events(home, run_id)
    decisions = [(s, d) for k, s, d in rows if k == "decision"]
    assert [s for s, _ in decisions] == ["vault_session", "create_item"]
    for _, detail in decisions:
        assert detail["approver"] == ME["os_user"] != "mallory"
        assert detail["identity"] == ME
    (queued,) = [d for k, _, d in rows if k == "queued"]
    assert queued["identity"] == ME and queued["approver"] == ME["os_user"]
    assert "mallory" not in json.dumps(rows)


def test_an_auto_approval_records_the_proved_identity(
    cli: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "mallory")
    policy = home.parent / "policy.toml"
    policy.write_text('[actions]\ncreate_user = "deny"\n')
    ended = cli("setup", "--auto-approve", "--policy", str(policy), "--json")
    assert ended.code == 1, ended  # create_user is denied after the item is made
    run_id = _json(ended.out)["run_id"]

    decisions = [d for k, _, d in _events(home, run_id) if k == "decision"]
    assert [d["approver"] for d in decisions] == [ME["os_user"], ME["os_user"], "policy"]
    assert all(d["identity"] == ME for d in decisions)


def test_an_edited_identity_in_the_audit_log_is_found(cli: Run, home: Path) -> None:
    _at_create_item(cli)
    assert cli("audit", "verify").code == 0
    with sqlite3.connect(home / "state.db") as conn:
        conn.execute(
            "UPDATE audit_events SET detail = replace(detail, ?, ?) WHERE kind = 'decision'",
            (f'"os_uid":{ME["os_uid"]}', '"os_uid":4242'),
        )
        assert conn.total_changes == 1
    verdict = cli("audit", "verify")
    assert verdict.code == 1
    assert "TAMPERED" in verdict.out and "was changed after it was written" in verdict.out
