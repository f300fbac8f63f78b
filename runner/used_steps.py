"""The TOTP time steps whose codes were sent, kept in the run database for every process.

A verifier refuses a code whose step was used already (RFC 6238 §5.2). Within one process the
flows share a ``StepLedger`` in memory; but a setup's drill may send the next step's code early,
and a ``rotate`` or ``resume`` started seconds later in another process would then send the
current step's code (used) and, refused, the next step's (used too), and fail. So the steps
also go to a small table of the run database: step numbers per item name, no secret. On
PostgreSQL every machine sharing the database knows them.

The table is a help, never a dependency: a database that cannot be read or written meanwhile
leaves the ledger in memory, and the flow still retries a refused code in a later step.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import Column, Integer, MetaData, String, Table, and_, delete, select

from vaultborn.browser.totp_steps import UsedSteps
from vaultborn.core.database import UrlLike, make_engine
from vaultborn.core.errors import ConfigurationError
from vaultborn.core.sqltx import read_connection, write_transaction

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["KEPT_STEPS", "SharedStepLedger", "create_used_steps_table"]

KEPT_STEPS = 16
"""Steps kept per item below its newest (only the last few can fall in a verifier's window)."""

_metadata = MetaData()
_used = Table(
    "totp_used_steps",
    _metadata,
    Column("item", String, primary_key=True),
    Column("step", Integer, primary_key=True, autoincrement=False),
)


def create_used_steps_table(url: UrlLike) -> None:
    """Make the table in the run database at ``url`` (idempotent; ``db migrate``).

    Raises:
        ConfigurationError: The database cannot be reached or refused the change.
    """
    engine = make_engine(url)
    try:
        _create_table(engine)
    finally:
        engine.dispose()


def _create_table(engine: Engine) -> None:
    with write_transaction(engine, "the run database") as conn:
        _metadata.create_all(conn)


class SharedStepLedger:
    """``UsedSteps`` in the process's memory and in the run database.

    Args:
        memory: The process's ledger, which this one reads and marks too (so a later move of
            the same process knows its steps without the database).
        url: The run database.

    The engine is made on first use: most moves send no code. Call ``close`` when done.
    """

    def __init__(self, memory: UsedSteps, url: UrlLike) -> None:
        self.memory, self.url = memory, url
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()

    def used(self, key: str) -> frozenset[int]:
        """The steps sent for ``key``, by this process or any process sharing the database."""
        known = self.memory.used(key)
        try:
            with read_connection(self._connected(), "the run database") as conn:
                rows = conn.execute(select(_used.c.step).where(_used.c.item == key)).all()
        except ConfigurationError:
            return known
        return known | {int(row[0]) for row in rows}

    def mark(self, key: str, step: int) -> None:
        """Remember that a code for ``step`` was sent for ``key``, here and in the database."""
        self.memory.mark(key, step)
        try:
            with write_transaction(self._connected(), "the run database") as conn:
                there = select(_used.c.step).where(_used.c.item == key, _used.c.step == step)
                if conn.execute(there).first() is None:
                    conn.execute(_used.insert().values(item=key, step=step))
                old = and_(_used.c.item == key, _used.c.step < step - KEPT_STEPS)
                conn.execute(delete(_used).where(old))
        except ConfigurationError:
            return  # kept in memory; see the module's docstring

    def close(self) -> None:
        """Close the database's pooled connections (if any were made)."""
        with self._engine_lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def _connected(self) -> Engine:
        """The engine, made (with the table) on first use; a failed start is tried again."""
        with self._engine_lock:
            if self._engine is None:
                engine = make_engine(self.url)
                try:
                    _create_table(engine)
                except BaseException:
                    engine.dispose()
                    raise
                self._engine = engine
            return self._engine
