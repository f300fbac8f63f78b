"""The audit log: every decision, vault operation and external effect, hash-chained.

Rows live in ``audit_events`` in the run database (the checkpoints' SQLite file by default;
the caller passes its URL or an engine). Each row's ``hash`` is the SHA-256 of the canonical
JSON of the row without it — ``prev_hash`` (the previous row's ``hash``), ``seq``, ``run_id``,
``at``, ``kind``, ``subject`` and ``detail`` — so ``verify()`` finds an edited, deleted or
reordered row. Deleting the newest rows leaves a valid, shorter chain: compare ``rows`` or
``head`` of the verdict with a count or hash kept elsewhere to find that.

Appends read the last row and insert the next one in one transaction that holds the write lock
from its start (SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory lock), so two processes never
fork the chain; ``seq`` is the primary key besides, and an append that lost a race is retried.
Details are references, ids and statuses: a ``Secret`` or an otpauth URI is refused before
anything is written.

Database errors are one line: a write lock held by another process past the busy timeout
(``$VAULTBORN_DB_BUSY_TIMEOUT``) says so and "try again"; anything else says what the driver
refused, never SQLAlchemy's text with the SQL and its parameters.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.exc import IntegrityError

from vaultborn.approvals.action import canonical_json, is_scalar
from vaultborn.core.database import UrlLike, make_engine
from vaultborn.core.errors import ConfigurationError
from vaultborn.core.sqltx import explicit_transaction, translated_db_errors
from vaultborn.vault.secret import Secret

__all__ = ["GENESIS", "AuditEvent", "AuditLog", "AuditVerdict"]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first row."""

_RETRIES = 5
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
    """One audited fact.

    Attributes:
        seq: Its place in the chain, from 1 without gaps.
        run_id: The run it belongs to.
        at: UNIX time it was written.
        kind: ``decision``, ``refused``, ``vault``, ``effect``, ``human_step`` …
        subject: What it is about (a step, a reference, a page).
        detail: References, ids and statuses.
        prev_hash: The previous row's ``hash``.
        hash: This row's hash.
    """

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
    """What ``verify`` found.

    Attributes:
        ok: Every row follows the previous one and hashes to its ``hash``.
        rows: The rows checked (all of them when ``ok``).
        problem: The first problem found, one line; empty when ``ok``.
        head: The last good row's hash (``GENESIS`` for an empty log).
    """

    ok: bool
    rows: int
    problem: str = ""
    head: str = GENESIS


def _row_hash(prev: str, seq: int, run_id: str, at: float, kind: str, subject: str,
              detail: str) -> str:  # fmt: skip
    body = canonical_json([prev, seq, run_id, repr(at), kind, subject, detail])
    return hashlib.sha256(body.encode()).hexdigest()


def _refuse(value: object, where: str) -> None:
    """Refuse a secret, or a string that looks like it holds a TOTP seed (defence in depth)."""
    if isinstance(value, Secret):
        raise TypeError(f"audit {where}: a secret value cannot be audited")
    if isinstance(value, str):
        folded = value.lower()
        if "otpauth:" in folded or "otpauth%3a" in folded:
            raise TypeError(f"audit {where}: an otpauth URI holds a seed and cannot be audited")


def _checked(run_id: str, kind: str, subject: str, detail: Mapping[str, Any]) -> str:
    for where, value in (("run_id", run_id), ("kind", kind), ("subject", subject)):
        _refuse(value, where)
        if not isinstance(value, str):
            raise TypeError(f"audit {where} must be text")
    if not isinstance(detail, Mapping):
        raise TypeError("audit detail must be a mapping")
    for key, value in detail.items():
        _refuse(key, "detail key")
        if not isinstance(key, str):
            raise TypeError("audit detail keys must be text")
        if isinstance(value, Mapping):  # one level: an ``identity`` of named facts
            for inner, item in value.items():
                _refuse(inner, f"detail {key} key")
                if not isinstance(inner, str) or not is_scalar(item):
                    raise TypeError(f"audit detail {key}: holds only text keys and plain values")
                _refuse(item, f"detail {key}.{inner}")
            continue
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            _refuse(item, f"detail {key}")
            if not is_scalar(item):
                raise TypeError(f"audit detail {key}: {type(item).__name__} is not plain data")
    return canonical_json(
        {
            k: list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, Mapping) else v
            for k, v in detail.items()
        }
    )


def _translated(action: str) -> AbstractContextManager[None]:
    """Driver errors as one line about the audit log (``action``: opened, written, read)."""
    return translated_db_errors(
        busy=lambda reason: ConfigurationError(
            f"the audit log is locked by another process ({reason}); try again"
        ),
        broken=lambda reason: ConfigurationError(f"the audit log cannot be {action}: {reason}"),
    )


class _SeqTaken(Exception):
    """Another writer inserted the ``seq`` this append read as free."""


class AuditLog:
    """The hash-chained audit log in a SQLAlchemy database.

    >>> log = AuditLog("sqlite:///state.db")  # doctest: +SKIP
    >>> log.append("run-1", "effect", "seed", {"to": "aws-secretsmanager://us-east-1/x"})
    >>> log.verify().ok

    Args:
        engine_or_url: A URL (``sqlite:///PATH`` or ``postgresql://…``, the run database) or an
            ``Engine`` the caller owns (it is not disposed by ``close``).
        clock: UNIX time now.

    Raises:
        ConfigurationError: The database cannot be opened or its table created.
        UsageError: ``$VAULTBORN_DB_BUSY_TIMEOUT`` is not a positive number.
    """

    def __init__(
        self, engine_or_url: Engine | UrlLike, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.clock = clock
        if isinstance(engine_or_url, Engine):
            self._owned, base = False, engine_or_url
        else:
            self._owned, base = True, make_engine(engine_or_url, wal=True)
        self._base = base
        # Autocommit at the driver, so that the transaction (and its write lock) is ours to begin.
        self.engine = base.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with self._transaction("opened") as conn:
                _metadata.create_all(conn)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close pooled connections (of an engine made from a URL)."""
        if self._owned:
            self._base.dispose()

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        with (
            _translated(action),
            self.engine.connect() as conn,
            explicit_transaction(conn, write=True),  # the write lock, before the read
        ):
            yield conn

    def _last(self, conn: Connection) -> tuple[int, str]:
        last = conn.execute(
            select(_events.c.seq, _events.c.hash).order_by(_events.c.seq.desc()).limit(1)
        ).first()
        return (last[0], last[1]) if last else (0, GENESIS)

    def append(self, run_id: str, kind: str, subject: str, detail: Mapping[str, Any]) -> AuditEvent:
        """Add one event at the end of the chain.

        Args:
            run_id: The run.
            kind: What sort of event (``decision``, ``effect`` …).
            subject: What it is about.
            detail: Text, numbers, true/false, null, lists of them, or (one level) objects
                of them, by name.

        Raises:
            TypeError: A ``Secret``, an otpauth URI, or something that is not plain data.
            ConfigurationError: The database cannot be written, or another process held its
                write lock past the busy timeout ("try again").
        """
        text = _checked(run_id, kind, subject, detail)
        for attempt in range(_RETRIES):
            try:
                with self._transaction("written") as conn:
                    seq, prev = self._last(conn)
                    seq, at = seq + 1, float(self.clock())
                    digest = _row_hash(prev, seq, run_id, at, kind, subject, text)
                    try:
                        conn.execute(
                            _events.insert().values(
                                seq=seq, run_id=run_id, at=at, kind=kind, subject=subject,
                                detail=text, prev_hash=prev, hash=digest,
                            )
                        )  # fmt: skip
                    except IntegrityError:
                        raise _SeqTaken from None
            except _SeqTaken:  # another writer took ``seq`` first: read the end again
                if attempt == _RETRIES - 1:
                    raise ConfigurationError("the audit log cannot be written: busy") from None
                continue
            return AuditEvent(seq, run_id, at, kind, subject, json.loads(text), prev, digest)
        raise AssertionError("unreachable")  # pragma: no cover

    def events(self, run_id: str | None = None) -> list[AuditEvent]:
        """The events (of one run, or all), in order.

        Raises:
            ConfigurationError: The database cannot be read.
        """
        query = select(_events).order_by(_events.c.seq)
        if run_id is not None:
            query = query.where(_events.c.run_id == run_id)
        with _translated("read"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEvent(
                r.seq, r.run_id, r.at, r.kind, r.subject, json.loads(r.detail), r.prev_hash, r.hash
            )
            for r in rows
        ]

    def verify(self) -> AuditVerdict:
        """Walk the chain: every row must follow the previous one and hash to its ``hash``.

        Raises:
            ConfigurationError: The database cannot be read.
        """
        with _translated("read"), self.engine.connect() as conn:
            rows = conn.execute(select(_events).order_by(_events.c.seq)).all()
        prev, expected = GENESIS, 1
        for count, r in enumerate(rows, start=1):
            if r.seq != expected:
                problem = f"row {expected} is missing (next is {r.seq})"
                return AuditVerdict(False, count, problem, prev)
            if r.prev_hash != prev:
                problem = f"row {r.seq} does not follow row {r.seq - 1}"
                return AuditVerdict(False, count, problem, prev)
            if _row_hash(prev, r.seq, r.run_id, r.at, r.kind, r.subject, r.detail) != r.hash:
                problem = f"row {r.seq} was changed after it was written"
                return AuditVerdict(False, count, problem, prev)
            prev, expected = r.hash, expected + 1
        return AuditVerdict(True, len(rows), "", prev)
