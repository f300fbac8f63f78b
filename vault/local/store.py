"""The vault file: SQLite through the standard ``sqlite3``, opened only by the right key.

The tables and row operations are in ``vault.local.tables``. SQLite keeps its default rollback
journal, so every byte it writes lands in ``vault.db`` or ``vault.db-journal``, both 0600 in a
0700 directory. Transactions are explicit (``BEGIN IMMEDIATE`` for writes), which makes
check-then-insert atomic across processes. Each transaction has its own connection (a
connection costs microseconds; none is shared between the threads that call the vault), and
no ORM is loaded: ``vaultborn read`` starts in the time its work takes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from vaultborn.core.sqltx import busy_timeout
from vaultborn.vault.errors import VaultError, VaultLocked, VaultUnavailable
from vaultborn.vault.local.crypto import KEY_CHECK, KEY_CHECK_AAD, Sealer
from vaultborn.vault.local.tables import SCHEMA_VERSION, create_tables, read_meta, write_meta

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
        self._timeout: float | None = None

    def open(self) -> None:
        """Check the file can be used, then verify the key check (or initialize a new file)."""
        self._timeout = busy_timeout()
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
        """Stop serving transactions; ``open`` may be called again later."""
        self._timeout = None

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction on its own connection, committed if the block succeeds.

        Args:
            write: Take the write lock at once (``BEGIN IMMEDIATE``), so a read-then-write
                block never deadlocks against another writer.

        Raises:
            VaultUnavailable: Another process held the lock past the busy timeout.
            VaultError: The file is damaged or not a database (one line, no SQL).
        """
        if self._timeout is None:
            raise VaultError(f"the local vault {self.path} is closed")
        try:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise _translated(self.path, exc) from None
        try:
            try:
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise _translated(self.path, exc) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise _translated(self.path, exc) from None
            except BaseException:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

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


def _translated(path: Path, exc: sqlite3.Error) -> VaultError:
    """The driver's own reason on one line (it never holds the SQL's parameters)."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in reason or "busy" in reason):
        return VaultUnavailable(f"the local vault {path} is busy ({reason}); retry")
    return VaultError(f"the local vault {path} cannot be used: {reason}")
