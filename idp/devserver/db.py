"""The dev IdP's SQLite file: its tables, and transactions that are safe across processes.

Several server processes may share one file. SQLite runs in WAL mode (readers never wait for a
writer) with a busy timeout, and every read-then-write runs under ``BEGIN IMMEDIATE``, so two
processes cannot both pass a "does it exist?" check and then both insert. The file is created
0600 (its ``-wal``/``-shm`` companions inherit that mode from it): it holds the signing keys
and the TOTP seeds, which an IdP must keep to do its job, but never a client secret or a
password in plaintext, only salted hashes; of a client's key pair, only the public half.
Failed attempts (the lockout) live here too, so a restart does not forget them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)

from vaultborn.core.sqltx import explicit_transaction, translated_db_errors
from vaultborn.idp.errors import IdPError, IdPUnavailable
from vaultborn.vault.local.fs import ensure_private_dir, ensure_private_file

__all__ = [
    "Database",
    "authenticators",
    "client_credentials",
    "client_grants",
    "clients",
    "failures",
    "signing_keys",
    "tenant_declarations",
    "ticket_authenticators",
    "tickets",
    "used_assertions",
    "used_codes",
    "users",
]

BUSY_TIMEOUT = 30.0
"""Seconds a connection waits for another process's write lock."""

metadata = MetaData()

signing_keys = Table(
    "keys",
    metadata,
    Column("kid", String, primary_key=True),
    Column("private_pem", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("retired_at", Float),
)
clients = Table(
    "clients",
    metadata,
    Column("client_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("app_type", String, nullable=False),
    Column("secret_hash", String, nullable=False),
    Column("claims", Text, nullable=False, default="{}"),
    Column("source", String, nullable=False),
    Column("created_at", Float, nullable=False),
)
client_grants = Table(
    "client_grants",
    metadata,
    Column("id", String, primary_key=True),
    Column("client_id", String, ForeignKey("clients.client_id", ondelete="CASCADE")),
    Column("audience", String, nullable=False),
    Column("scopes", Text, nullable=False),
    UniqueConstraint("client_id", "audience"),
)
client_credentials = Table(
    # Public keys a client signs its assertions with (Auth0's client credentials); ``enabled``
    # ones are its private_key_jwt credentials, and then its secret no longer counts.
    "client_credentials",
    metadata,
    Column("id", String, primary_key=True),
    Column("client_id", String, ForeignKey("clients.client_id", ondelete="CASCADE")),
    Column("name", String, nullable=False, default=""),
    Column("kid", String, nullable=False),
    Column("alg", String, nullable=False),
    Column("jwk", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("expires_at", Float),
    UniqueConstraint("client_id", "kid"),
)
tenant_declarations = Table(
    # The grants the tenant declared for each of its clients at the last start: a start with
    # the same declaration leaves what the Management API changed since (a revocation).
    "tenant_declarations",
    metadata,
    Column("client_id", String, primary_key=True),
    Column("declared", Text, nullable=False),
)
used_assertions = Table(
    # Each assertion's jti, kept until the assertion expires, so none is accepted twice.
    "used_assertions",
    metadata,
    Column("client_id", String, primary_key=True),
    Column("jti", String, primary_key=True),
    Column("expires", Float, nullable=False),
)
users = Table(
    "users",
    metadata,
    Column("user_id", String, primary_key=True),
    Column("email", String, nullable=False),
    Column("connection", String, nullable=False),
    Column("password_hash", String, nullable=False),
    Column("email_verified", Boolean, nullable=False, default=False),
    Column("blocked", Boolean, nullable=False, default=False),
    Column("profile", Text, nullable=False, default="{}"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("last_login", Float),
    Column("logins_count", Integer, nullable=False, default=0),
    UniqueConstraint("connection", "email"),
)
tickets = Table(
    "tickets",
    metadata,
    Column("ticket_hash", String, primary_key=True),
    Column("user_id", String, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
    Column("used", Float),
    Column("allow_multiple", Boolean, nullable=False, default=False),
)
authenticators = Table(
    "authenticators",
    metadata,
    Column("id", String, primary_key=True),
    Column("user_id", String, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("type", String, nullable=False),
    Column("secret", Text, nullable=False),
    Column("confirmed", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("name", String, nullable=False, default=""),
)
ticket_authenticators = Table(
    # Which pending authenticator a ticket enrolls, so every visit of the ticket shows one seed.
    "ticket_authenticators",
    metadata,
    Column(
        "ticket_hash",
        String,
        ForeignKey("tickets.ticket_hash", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "authenticator_id",
        String,
        ForeignKey("authenticators.id", ondelete="CASCADE"),
        nullable=False,
    ),
)
used_codes = Table(
    "used_codes",
    metadata,
    Column("authenticator_id", String, primary_key=True),
    Column("timestep", Integer, primary_key=True),
    Column("user_id", String, nullable=False),
    Column("used_at", Float, nullable=False),
)

failures = Table(
    # Failed passwords and codes within the lockout window (idp.devserver.failures).
    "failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String, nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),
)


class Database:
    """A pooled engine on the dev IdP's file; ``transaction()`` is the only way in.

    Args:
        path: The SQLite file; created 0600 (and its directory 0700 if missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.parent.exists():
            ensure_private_dir(path.parent)
        ensure_private_file(path)
        self.engine: Engine = create_engine(
            URL.create("sqlite", database=str(path)),
            isolation_level="AUTOCOMMIT",  # transactions are begun explicitly below
            connect_args={"timeout": BUSY_TIMEOUT, "check_same_thread": False},
            pool_size=8,
            max_overflow=32,
        )
        event.listen(self.engine, "connect", _on_connect)
        with self.transaction(write=True) as conn:
            metadata.create_all(conn)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """A transaction, committed if the block succeeds, rolled back otherwise.

        Args:
            write: Take the write lock at once (``BEGIN IMMEDIATE``), so a check-then-write
                block is atomic against other processes.

        Raises:
            IdPUnavailable: Another process held the lock past the busy timeout.
            IdPError: The file is damaged or not a database (one line, no SQL).
        """
        with (
            _translated(self.path),
            self.engine.connect() as conn,
            explicit_transaction(conn, write=write),
        ):
            yield conn


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _translated(path: Path) -> AbstractContextManager[None]:
    return translated_db_errors(
        busy=lambda reason: IdPUnavailable(f"the dev IdP database {path} is busy ({reason})"),
        broken=lambda reason: IdPError(f"the dev IdP database {path} cannot be used: {reason}"),
    )
