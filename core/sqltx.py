"""Explicit transactions and driver errors, shared by every SQLAlchemy store; the busy timeout.

The vault, the dev IdP, the audit log and the run leases all run with autocommit engines and
begin their own transactions, so a check-then-write can take the write lock first
(``BEGIN IMMEDIATE``; on PostgreSQL an advisory lock). SQLAlchemy's own error text carries the
SQL and its parameters (hashes, seeds), so only the driver's reason is ever shown. Imports
nothing of vaultborn's but ``vaultborn.core.errors``, so every layer can use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from vaultborn.core.errors import ConfigurationError, UsageError

if TYPE_CHECKING:  # SQLAlchemy loads only where a store uses it (``busy_timeout`` needs none)
    from sqlalchemy import Connection, Engine
    from sqlalchemy.exc import DBAPIError

__all__ = [
    "BUSY_TIMEOUT_ENV",
    "busy_timeout",
    "driver_reason",
    "explicit_transaction",
    "read_connection",
    "translated_db_errors",
    "write_transaction",
]

BUSY_TIMEOUT_ENV = "VAULTBORN_DB_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 30.0
WRITER_LOCK = 0x7661756C74
"""The PostgreSQL advisory lock key every vaultborn write transaction takes ("vault")."""


def busy_timeout() -> float:
    """Seconds to wait for another process's write lock (``$VAULTBORN_DB_BUSY_TIMEOUT``, 30).

    Raises:
        UsageError: The variable is not a positive number.
    """
    text = os.environ.get(BUSY_TIMEOUT_ENV) or str(DEFAULT_BUSY_TIMEOUT)
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise UsageError(f"{BUSY_TIMEOUT_ENV} must be a positive number of seconds, got {text!r}")
    return seconds


def driver_reason(error: DBAPIError) -> str:
    """The database driver's own message, on one line (never SQLAlchemy's with the SQL)."""
    return " ".join(str(error.orig).split()) or type(error.orig).__name__


@contextmanager
def explicit_transaction(conn: Connection, *, write: bool) -> Iterator[Connection]:
    """A transaction on ``conn``, committed if the block succeeds, rolled back otherwise.

    Args:
        conn: A connection of an autocommit engine.
        write: Take the write lock at once, so a check-then-write block is atomic against other
            processes: SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL one transaction-scoped
            advisory lock shared by every vaultborn writer, waited for up to the busy timeout.
    """
    from sqlalchemy.exc import SQLAlchemyError

    postgres = conn.dialect.name == "postgresql"
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write and not postgres else "BEGIN")
    if write and postgres:
        try:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(busy_timeout() * 1000)}")
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
        except BaseException:
            with suppress(SQLAlchemyError):
                conn.exec_driver_sql("ROLLBACK")
            raise
    try:
        yield conn
    except BaseException:
        with suppress(SQLAlchemyError):
            conn.exec_driver_sql("ROLLBACK")
        raise
    conn.exec_driver_sql("COMMIT")


@contextmanager
def translated_db_errors(
    busy: Callable[[str], Exception], broken: Callable[[str], Exception]
) -> Iterator[None]:
    """Raise ``busy(reason)`` for a lock held too long, ``broken(reason)`` for anything else."""
    from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

    try:
        yield
    except DBAPIError as exc:
        reason = driver_reason(exc)
        if isinstance(exc, OperationalError) and _busy(reason):
            raise busy(reason) from None
        raise broken(reason) from None
    except SQLAlchemyError as exc:
        raise broken(type(exc).__name__) from None


def _busy(reason: str) -> bool:
    # SQLite: "database is locked"; PostgreSQL: "canceling statement due to lock timeout".
    return "locked" in reason or "busy" in reason or "lock timeout" in reason


@contextmanager
def read_connection(engine: Engine, what: str) -> Iterator[Connection]:
    """A connection on ``engine`` to read from, whose failures are one line about ``what``.

    Raises:
        ConfigurationError: A lock held past the busy timeout ("try again"), or a database
            that cannot be read (missing, damaged, not a database).
    """
    with (
        translated_db_errors(
            busy=lambda reason: ConfigurationError(f"{what} is busy ({reason}); try again"),
            broken=lambda reason: ConfigurationError(f"{what} cannot be read: {reason}"),
        ),
        engine.connect() as conn,
    ):
        yield conn


@contextmanager
def write_transaction(engine: Engine, what: str) -> Iterator[Connection]:
    """A write transaction on ``engine`` whose failures are one line about ``what``.

    Raises:
        ConfigurationError: Another process held the lock past the busy timeout ("try
            again"), or the database refused the write (disk full, read-only, damaged).
    """
    with (
        translated_db_errors(
            busy=lambda reason: ConfigurationError(
                f"{what} is locked by another process ({reason}); try again"
            ),
            broken=lambda reason: ConfigurationError(f"{what} cannot be written: {reason}"),
        ),
        engine.connect() as conn,
        explicit_transaction(conn, write=True),
    ):
        yield conn
