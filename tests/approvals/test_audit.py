"""The hash-chained audit log on a SQLite file: tampering is found, concurrency keeps one chain."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from vaultborn.approvals.audit import GENESIS, AuditLog
from vaultborn.core.errors import ConfigurationError
from vaultborn.core.sqltx import BUSY_TIMEOUT_ENV
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("approval integrity: gate and audit chain")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def log(db: Path) -> Iterator[AuditLog]:
    audit = AuditLog(f"sqlite:///{db}")
    for n in range(5):
        audit.append("run-1", "effect", f"step{n}", {"n": n, "ref": "op://ACL/x/password"})
    yield audit
    audit.close()


def _sql(path: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(path) as conn:
        if params:
            conn.execute(statement, params)
        else:
            conn.executescript(statement)


def test_chain_verifies(log: AuditLog) -> None:
    verdict = log.verify()
    events = log.events()
    assert verdict.ok and verdict.rows == 5 and verdict.problem == ""
    assert verdict.head == events[-1].hash
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert events[2].detail == {"n": 2, "ref": "op://ACL/x/password"}


def test_events_of_one_run(log: AuditLog) -> None:
    log.append("run-2", "decision", "seed", {"decision": "approved", "vaults": ["ACL"]})
    (event,) = log.events("run-2")
    assert (event.seq, event.kind, event.detail["vaults"]) == (6, "decision", ["ACL"])
    assert event.as_dict()["subject"] == "seed"
    assert len(log.events()) == 6


def test_an_empty_log_verifies(db: Path) -> None:
    audit = AuditLog(f"sqlite:///{db}")
    assert audit.verify() == type(audit.verify())(True, 0, "", GENESIS)
    audit.close()


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("UPDATE audit_events SET detail = '{\"n\":9}' WHERE seq = 3", "row 3 was changed"),
        ("UPDATE audit_events SET at = at + 1 WHERE seq = 1", "row 1 was changed"),
        ("UPDATE audit_events SET subject = 'other' WHERE seq = 5", "row 5 was changed"),
        ("UPDATE audit_events SET run_id = 'run-9' WHERE seq = 2", "row 2 was changed"),
        ("DELETE FROM audit_events WHERE seq = 2", "row 2 is missing (next is 3)"),
        ("DELETE FROM audit_events WHERE seq = 1", "row 1 is missing"),
        (  # rows 2 and 4 swap places
            "UPDATE audit_events SET seq = 100 WHERE seq = 2; "
            "UPDATE audit_events SET seq = 2 WHERE seq = 4; "
            "UPDATE audit_events SET seq = 4 WHERE seq = 100",
            "row 2 does not follow row 1",
        ),
        (  # a row deleted and the later ones renumbered to close the gap
            "DELETE FROM audit_events WHERE seq = 3; "
            "UPDATE audit_events SET seq = seq - 1 WHERE seq > 3",
            "row 3 does not follow row 2",
        ),
    ],
)
def test_tampering_is_found(log: AuditLog, db: Path, statement: str, says: str) -> None:
    _sql(db, statement)
    verdict = log.verify()
    assert not verdict.ok
    assert verdict.problem == says or verdict.problem.startswith(says)
    assert "\n" not in verdict.problem


def test_a_rehashed_edit_breaks_the_next_link(log: AuditLog, db: Path) -> None:
    """An editor who recomputes the edited row's own hash still breaks the chain after it."""
    from vaultborn.approvals.audit import _row_hash

    row = log.events()[2]
    forged = _row_hash(row.prev_hash, 3, "run-1", row.at, "effect", "step2", '{"n":9}')
    _sql(db, "UPDATE audit_events SET detail = ?, hash = ? WHERE seq = 3", '{"n":9}', forged)
    verdict = log.verify()
    assert not verdict.ok and verdict.problem == "row 4 does not follow row 3"


def test_dropping_the_newest_row_shows_only_in_rows_and_head(log: AuditLog, db: Path) -> None:
    before = log.verify()
    _sql(db, "DELETE FROM audit_events WHERE seq = 5")
    after = log.verify()
    assert after.ok and after.rows == 4 and after.head != before.head


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("run-1", "effect", "x", {"password": Secret("hunter2-hunter2")}), "secret value"),
        (("run-1", "effect", "x", {"list": ["a", Secret("hunter2-hunter2")]}), "secret value"),
        (("run-1", "effect", Secret("hunter2-hunter2"), {}), "secret value"),
        (("run-1", "effect", "x", {"uri": "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP"}), "otpauth"),
        (("run-1", "effect", "x", {"uri": " OTPAUTH://TOTP/a?secret=JBSWY3DP"}), "otpauth"),
        (("run-1", "effect", "x", {"uri": "see otpauth%3A%2F%2Ftotp%2Fa"}), "otpauth"),
        (("run-1", "effect", "x", {"uris": ["otpauth://totp/a"]}), "otpauth"),
        (("run-1", "effect", "otpauth://totp/a?secret=JBSWY3DP", {}), "otpauth"),
        (("run-1", "effect", "x", {"nested": {"a": {"b": 1}}}), "plain values"),
        (("run-1", "effect", "x", {"nested": {"a": [1]}}), "plain values"),
        (("run-1", "effect", "x", {"nested": {1: "a"}}), "text keys"),
        (
            ("run-1", "effect", "x", {"identity": {"os_user": Secret("hunter2-hunter2")}}),
            "plain values",
        ),
        (("run-1", "effect", "x", {"identity": {"os_user": "otpauth://totp/a"}}), "otpauth"),
        (("run-1", "effect", "x", {"n": float("nan")}), "not plain data"),
        (("run-1", "effect", "x", {1: "a"}), "keys must be text"),
        (("run-1", "effect", "x", ["a"]), "must be a mapping"),
    ],
)
def test_audit_refuses_values(log: AuditLog, args: tuple[Any, ...], says: str) -> None:
    with pytest.raises(TypeError, match=says) as caught:
        log.append(*args)
    assert "hunter2" not in str(caught.value) and "JBSWY3DP" not in str(caught.value)
    assert len(log.events()) == 5  # nothing was written


def test_an_identity_is_one_level_of_named_facts(log: AuditLog) -> None:
    event = log.append("run-1", "decision", "x", {"identity": {"os_uid": 1000, "os_user": "ana"}})
    assert event.detail["identity"] == {"os_uid": 1000, "os_user": "ana"}
    assert log.events()[-1].detail == event.detail
    assert log.verify().ok


def test_concurrent_threads_keep_one_chain(log: AuditLog, db: Path) -> None:
    other = AuditLog(f"sqlite:///{db}")

    def write(target: AuditLog, name: str) -> None:
        for n in range(20):
            target.append("run-2", "effect", f"{name}{n}", {"n": n})

    threads = [threading.Thread(target=write, args=(t, n)) for t, n in ((log, "a"), (other, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    verdict = log.verify()
    assert verdict.ok and verdict.rows == 45


_WRITER = """
import sys
from vaultborn.approvals.audit import AuditLog
log = AuditLog(sys.argv[1])
for n in range(15):
    log.append("run-3", "effect", sys.argv[2] + str(n), {"n": n})
log.close()
"""


def test_concurrent_processes_keep_one_chain(log: AuditLog, db: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, f"sqlite:///{db}", name],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p", "q", "r")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    verdict = log.verify()
    assert verdict.ok and verdict.rows == 5 + 45


def test_an_append_that_lost_a_race_is_retried(log: AuditLog, monkeypatch: Any) -> None:
    """A writer that read a stale end collides on ``seq`` and reads the end again."""
    real, calls = AuditLog._last, []

    def stale(self: AuditLog, conn: Any) -> tuple[int, str]:
        calls.append(1)
        seq, prev = real(self, conn)
        return (seq - 1, "stale") if len(calls) == 1 else (seq, prev)

    monkeypatch.setattr(AuditLog, "_last", stale)
    event = log.append("run-1", "effect", "late", {})
    assert len(calls) == 2 and event.seq == 6
    assert log.verify().ok


def test_a_callers_engine_is_used_and_left_open(db: Path) -> None:
    engine = create_engine(f"sqlite:///{db}")
    audit = AuditLog(engine, clock=lambda: 42.0)
    assert audit.append("run-1", "effect", "x", {}).at == 42.0
    audit.close()
    with engine.connect() as conn:  # still usable: the caller owns it
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_events").scalar() == 1
    engine.dispose()


def test_a_damaged_database_is_a_one_line_error(db: Path) -> None:
    db.write_bytes(b"this is not a database\n" * 100)
    with pytest.raises(ConfigurationError) as caught:
        AuditLog(f"sqlite:///{db}")
    assert str(caught.value).startswith("the audit log cannot be opened: ")
    assert "\n" not in str(caught.value)


def test_a_write_lock_held_elsewhere_says_try_again(
    log: AuditLog, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the write lock past the busy wait: one line, and nothing written."""
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "0.2")
    impatient = AuditLog(f"sqlite:///{db}")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ConfigurationError) as caught:
            impatient.append("run-1", "effect", "late", {"n": 6})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        impatient.close()
    message = str(caught.value)
    assert message.startswith("the audit log is locked by another process (")
    assert message.endswith("; try again") and "\n" not in message
    assert log.verify().rows == 5
