"""The run board: where each run stands, and the work queued for workers.

Workers must find ready runs without reading every checkpoint of every thread, so the run
database keeps two small tables beside LangGraph's:

- ``run_board``: one row per run — its status as of its last move (``running`` while a process
  moves it on, so a run whose process died stays ``running``), and when.
- ``run_queue``: work for a worker — a run to start (its first state) or an answer for the
  interrupt a run waits at (``approve --queue``). An answer names that interrupt, so a stale
  one (the run moved on meanwhile) is dropped rather than given to a later gate.

Both hold plain data: plans are references, answers are decisions and digests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Float, MetaData, String, Table, Text, delete, select

from vaultborn.approvals.action import canonical_json, plain_json
from vaultborn.core.database import UrlLike, make_engine
from vaultborn.core.sqltx import read_connection, write_transaction
from vaultborn.nodes.state import SetupState

__all__ = ["ACTIVE", "Queued", "RunBoard"]

ACTIVE = ("running", "failed")
"""Board statuses of a run that has steps left and waits for nobody."""

_metadata = MetaData()
_board = Table(
    "run_board",
    _metadata,
    Column("run_id", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("updated", Float, nullable=False),
)
_queue = Table(
    "run_queue",
    _metadata,
    Column("run_id", String, primary_key=True),
    Column("kind", String, nullable=False),  # "start" | "answer"
    Column("payload", Text, nullable=False),
    Column("interrupt_id", String, nullable=False),
    Column("queued", Float, nullable=False),
)


@dataclass(frozen=True)
class Queued:
    """Work queued for a run.

    Attributes:
        run_id: The run.
        kind: ``start`` (payload: the first state) or ``answer`` (payload: the answer).
        payload: Plain data.
        interrupt_id: For an answer, the interrupt it answers.
        queued: UNIX time it was queued.
    """

    run_id: str
    kind: str
    payload: dict[str, Any]
    interrupt_id: str
    queued: float


class RunBoard:
    """The board and queue tables of the run database at ``url``.

    Raises:
        ConfigurationError: The database cannot be reached or written.
    """

    def __init__(self, url: UrlLike, *, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.clock = make_engine(url), clock
        with self._write() as conn:
            _metadata.create_all(conn)

    def close(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> RunBoard:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self.engine, "the run database")

    def _read(self) -> AbstractContextManager[Connection]:
        return read_connection(self.engine, "the run database")

    def mark(self, run_id: str, status: str) -> str | None:
        """Record where ``run_id`` stands now; the status it had (None: not on the board)."""
        with self._write() as conn:
            had = conn.execute(select(_board.c.status).where(_board.c.run_id == run_id)).first()
            conn.execute(delete(_board).where(_board.c.run_id == run_id))
            conn.execute(_board.insert().values(run_id=run_id, status=status, updated=self.clock()))
        return None if had is None else str(had[0])

    def status(self, run_id: str) -> str | None:
        """The board status of ``run_id`` (None: not on the board)."""
        with self._read() as conn:
            row = conn.execute(select(_board.c.status).where(_board.c.run_id == run_id)).first()
        return None if row is None else str(row[0])

    def active(self) -> list[str]:
        """Runs with steps left that wait for nobody (oldest move first)."""
        query = select(_board.c.run_id).where(_board.c.status.in_(ACTIVE))
        with self._read() as conn:
            return [r[0] for r in conn.execute(query.order_by(_board.c.updated))]

    def waiting(self) -> list[str]:
        """Runs waiting at a gate or for a person."""
        query = select(_board.c.run_id).where(_board.c.status == "waiting")
        with self._read() as conn:
            return [r[0] for r in conn.execute(query.order_by(_board.c.updated))]

    def queue_start(self, run_id: str, first: SetupState) -> None:
        """Queue a new run: a worker starts it from ``first``."""
        self._put(run_id, "start", first, "")
        self.mark(run_id, "queued")

    def queue_start_once(self, run_id: str, first: SetupState) -> bool:
        """Queue a new run unless ``run_id`` is on the board already; whether it was queued.

        One write transaction: of two processes (or threads) queueing the same id at once, one
        queues it and the other is told it is there (a scheduled run's id is worked out alike by
        every worker).
        """
        text = canonical_json(plain_json(first, "queued start"))
        with self._write() as conn:
            there = select(_board.c.run_id).where(_board.c.run_id == run_id)
            if conn.execute(there).first() is not None:
                return False
            conn.execute(delete(_queue).where(_queue.c.run_id == run_id))
            conn.execute(
                _queue.insert().values(
                    run_id=run_id, kind="start", payload=text, interrupt_id="",
                    queued=self.clock(),
                )
            )  # fmt: skip
            conn.execute(
                _board.insert().values(run_id=run_id, status="queued", updated=self.clock())
            )
        return True

    def queue_answer(self, run_id: str, interrupt_id: str, answer: dict[str, Any]) -> None:
        """Queue ``answer`` for the interrupt ``run_id`` waits at (replacing an earlier one)."""
        self._put(run_id, "answer", answer, interrupt_id)

    def _put(self, run_id: str, kind: str, payload: Mapping[str, Any], interrupt_id: str) -> None:
        text = canonical_json(plain_json(payload, f"queued {kind}"))
        with self._write() as conn:
            conn.execute(delete(_queue).where(_queue.c.run_id == run_id))
            conn.execute(
                _queue.insert().values(
                    run_id=run_id, kind=kind, payload=text, interrupt_id=interrupt_id,
                    queued=self.clock(),
                )
            )  # fmt: skip

    def queued(self, run_id: str | None = None) -> list[Queued]:
        """Queued work (of one run, or all), oldest first."""
        query = select(_queue).order_by(_queue.c.queued)
        if run_id is not None:
            query = query.where(_queue.c.run_id == run_id)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            Queued(r.run_id, r.kind, json.loads(r.payload), r.interrupt_id, r.queued) for r in rows
        ]

    def done_with(self, item: Queued) -> None:
        """Remove ``item`` (only that one: a newer answer queued meanwhile stays)."""
        with self._write() as conn:
            conn.execute(
                delete(_queue).where(_queue.c.run_id == item.run_id, _queue.c.queued == item.queued)
            )
