"""Explicit SQLite transactions and driver errors, shared by every SQLAlchemy store.

The vault, the dev IdP, the audit log and the run leases all run with autocommit engines and
begin their own transactions, so a check-then-write can take the write lock first
(``BEGIN IMMEDIATE``). SQLAlchemy's own error text carries the SQL and its parameters (hashes,
seeds), so only the driver's reason is ever shown. Imports nothing of vaultborn's, like
``vaultborn.errors``, so every layer can use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

__all__ = ["driver_reason", "explicit_transaction", "translated_db_errors"]


def driver_reason(error: DBAPIError) -> str:
    """The database driver's own message, on one line (never SQLAlchemy's with the SQL)."""
    return " ".join(str(error.orig).split()) or type(error.orig).__name__


@contextmanager
def explicit_transaction(conn: Connection, *, write: bool) -> Iterator[Connection]:
    """A transaction on ``conn``, committed if the block succeeds, rolled back otherwise.

    Args:
        conn: A connection of an autocommit engine.
        write: Take the write lock at once (``BEGIN IMMEDIATE``), so a check-then-write block
            is atomic against other processes.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
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
    try:
        yield
    except DBAPIError as exc:
        reason = driver_reason(exc)
        if isinstance(exc, OperationalError) and ("locked" in reason or "busy" in reason):
            raise busy(reason) from None
        raise broken(reason) from None
    except SQLAlchemyError as exc:
        raise broken(type(exc).__name__) from None
