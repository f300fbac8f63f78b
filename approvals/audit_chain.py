"""The audit chain's arithmetic: each row's digest, keyed or not, and the walk that checks them.

A row's digest covers the canonical JSON of ``prev_hash`` (the previous row's digest), ``seq``,
``run_id``, ``at``, ``kind``, ``subject`` and ``detail``. With the run database's audit key it
is an HMAC-SHA256, written ``hmac-sha256:<hex>``: whoever edits, deletes or renumbers rows and
recomputes the chain after them needs the key, which only the vault holds. Without one (a log
written before its database had a key) it is a bare SHA-256, which anyone can recompute.

Unkeyed rows are accepted only before the first keyed row: that row's MAC covers its
``prev_hash``, so from the moment a log is keyed its unkeyed beginning is pinned too, and an
unkeyed row after a keyed one is a forgery. What a keyed chain alone cannot show is its end
being cut off: that is what the anchors are for (``Head``, ``check_anchor``).

Pure functions over rows; the database and the anchors' storage are the callers'.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vaultborn.approvals.action import canonical_json

__all__ = [
    "GENESIS",
    "KEYED",
    "ChainRow",
    "Head",
    "Walk",
    "chain_id",
    "check_anchor",
    "is_keyed",
    "row_checks",
    "row_digest",
    "walk",
]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first row."""

KEYED = "hmac-sha256:"
"""How a keyed row's digest starts."""


@dataclass(frozen=True)
class ChainRow:
    """The columns of one row that its digest covers, and its digest."""

    seq: int
    run_id: str
    at: float
    kind: str
    subject: str
    detail: str
    """The canonical JSON text, as stored."""
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Head:
    """A row kept outside the database: ``seq`` and its digest, of the chain ``chain``."""

    chain: str
    seq: int
    hash: str


@dataclass(frozen=True)
class Walk:
    """What walking the rows found.

    Attributes:
        ok: Every row follows the previous one and its digest checks.
        rows: The rows checked (all of them when ``ok``).
        problem: The first problem, one line; empty when ``ok``.
        head: The last good row's digest (``GENESIS`` when there is none).
        keyed_from: The ``seq`` of the first keyed row (0: none is keyed).
    """

    ok: bool
    rows: int
    problem: str = ""
    head: str = GENESIS
    keyed_from: int = 0


def is_keyed(digest: str) -> bool:
    """Whether ``digest`` is a keyed row's."""
    return digest.startswith(KEYED)


def row_digest(key: bytes | None, prev: str, seq: int, run_id: str, at: float, kind: str,
               subject: str, detail: str) -> str:  # fmt: skip
    """The digest of one row: HMAC-SHA256 under ``key``, or SHA-256 without one."""
    body = canonical_json([prev, seq, run_id, repr(at), kind, subject, detail]).encode()
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return KEYED + hmac.new(key, body, hashlib.sha256).hexdigest()


def chain_id(key: bytes) -> str:
    """A name of the chain ``key`` writes, for its anchors (it does not reveal the key)."""
    return hmac.new(key, b"vaultborn audit chain", hashlib.sha256).hexdigest()[:16]


def _expected(key: bytes | None, r: ChainRow) -> str:
    return row_digest(
        key if is_keyed(r.hash) else None,
        r.prev_hash, r.seq, r.run_id, r.at, r.kind, r.subject, r.detail,
    )  # fmt: skip


def row_checks(key: bytes | None, r: ChainRow) -> bool:
    """Whether ``r``'s own digest checks (keyed rows need ``key``; its links are not looked at)."""
    if is_keyed(r.hash) and key is None:
        return False
    return hmac.compare_digest(_expected(key, r), r.hash)


def walk(rows: Iterable[ChainRow], key: bytes | None) -> Walk:
    """Walk the rows in ``seq`` order: each must follow the previous one and check.

    Args:
        rows: Every row of the log, in order.
        key: The audit key (None: only an unkeyed log can check).
    """
    prev, keyed_from, count = GENESIS, 0, 0
    for r in rows:
        count += 1
        problem = _problem(r, count, prev, keyed_from, key)
        if problem:
            return Walk(False, count, problem, prev, keyed_from)
        if is_keyed(r.hash) and not keyed_from:
            keyed_from = r.seq
        prev = r.hash
    return Walk(True, count, "", prev, keyed_from)


def _problem(r: ChainRow, seq: int, prev: str, keyed_from: int, key: bytes | None) -> str:
    """What is wrong with ``r`` as the ``seq``-th row after ``prev`` ("" when nothing is)."""
    if r.seq != seq:
        return f"row {seq} is missing (next is {r.seq})"
    if r.prev_hash != prev:
        return f"row {r.seq} does not follow row {r.seq - 1}"
    if is_keyed(r.hash) and key is None:
        return f"row {r.seq} is keyed, and the audit key is not at hand"
    if not is_keyed(r.hash) and keyed_from:
        return f"row {r.seq} is not keyed, but row {keyed_from} before it is: it was forged"
    if not hmac.compare_digest(_expected(key, r), r.hash):
        return f"row {r.seq} was changed after it was written"
    return ""


def check_anchor(name: str, head: Head | None, chain: str, digests: Mapping[int, str]) -> str:
    """The problem the anchor ``name`` shows, or "" when the chain still holds its row.

    Args:
        name: What the anchor is, for the message ("the witness file …").
        head: The row it holds (None: it holds none yet, which shows nothing).
        chain: The id of the chain the log is keyed for (``chain_id``).
        digests: The log's digests by ``seq``.
    """
    if head is None:
        return ""
    if head.chain != chain:
        return (
            f"{name} holds row {head.seq} of another chain: the log was replaced (or a new "
            "database was made where this one was; then move the anchor aside)"
        )
    found = digests.get(head.seq)
    if found is None:
        last = max(digests, default=0)
        return f"row {head.seq}, held by {name}, is missing: the log was cut at row {last}"
    if not hmac.compare_digest(found, head.hash):
        return f"row {head.seq} is not the one {name} holds: the log was rewritten"
    return ""
