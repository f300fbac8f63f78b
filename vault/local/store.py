"""The vault file: SQLite through SQLAlchemy Core, opened only by the right key.

The tables and row operations are in ``vault.local.tables``. SQLite keeps its default rollback
journal, so every byte it writes lands in ``vault.db`` or ``vault.db-journal``, both 0600 in a
0700 directory. Transactions are explicit (``BEGIN IMMEDIATE`` for writes), which makes
check-then-insert atomic across processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event

from vault.errors import VaultError, VaultLocked, VaultUnavailable
from vault.local.crypto import KEY_CHECK, KEY_CHECK_AAD, Sealer
from vault.local.tables import SCHEMA_VERSION, create_tables, read_meta, write_meta
from vaultborn.sqltx import busy_timeout, explicit_transaction, translated_db_errors

__all__ = ["Database"]


class Database:
    """The SQLite file behind a local vault.

    ``open`` verifies the key check before anything else is read or written (and writes it,
    with the schema, into a new file); a wrong key raises ``VaultLocked``.

    Args:
        path: ``<home>/vault.db``; the file must exist (an empty file is a new database).
        sealer: Seals and opens the key check.
        key_origin: Where the key came from, for the ``VaultLocked`` message.
    """

    def __init__(self, path: Path, sealer: Sealer, key_origin: str) -> None:
        self.path = path
        self._sealer = sealer
        self._key_origin = key_origin
        self._engine: Engine | None = None

    def open(self) -> None:
        """Connect, then verify the key check (or initialize a new, empty file)."""
        engine = create_engine(
            URL.create("sqlite", database=str(self.path)),
            isolation_level="AUTOCOMMIT",  # transactions are begun explicitly, see transaction()
            connect_args={"timeout": busy_timeout()},
        )
        event.listen(engine, "connect", _on_connect)
        self._engine = engine
        try:
            with self.transaction() as conn:
                stored = read_meta(conn)
            if stored is None:
                with self.transaction(write=True) as conn:
                    # Re-read under the write lock: another process may have initialized it.
                    create_tables(conn)
                    stored = read_meta(conn)
                    if not stored:
                        write_meta(conn, self._sealer.seal(KEY_CHECK, KEY_CHECK_AAD))
                        return
            self._verify(stored)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close every pooled connection; ``open`` may be called again later."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """A transaction on a pooled connection, committed if the block succeeds.

        Args:
            write: Take the write lock at once (``BEGIN IMMEDIATE``), so a read-then-write
                block never deadlocks against another writer.

        Raises:
            VaultUnavailable: Another process held the lock past the busy timeout.
            VaultError: The file is damaged or not a database (one line, no SQL).
        """
        if self._engine is None:
            raise VaultError(f"the local vault {self.path} is closed")
        with (
            _translated(self.path),
            self._engine.connect() as conn,
            explicit_transaction(conn, write=write),
        ):
            yield conn

    def _verify(self, stored: dict[str, bytes]) -> None:
        sealed = stored.get("key_check")
        if sealed is None:
            raise VaultError(
                f"{self.path} has no key check: it is damaged or not a vaultborn vault"
            )
        if self._sealer.open(sealed, KEY_CHECK_AAD) != KEY_CHECK:
            raise VaultLocked(
                f"the vault key does not open {self.path}; the key came from "
                f"{self._key_origin}: use the key this vault was created with"
            )
        schema = stored.get("schema")
        if schema != SCHEMA_VERSION:
            shown = schema.decode("ascii", "replace") if schema is not None else "none"
            raise VaultError(
                f"{self.path} has vault schema {shown!r}; this vaultborn reads schema "
                f"{SCHEMA_VERSION.decode()}"
            )


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _translated(path: Path) -> AbstractContextManager[None]:
    return translated_db_errors(
        busy=lambda reason: VaultUnavailable(f"the local vault {path} is busy ({reason}); retry"),
        broken=lambda reason: VaultError(f"the local vault {path} cannot be used: {reason}"),
    )
