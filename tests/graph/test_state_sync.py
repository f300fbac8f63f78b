"""How each writer of the SQLite run database waits for the disk.

The run state (checkpoints, the run board, the kept views) commits in WAL mode without a
flush per commit (``synchronous = NORMAL``): a killed process loses nothing, which the crash
tests prove by killing real processes. The audit log keeps a flush per commit (``FULL``): its
head goes to the witness file right after, and must never name a row a power loss could undo.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import text

from vaultborn.approvals.audit import AuditLog
from vaultborn.core.database import relaxed_sync
from vaultborn.graphs.checkpoint import open_async_checkpointer, open_checkpointer
from vaultborn.runner.board import RunBoard
from vaultborn.runner.view_cache import _connect

NORMAL, FULL = 1, 2


def _synchronous(conn: sqlite3.Connection) -> int:
    (level,) = conn.execute("PRAGMA synchronous").fetchone()
    return int(level)


def test_checkpoints_commit_without_a_flush_each(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with open_checkpointer(url) as saver:
        assert _synchronous(saver.conn) == NORMAL  # type: ignore[attr-defined]

    async def level() -> int:
        async with (
            open_async_checkpointer(url) as saver,
            saver.conn.execute("PRAGMA synchronous") as cursor,  # type: ignore[attr-defined]
        ):
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    assert asyncio.run(level()) == NORMAL


def test_the_board_and_the_kept_views_do_too_but_the_audit_log_flushes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with open_checkpointer(url):
        pass  # the file in WAL mode, as a setup leaves it
    board = RunBoard(url)
    audit = AuditLog(url)
    try:
        with board.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == NORMAL
        with audit.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == FULL
    finally:
        board.close()
        audit.close()
    with closing(_connect(tmp_path / "state.db", 5.0)) as conn:
        assert _synchronous(conn) == NORMAL


def test_a_file_in_rollback_journal_mode_keeps_its_full_sync(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / "journal.db")) as conn:
        relaxed_sync(conn)
        assert _synchronous(conn) == FULL
        conn.execute("PRAGMA journal_mode = WAL")
        relaxed_sync(conn)
        assert _synchronous(conn) == NORMAL
