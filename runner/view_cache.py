"""Run views kept beside the checkpoints: ``runs`` and ``approvals`` without loading LangGraph.

Working out where a run is takes LangGraph (the graph decides from a checkpoint what runs
next), and importing it costs about a second, while looking at runs is what people do most. So
each time a view is worked out it is kept in the SQLite run database (table ``run_views``)
under the run's *head*: a digest of the run's newest checkpoint row and of every write recorded
since it (an interrupt, an answer or an error lands there without a new checkpoint), and of
vaultborn's version (another version's graph may decide differently). A kept view is used only
while its head is still the run's head; anything else — a checkpoint or a write since, an edit
through LangGraph, a row written by another version — is a miss, worked out by LangGraph again
and kept. The head is read *before* the view is worked out, so a run that moves on meanwhile
leaves a view under an older head, which no later reader takes.

With a checkpoint key a kept view is sealed as the checkpoints are (AES-256-GCM), bound to its
run and head: a sealed database holds no readable view, a row edited or moved to another run
does not open (a miss), and a reader without the key never uses one (LangGraph then says the
checkpoints are sealed). Without a key it is plain JSON, as readable as the unsealed
checkpoints it summarises.

A PostgreSQL run database is looked at through LangGraph every time (no cache there).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

from vaultborn import __version__
from vaultborn.core.database import relaxed_sync
from vaultborn.core.errors import ConfigurationError
from vaultborn.core.sqltx import busy_timeout
from vaultborn.runner.run_view import RunView
from vaultborn.runner.state_db import StateDb

__all__ = ["head_of", "keep", "queued_runs", "started_runs"]

_PLAIN, _SEALED = "json", "json+aesgcm"
_NONCE = 12
_KEEP_TIMEOUT = 0.5
"""Seconds a reader waits to keep what it worked out: a busy database just means a miss later."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS run_views "
    "(run_id TEXT PRIMARY KEY, head TEXT NOT NULL, kind TEXT NOT NULL, view BLOB NOT NULL)"
)
_NEWEST_FIRST = (
    "SELECT thread_id FROM checkpoints GROUP BY thread_id ORDER BY MAX(checkpoint_id) DESC"
)
_LATEST_CHECKPOINT = (
    "SELECT checkpoint_id, type, checkpoint, metadata FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1"
)
_WRITES_SINCE = (
    "SELECT checkpoint_ns, checkpoint_id, task_id, idx, channel, type, value FROM writes "
    "WHERE thread_id = ? AND checkpoint_id >= ? ORDER BY checkpoint_ns, checkpoint_id, task_id, idx"
)


def started_runs(db: StateDb) -> list[RunView]:
    """Every run of ``db`` that has a checkpoint, newest first: what ``list_runs`` says.

    Kept views are used where they are current; the rest are worked out by LangGraph (and kept).

    Raises:
        UsageError, ConfigurationError: As ``list_runs`` (a damaged, locked or sealed database).
    """
    path = _sqlite_file(db)
    if path is None:
        return _worked_out(db, None)
    if _absent(path):
        return []
    try:
        with closing(_connect(path, busy_timeout())) as conn:
            heads = [(run_id, _head(conn, run_id)) for (run_id,) in conn.execute(_NEWEST_FIRST)]
            kept = _kept(conn)
    except sqlite3.Error:
        return _worked_out(db, None)  # LangGraph names what is wrong with the file, in one line
    views: dict[str, RunView] = {}
    for run_id, head in heads:
        view = _opened(kept.get(run_id), run_id, head, db.key)
        if view is not None:
            views[run_id] = view
    missing = [(run_id, head) for run_id, head in heads if run_id not in views]
    if missing:
        for view in _worked_out(db, [run_id for run_id, _ in missing]):
            views[view.run_id] = view
        _keep_all(path, [(run_id, head, views[run_id]) for run_id, head in missing], db.key)
    return [views[run_id] for run_id, _ in heads]


def queued_runs(db: StateDb, started: Iterable[str]) -> list[RunView]:
    """Runs queued for a worker that have not started yet, oldest first (status ``queued``)."""
    seen = set(started)
    path = _sqlite_file(db)
    if path is not None and _absent(path):
        return []
    ids = None if path is None else _queued_ids(path)
    if ids is None:
        from vaultborn.runner.board import RunBoard

        with RunBoard(db.url) as board:
            ids = [q.run_id for q in board.queued()]
    return [RunView(run_id, "queued") for run_id in ids if run_id not in seen]


def _queued_ids(path: Path) -> list[str] | None:
    """The queued run ids read with sqlite3 (None: unreadable; the board says why in one line)."""
    try:
        with closing(_connect(path, busy_timeout())) as conn:
            return [r for (r,) in _rows(conn, "SELECT run_id FROM run_queue ORDER BY queued")]
    except sqlite3.Error:
        return None


def head_of(db: StateDb, run_id: str) -> str | None:
    """The head of ``run_id`` now (None: no cache for this database, or it cannot be read)."""
    path = _sqlite_file(db)
    if path is None or not path.exists():
        return None
    try:
        with closing(_connect(path, busy_timeout())) as conn:
            return _head(conn, run_id)
    except sqlite3.Error:
        return None


def keep(db: StateDb, run_id: str, head: str | None, view: RunView) -> None:
    """Keep ``view`` of ``run_id`` as worked out at ``head`` (best effort: a miss later)."""
    path = _sqlite_file(db)
    if path is not None and head is not None:
        _keep_all(path, [(run_id, head, view)], db.key)


def _sqlite_file(db: StateDb) -> Path | None:
    return db.url.path if db.url.kind == "sqlite" else None


def _absent(path: Path) -> bool:
    """Whether no database is at ``path`` yet (a look creates none).

    Raises:
        ConfigurationError: ``path`` could never be one (a file stands where a folder must).
    """
    if path.exists():
        return False
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise ConfigurationError(
                    f"cannot open the state database {path}: {folder} is not a folder"
                )
            break
    return True


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout)
    relaxed_sync(conn)
    return conn


def _head(conn: sqlite3.Connection, run_id: str) -> str:
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            raw = part if isinstance(part, bytes) else repr(part).encode()
            digest.update(len(raw).to_bytes(8, "big") + raw)

    add(__version__, run_id)
    latest = conn.execute(_LATEST_CHECKPOINT, (run_id,)).fetchone()
    add(*(latest or ("",)))
    for row in conn.execute(_WRITES_SINCE, (run_id, latest[0] if latest else "")):
        add(*row)
    return digest.hexdigest()


def _kept(conn: sqlite3.Connection) -> dict[str, tuple[str, str, bytes]]:
    rows = _rows(conn, "SELECT run_id, head, kind, view FROM run_views")
    return {run_id: (head, kind, bytes(view)) for run_id, head, kind, view in rows}


def _rows(conn: sqlite3.Connection, query: str) -> list[Any]:
    """The rows of ``query``; none while its table was never made (no move kept, none queued)."""
    try:
        return conn.execute(query).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise


def _bound_to(run_id: str, head: str) -> bytes:
    return b"vaultborn run view\0" + run_id.encode() + b"\0" + head.encode()


def _opened(
    row: tuple[str, str, bytes] | None, run_id: str, head: str, key: bytes | None
) -> RunView | None:
    """The kept view in ``row`` when it is current and opens as this reader expects."""
    if row is None or row[0] != head:
        return None
    kind, blob = row[1], row[2]
    if (kind == _SEALED) != (key is not None):
        return None
    if key is not None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            blob = AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], _bound_to(run_id, head))
        except (InvalidTag, ValueError):
            return None
    try:
        data = json.loads(blob)
        return RunView(
            run_id=run_id,
            status=str(data["status"]),
            next=tuple(str(n) for n in data["next"]),
            waiting=data["waiting"],
            reason=str(data["reason"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _packed(view: RunView, run_id: str, head: str, key: bytes | None) -> tuple[str, bytes]:
    text = json.dumps(view.as_dict(), sort_keys=True, separators=(",", ":")).encode()
    if key is None:
        return _PLAIN, text
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE)
    return _SEALED, nonce + AESGCM(key).encrypt(nonce, text, _bound_to(run_id, head))


def _keep_all(path: Path, entries: list[tuple[str, str, RunView]], key: bytes | None) -> None:
    rows: list[tuple[str, str, str, bytes]] = []
    for run_id, head, view in entries:
        kind, blob = _packed(view, run_id, head, key)
        rows.append((run_id, head, kind, blob))
    try:
        with closing(_connect(path, _KEEP_TIMEOUT)) as conn, conn:
            conn.execute(_SCHEMA)
            conn.executemany("INSERT OR REPLACE INTO run_views VALUES (?, ?, ?, ?)", rows)
    except (sqlite3.Error, OSError):
        pass  # a read-only or busy database: the view is worked out again next time


def _worked_out(db: StateDb, run_ids: list[str] | None) -> list[RunView]:
    """Views worked out by LangGraph: of ``run_ids``, or of every run (None)."""
    from vaultborn.runner.runs import list_runs, view_run

    with db.open() as saver:
        if run_ids is None:
            return list_runs(saver)
        return [view_run(saver, run_id) for run_id in run_ids]
