"""The audit log: every decision, vault operation and external effect, hash-chained.

Rows live in ``audit_events`` in the run database (the checkpoints' SQLite file by default).
Each row's hash covers the previous row's hash and the row's own content, so ``verify()``
finds an edited, deleted or reordered row. Appends take the write lock first (``BEGIN
IMMEDIATE``) so two processes never fork the chain. Details are references, ids and statuses;
a ``Secret`` or an otpauth URI is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)

from approvals.action import canonical_json
from vault.secret import Secret
from vaultborn.sqltx import busy_timeout, write_transaction

__all__ = ["GENESIS", "AuditEvent", "AuditLog", "AuditVerdict"]

GENESIS = "0" * 64
_metadata = MetaData()
_events = Table(
    "audit_events",
    _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("run_id", String, nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String, nullable=False),
    Column("subject", String, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String, nullable=False),
    Column("hash", String, nullable=False),
)


@dataclass(frozen=True)
class AuditEvent:
    """One audited fact."""

    seq: int
    run_id: str
    at: float
    kind: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class AuditVerdict:
    """What ``verify`` found: ``ok``, the rows checked, and the first problem."""

    ok: bool
    rows: int
    problem: str = ""


def _row_hash(prev: str, seq: int, run_id: str, at: float, kind: str, subject: str,
              detail: str) -> str:  # fmt: skip
    body = canonical_json([prev, seq, run_id, repr(at), kind, subject, detail])
    return hashlib.sha256(body.encode()).hexdigest()


def _checked(detail: Mapping[str, Any]) -> str:
    for key, value in detail.items():
        if isinstance(value, Secret):
            raise TypeError(f"audit detail {key}: a secret value cannot be audited")
        if isinstance(value, str) and value.lower().startswith("otpauth://"):
            raise TypeError(f"audit detail {key}: an otpauth URI holds a seed")
        if not isinstance(value, str | int | float | bool | type(None) | list):
            raise TypeError(f"audit detail {key}: {type(value).__name__} is not plain data")
    return canonical_json(dict(detail))


class AuditLog:
    """The hash-chained audit log on a SQLAlchemy database URL.

    Args:
        url: ``sqlite:///PATH`` (the run database).
        clock: UNIX time now.
    """

    def __init__(self, url: str, *, clock: Any = time.time) -> None:
        self.clock = clock
        self.engine = create_engine(
            url,
            isolation_level="AUTOCOMMIT",  # transactions are begun explicitly
            connect_args={"timeout": busy_timeout(), "check_same_thread": False},
        )
        event.listen(self.engine, "connect", _wal)
        with self._transaction() as conn:
            _metadata.create_all(conn)

    def close(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    def _transaction(self) -> AbstractContextManager[Connection]:
        return write_transaction(self.engine, "the audit log")

    def append(self, run_id: str, kind: str, subject: str, detail: Mapping[str, Any]) -> AuditEvent:
        """Add one event at the end of the chain.

        Raises:
            TypeError: ``detail`` holds a secret or something that is not plain data.
        """
        text = _checked(detail)
        with self._transaction() as conn:
            last = conn.execute(
                select(_events.c.seq, _events.c.hash).order_by(_events.c.seq.desc()).limit(1)
            ).first()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            at = float(self.clock())
            digest = _row_hash(prev, seq, run_id, at, kind, subject, text)
            conn.execute(
                _events.insert().values(
                    seq=seq, run_id=run_id, at=at, kind=kind, subject=subject, detail=text,
                    prev_hash=prev, hash=digest,
                )
            )  # fmt: skip
        return AuditEvent(seq, run_id, at, kind, subject, dict(detail), prev, digest)

    def events(self, run_id: str | None = None) -> list[AuditEvent]:
        """The events (of one run), in order."""
        query = select(_events).order_by(_events.c.seq)
        if run_id is not None:
            query = query.where(_events.c.run_id == run_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEvent(
                r.seq, r.run_id, r.at, r.kind, r.subject, json.loads(r.detail), r.prev_hash, r.hash
            )
            for r in rows
        ]

    def verify(self) -> AuditVerdict:
        """Walk the chain: every row must follow the previous one and hash to its ``hash``."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(_events).order_by(_events.c.seq)).all()
        prev, expected = GENESIS, 1
        for count, r in enumerate(rows, start=1):
            if r.seq != expected:
                return AuditVerdict(False, count, f"row {expected} is missing (next is {r.seq})")
            if r.prev_hash != prev:
                return AuditVerdict(False, count, f"row {r.seq} does not follow row {r.seq - 1}")
            if _row_hash(prev, r.seq, r.run_id, r.at, r.kind, r.subject, r.detail) != r.hash:
                return AuditVerdict(False, count, f"row {r.seq} was changed after it was written")
            prev, expected = r.hash, expected + 1
        return AuditVerdict(True, len(rows))


def _wal(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()
