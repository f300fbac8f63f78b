"""The audit log: every decision, vault operation and external effect, hash-chained.

Rows live in ``audit_events`` in the run database (the checkpoints' SQLite file by default;
the caller passes its URL or an engine). Each row's ``hash`` is the digest of the row without
it — ``prev_hash`` (the previous row's ``hash``), ``seq``, ``run_id``, ``at``, ``kind``,
``subject`` and ``detail`` — keyed with the run database's audit key (an HMAC born in the
vault; ``approvals.audit_chain``), so ``verify()`` finds an edited, deleted or reordered row,
and a chain rewritten from an edit onwards needs the key. The head is also kept outside the
database (``approvals.audit_anchor``: a witness file on every append, the vault item at the
end of a move), so a log whose newest rows were cut off fails ``verify()`` too.

A log without a key (one written before its database had keys, or opened by a caller that has
none) is written and checked with bare SHA-256 as before; once a keyed row is in it, an
unkeyed append is refused. ``has_decision`` is how an effect finds its approval in the log.

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

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.exc import IntegrityError

from vaultborn.approvals.action import canonical_json, is_scalar
from vaultborn.approvals.audit_anchor import Anchor
from vaultborn.approvals.audit_chain import (
    GENESIS,
    KEYED,
    ChainRow,
    Head,
    chain_id,
    check_anchor,
    is_keyed,
    row_checks,
    row_digest,
    walk,
)
from vaultborn.core.database import UrlLike, make_engine
from vaultborn.core.errors import ConfigurationError, VaultbornError
from vaultborn.core.sqltx import explicit_transaction, translated_db_errors
from vaultborn.vault.secret import Secret

__all__ = ["GENESIS", "AuditEvent", "AuditLog", "AuditVerdict"]

_log = logging.getLogger(__name__)

_RETRIES = 5
_REMEMBERED = 1024
"""Approvals a log keeps in memory for ``has_decision`` (the newest; older ones are read)."""
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
# What ``has_decision`` looks up once per effect (made on open for tables made without it).
_by_subject = Index("audit_events_by_subject", _events.c.run_id, _events.c.kind, _events.c.subject)
# Built once: an append is on every step's path, and a statement built per call costs
# SQLAlchemy a new cache key each time (a third of an append's CPU).
_LAST_ROW = select(_events.c.seq, _events.c.hash).order_by(_events.c.seq.desc()).limit(1)
_INSERT_ROW = _events.insert()


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
        ok: Every row follows the previous one and its digest checks, and every anchor's row
            is in the log unchanged.
        rows: The rows checked (all of them when ``ok``).
        problem: The first problem found, one line; empty when ``ok``.
        head: The last good row's hash (``GENESIS`` for an empty log).
        keyed: Whether the check had the audit key (without it only an unkeyed log checks).
        keyed_from: The first keyed row (0: none); rows before it were written unkeyed.
        anchors: The anchors checked, each as "what it is (row N)".
    """

    ok: bool
    rows: int
    problem: str = ""
    head: str = GENESIS
    keyed: bool = False
    keyed_from: int = 0
    anchors: tuple[str, ...] = ()


def _row_hash(prev: str, seq: int, run_id: str, at: float, kind: str, subject: str,
              detail: str) -> str:  # fmt: skip
    """The unkeyed digest of a row (SHA-256), as rows written without a key have."""
    return row_digest(None, prev, seq, run_id, at, kind, subject, detail)


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

    >>> log = AuditLog("sqlite:///state.db", key=audit_key, anchors=[witness])  # doctest: +SKIP
    >>> log.append("run-1", "effect", "seed", {"to": "aws-secretsmanager://us-east-1/x"})
    >>> log.verify().ok

    Args:
        engine_or_url: A URL (``sqlite:///PATH`` or ``postgresql://…``, the run database) or an
            ``Engine`` the caller owns (it is not disposed by ``close``).
        clock: UNIX time now.
        key: The run database's audit key (32 bytes); None writes and checks unkeyed rows.
        anchors: Where the head is kept outside the database (a key is needed for them).

    Raises:
        ConfigurationError: The database cannot be opened or its table created.
        UsageError: ``$VAULTBORN_DB_BUSY_TIMEOUT`` is not a positive number.
    """

    def __init__(
        self,
        engine_or_url: Engine | UrlLike,
        *,
        clock: Callable[[], float] = time.time,
        key: bytes | None = None,
        anchors: Sequence[Anchor] = (),
    ) -> None:
        if anchors and key is None:
            raise ValueError("the audit chain's anchors need its key")
        self.clock, self.key, self.anchors = clock, key, tuple(anchors)
        self.chain = "" if key is None else chain_id(key)
        self._pinned = 0  # the first keyed row once its unkeyed prefix has checked
        # (run, subject, digest) of approvals written here, newest last; each call is atomic,
        # so threads appending at once need no lock.
        self._approved: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        if isinstance(engine_or_url, Engine):
            self._owned, base = False, engine_or_url
        else:
            self._owned, base = True, make_engine(engine_or_url, wal=True, durable=True)
        self._base = base
        # Autocommit at the driver, so that the transaction (and its write lock) is ours to begin.
        self.engine = base.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with self._transaction("opened") as conn:
                _metadata.create_all(conn)
                _by_subject.create(conn, checkfirst=True)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Write the head to the anchors that defer it, then close pooled connections.

        An anchor that cannot be written is logged, not raised: the rows are in the log, and
        ``verify`` checks the head the anchor holds (an older one). Logged quietly: it fails
        when the vault does (rate-limited, out of disk), and the command's own one-line error
        already says so; the next process that closes its log writes the head again.
        """
        try:
            self.anchor(final=True)
        except VaultbornError as error:
            _log.info("the audit head stays where it was in its anchor: %s", error)
        for each in self.anchors:
            each.close()
        if self._owned:
            self._base.dispose()

    def anchor(self, *, final: bool = False) -> None:
        """Write the head to every anchor that defers it (the vault item).

        Args:
            final: This process writes no more rows (else a vault anchor may wait a while).

        Raises:
            ConfigurationError: An anchor refused the write.
        """
        for each in self.anchors:
            each.flush(final=final)

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        with (
            _translated(action),
            self.engine.connect() as conn,
            explicit_transaction(conn, write=True),  # the write lock, before the read
        ):
            yield conn

    def _last(self, conn: Connection) -> tuple[int, str]:
        last = conn.execute(_LAST_ROW).first()
        return (last[0], last[1]) if last else (0, GENESIS)

    def append(self, run_id: str, kind: str, subject: str, detail: Mapping[str, Any]) -> AuditEvent:
        """Add one event at the end of the chain (then note the new head to the anchors).

        Args:
            run_id: The run.
            kind: What sort of event (``decision``, ``effect`` …).
            subject: What it is about.
            detail: Text, numbers, true/false, null, lists of them, or (one level) objects
                of them, by name.

        Raises:
            TypeError: A ``Secret``, an otpauth URI, or something that is not plain data.
            ConfigurationError: The database cannot be written, or another process held its
                write lock past the busy timeout ("try again"); the log is keyed and this
                writer has no key; a witness file cannot be written.
        """
        text = _checked(run_id, kind, subject, detail)
        for attempt in range(_RETRIES):
            try:
                with self._transaction("written") as conn:
                    seq, prev = self._last(conn)
                    if self.key is None and is_keyed(prev):
                        raise ConfigurationError(
                            "the audit log is keyed: it is written only with its key (the run "
                            "database's keys in the vault)"
                        )
                    seq, at = seq + 1, float(self.clock())
                    digest = row_digest(self.key, prev, seq, run_id, at, kind, subject, text)
                    try:
                        conn.execute(_INSERT_ROW, {
                            "seq": seq, "run_id": run_id, "at": at, "kind": kind,
                            "subject": subject, "detail": text, "prev_hash": prev, "hash": digest,
                        })  # fmt: skip
                    except IntegrityError:
                        raise _SeqTaken from None
            except _SeqTaken:  # another writer took ``seq`` first: read the end again
                if attempt == _RETRIES - 1:
                    raise ConfigurationError("the audit log cannot be written: busy") from None
                continue
            # After the commit: a head noted before it could name a row that never was.
            if _is_approval(kind, detail):
                self._remember((run_id, subject, detail["digest"]))
            for each in self.anchors:
                each.note(Head(self.chain, seq, digest))
            return AuditEvent(seq, run_id, at, kind, subject, json.loads(text), prev, digest)
        raise AssertionError("unreachable")  # pragma: no cover

    def _remember(self, approval: tuple[str, str, str]) -> None:
        """Keep ``approval`` for ``has_decision``; a long-lived process keeps the newest only."""
        self._approved[approval] = None
        if len(self._approved) > _REMEMBERED:
            self._approved.popitem(last=False)

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

    def _rows(self, up_to: int | None = None) -> list[ChainRow]:
        query = select(_events).order_by(_events.c.seq)
        if up_to is not None:
            query = query.where(_events.c.seq <= up_to)
        with _translated("read"), self.engine.connect() as conn:
            found = conn.execute(query).all()
        return [_chain_row(r) for r in found]

    def verify(self) -> AuditVerdict:
        """Walk the chain, then check that every anchor's row is in it, unchanged.

        Every row must follow the previous one and its digest must check (keyed rows with the
        key; unkeyed rows only before the first keyed one). An anchor that cannot be read is
        a problem too: the head it would hold cannot be vouched for.

        Raises:
            ConfigurationError: The database cannot be read.
        """
        rows = self._rows()
        walked = walk(rows, self.key)
        keyed = self.key is not None
        verdict = AuditVerdict(
            walked.ok, walked.rows, walked.problem, walked.head, keyed, walked.keyed_from
        )
        if not walked.ok or not self.anchors:
            return verdict
        digests = {r.seq: r.hash for r in rows}
        checked: list[str] = []
        for each in self.anchors:
            try:
                head = each.held()
            except ConfigurationError as error:
                return _failed(verdict, str(error), checked)
            problem = check_anchor(each.name, head, self.chain, digests)
            if problem:
                return _failed(verdict, problem, checked)
            checked.append(f"{each.name} (row {head.seq})" if head else f"{each.name} (empty)")
        return AuditVerdict(**{**asdict(verdict), "anchors": tuple(checked)})

    def has_decision(self, run_id: str, subject: str, digest: str) -> bool:
        """Whether the log holds the approval of ``digest`` for ``subject`` of ``run_id``.

        A keyed row must check with the key: a row written into the database by someone
        without it is not an approval. An unkeyed row counts where a keyed log allows one:
        before its first keyed row, once that unkeyed beginning has checked (a run approved
        before its database had keys); or in a log opened without a key.

        An approval this log appended itself is known without a read: this process committed
        the row, keyed, a moment before the effect asks (a row deleted since is what
        ``verify`` finds). A forged state cannot reach that memory.

        Raises:
            ConfigurationError: The database cannot be read.
        """
        if (run_id, subject, digest) in self._approved:
            return True
        query = (
            select(_events)
            .where(
                _events.c.run_id == run_id,
                _events.c.kind == "decision",
                _events.c.subject == subject,
            )
            .order_by(_events.c.seq.desc())
        )
        with _translated("read"), self.engine.connect() as conn:
            found = [_chain_row(r) for r in conn.execute(query).all()]
        for row in found:
            detail = json.loads(row.detail)
            if detail.get("decision") != "approved" or detail.get("digest") != digest:
                continue
            if is_keyed(row.hash):
                if row_checks(self.key, row):
                    return True
            elif self.key is None or self._before_keys(row.seq):
                return True
        return False

    def _anchored(self) -> bool:
        """Whether an anchor holds a row of this chain (so it has had keyed rows)."""
        return any((held := _held(a)) is not None and held.chain == self.chain
                   for a in self.anchors)  # fmt: skip

    def _before_keys(self, seq: int) -> bool:
        """Whether row ``seq`` is in the unkeyed beginning of the log, and that beginning checks."""
        if not self._pinned:
            with _translated("read"), self.engine.connect() as conn:
                first = conn.execute(
                    select(_events.c.seq)
                    .where(_events.c.hash.startswith(KEYED))
                    .order_by(_events.c.seq)
                    .limit(1)
                ).scalar()
            if first is None and self._anchored():
                return False  # keyed once, no keyed row now: rewritten without the key
            walked = walk(self._rows(up_to=first), self.key)
            if not walked.ok:
                return False
            if first is None:  # no keyed row yet: the log may still grow unkeyed
                return seq <= walked.rows
            self._pinned = int(first)
        return seq < self._pinned


def _is_approval(kind: str, detail: Mapping[str, Any]) -> bool:
    """Whether a row is an approval ``has_decision`` looks for."""
    return (
        kind == "decision"
        and detail.get("decision") == "approved"
        and isinstance(detail.get("digest"), str)
    )


def _held(anchor: Anchor) -> Head | None:
    try:
        return anchor.held()
    except ConfigurationError:
        return None


def _failed(verdict: AuditVerdict, problem: str, checked: list[str]) -> AuditVerdict:
    return AuditVerdict(**{**asdict(verdict), "ok": False, "problem": problem,
                           "anchors": tuple(checked)})  # fmt: skip


def _chain_row(r: Any) -> ChainRow:
    return ChainRow(r.seq, r.run_id, r.at, r.kind, r.subject, r.detail, r.prev_hash, r.hash)
