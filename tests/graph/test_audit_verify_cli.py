"""``vaultborn audit verify`` against a run database tampered with directly, SQLite and PostgreSQL.

Issue 18, item 2: deleting the last row, truncating to five rows, deleting every row, editing
a row and recomputing the chain, deleting a middle row and renumbering, appending a forged row
— each answered ``audit: ok``. Each is done here with the database's own SQL, by someone who
has the database and not the vault, and each must answer TAMPERED in one line, exit 1.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.rundb import audit_log_of, state_db_of
from vaultborn.approvals.audit_chain import GENESIS, row_digest
from vaultborn.graphs.checkpoint import DATABASE_ENV

pytestmark = pytest.mark.robustness("approval integrity: gate and audit chain")

ROWS = 8


@contextmanager
def _sql(home: Path) -> Iterator[Callable[..., list[Any]]]:
    """``run(statement, *params)`` on the run database (``?`` placeholders), committed."""
    url = os.environ.get(DATABASE_ENV)
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            yield lambda q, *p: _fetch(conn.execute(q.replace("?", "%s"), p))
            conn.commit()
        return
    with sqlite3.connect(home / "state.db") as conn:
        yield lambda q, *p: _fetch(conn.execute(q, p))


def _fetch(cursor: Any) -> list[Any]:
    return cursor.fetchall() if cursor.description else []


def _rechain(run: Callable[..., list[Any]], start: int) -> None:
    """Renumber from 1 and recompute every digest from row ``start`` on, without the key."""
    rows = run("SELECT seq, run_id, at, kind, subject, detail, hash FROM audit_events ORDER BY seq")
    run("DELETE FROM audit_events")
    prev = GENESIS
    for seq, (_, run_id, at, kind, subject, detail, digest) in enumerate(rows, start=1):
        if seq >= start:
            digest = row_digest(None, prev, seq, run_id, at, kind, subject, detail)
        run("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            seq, run_id, at, kind, subject, detail, prev, digest)  # fmt: skip
        prev = digest


def _append_forged(run: Callable[..., list[Any]]) -> None:
    ((seq, last),) = run("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    detail = '{"decision":"approved"}'
    digest = row_digest(None, last, seq + 1, "run-x", 1.0, "decision", "create_user", detail)
    run("INSERT INTO audit_events VALUES (?, 'run-x', 1.0, 'decision', 'create_user', ?, ?, ?)",
        seq + 1, detail, last, digest)  # fmt: skip


TAMPERS: dict[str, tuple[Callable[[Callable[..., list[Any]]], None], str]] = {
    "the last row deleted": (
        lambda run: run("DELETE FROM audit_events WHERE seq = ?", ROWS),
        f"row {ROWS}, held by the witness file",
    ),
    "truncated to five rows": (
        lambda run: run("DELETE FROM audit_events WHERE seq > 5"),
        "is missing: the log was cut at row 5",
    ),
    "every row deleted": (
        lambda run: run("DELETE FROM audit_events"),
        "is missing: the log was cut at row 0",
    ),
    "a row edited and the chain recomputed": (
        lambda run: (run("UPDATE audit_events SET subject = 'x' WHERE seq = 3"), _rechain(run, 3)),
        "row 3 is not keyed, but row 1 before it is: it was forged",
    ),
    "a row edited and the whole chain recomputed": (
        lambda run: (run("UPDATE audit_events SET subject = 'x' WHERE seq = 3"), _rechain(run, 1)),
        "is not the one the witness file",
    ),
    "a middle row deleted and the rest renumbered": (
        lambda run: (run("DELETE FROM audit_events WHERE seq = 4"), _rechain(run, 4)),
        "row 4 is not keyed, but row 1 before it is: it was forged",
    ),
    "a forged row appended": (
        _append_forged,
        f"row {ROWS + 1} is not keyed, but row 1 before it is: it was forged",
    ),
}


@pytest.fixture
def logged(cli: Run, home: Path, run_database: str) -> Path:
    """A home whose run database has keys and ``ROWS`` keyed audit rows, anchored."""
    started = cli("setup", "--json")
    assert started.code == 3, started
    audit = audit_log_of(home)
    try:
        while len(audit.events()) < ROWS:
            audit.append("run-x", "effect", "filler", {"n": len(audit.events())})
    finally:
        audit.close()  # as a process ends: the head goes to the vault item too
    return home


def test_an_intact_log_says_what_it_checked(cli: Run, logged: Path) -> None:
    verified = cli("audit", "verify")
    assert verified.code == 0, verified
    lines = verified.out.splitlines()
    assert lines[0] == f"audit: ok ({ROWS} rows)"
    assert lines[1] == "  keyed: every keyed row's HMAC checked with the run database's audit key"
    assert lines[2].startswith("  anchored: the witness file ") and lines[2].endswith(
        f"(row {ROWS})"
    )
    assert lines[3].startswith("  anchored: the vault item op://")
    shown = json.loads(cli("audit", "verify", "--json").out)
    assert shown["ok"] and shown["keyed"] and len(shown["anchors"]) == 2


@pytest.mark.parametrize("tamper", TAMPERS, ids=list(TAMPERS))
def test_each_tamper_is_caught(cli: Run, logged: Path, tamper: str) -> None:
    action, says = TAMPERS[tamper]
    with _sql(logged) as run:
        action(run)

    verified = cli("audit", "verify")

    assert verified.code == 1, (tamper, verified)
    first = verified.out.splitlines()[0]
    assert first.startswith("audit: TAMPERED (") and says in first, (tamper, first)
    assert "Traceback" not in verified.out + verified.err
    assert json.loads(cli("audit", "verify", "--json").out)["ok"] is False


def test_a_cut_with_the_witness_file_deleted_is_caught_by_the_vault_item(
    cli: Run, logged: Path
) -> None:
    witness = state_db_of(logged).witness
    assert witness is not None and witness.exists()
    witness.unlink()
    with _sql(logged) as run:
        run("DELETE FROM audit_events WHERE seq > 5")

    verified = cli("audit", "verify")

    assert verified.code == 1
    assert f"row {ROWS}, held by the vault item op://" in verified.out
    assert "is missing: the log was cut at row 5" in verified.out
