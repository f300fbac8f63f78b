"""The checkpointer factory: SQLite on ``$VAULTBORN_HOME/state.db`` by default, or PostgreSQL.

``sqlite:///PATH`` opens (and creates, 0600) a SQLite file; ``postgresql://…`` opens a
connection pool set up as PostgresSaver needs it (autocommit, dict rows, no prepared
statements: a plain connection would leave every checkpoint uncommitted). A PostgreSQL database
is shared, so its tables are made once, by ``vaultborn db migrate`` (``migrate_checkpoints``),
and opening one that was not migrated says so.

``LANGGRAPH_STRICT_MSGPACK`` is read when LangGraph's serializer module is first imported, so
``graphs`` sets it (unless the user chose) before anything here imports LangGraph. Only
checkpoint-safe types are in the state (references, ids, versions, statuses), so the strict
allow-list costs nothing. With a checkpoint key, every blob is sealed with AES-256-GCM and a
plaintext blob is refused (``graphs.serde``); PostgresSaver keeps top-level text and numbers of
the state (status, ids) inline in its JSON column, outside the serializer, so only the blobs
are sealed there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from vaultborn.core.database import (
    DATABASE_ENV,
    RELAXED_SYNC,
    DatabaseUrl,
    UrlLike,
    database_url,
    pool_size,
    relaxed_sync,
    sqlite_path,
)
from vaultborn.core.errors import ConfigurationError
from vaultborn.core.sqltx import busy_timeout
from vaultborn.graphs.serde import PlainSerializer, SealedSerializer

__all__ = [
    "DATABASE_ENV",
    "database_url",
    "migrate_checkpoints",
    "open_async_checkpointer",
    "open_checkpointer",
    "prepare_database",
    "sqlite_path",
]


@contextmanager
def open_checkpointer(
    url: UrlLike, *, key: bytes | None = None
) -> Iterator[BaseCheckpointSaver[str]]:
    """A checkpointer on ``url``, closed on exit.

    Args:
        url: ``sqlite:///PATH`` (created 0600 if missing) or ``postgresql://…`` (migrated).
        key: 32 bytes to seal every checkpoint blob with; None stores them unsealed.

    Raises:
        UsageError: The URL is not supported.
        ConfigurationError: The database cannot be opened, or was not migrated.
    """
    url = DatabaseUrl.parse(url)
    if url.kind == "postgresql":
        with _postgres(url, key) as saver:
            yield saver
        return
    path = _prepared(url)
    try:
        # LangGraph writes checkpoints from a background thread: the connection must allow it.
        conn = sqlite3.connect(path, check_same_thread=False, timeout=busy_timeout())
    except sqlite3.Error as error:
        raise ConfigurationError(f"cannot open the state database {path}: {error}") from None
    try:
        saver = SqliteSaver(conn, serde=_serde(key))
        try:
            saver.setup()  # WAL mode, then a checkpoint's commit need not wait for the disk
            relaxed_sync(conn)
        except sqlite3.Error as error:
            raise _unusable(path, error) from None
        yield saver
    finally:
        conn.close()


@asynccontextmanager
async def open_async_checkpointer(
    url: UrlLike, *, key: bytes | None = None
) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """``open_checkpointer`` for async graphs (``ainvoke``): the same database and serializer.

    One is enough for many runs at once: on PostgreSQL it holds a pool of up to
    ``$VAULTBORN_DB_POOL_SIZE`` connections.
    """
    url = DatabaseUrl.parse(url)
    if url.kind == "postgresql":
        async with _async_postgres(url, key) as saver:
            yield saver
        return
    import aiosqlite

    path = _prepared(url)
    try:
        conn = await aiosqlite.connect(path, timeout=busy_timeout())
    except sqlite3.Error as error:
        raise ConfigurationError(f"cannot open the state database {path}: {error}") from None
    try:
        saver = AsyncSqliteSaver(conn, serde=_serde(key))
        try:
            await saver.setup()  # WAL mode (LangGraph's setup): relaxed_sync's rule applies
            await conn.execute(RELAXED_SYNC)
        except sqlite3.Error as error:
            raise _unusable(path, error) from None
        yield saver
    finally:
        await conn.close()


def migrate_checkpoints(url: UrlLike) -> None:
    """Create or upgrade the checkpoint tables at ``url`` (idempotent).

    Raises:
        ConfigurationError: The database cannot be reached or refused the change.
    """
    url = DatabaseUrl.parse(url)
    if url.kind == "sqlite":
        with open_checkpointer(url):
            return
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    try:
        with _connect(url) as conn:
            # One migrator at a time: PostgresSaver's CREATE … IF NOT EXISTS still races.
            conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            PostgresSaver(conn).setup()
    except psycopg.Error as error:
        raise _pg_error(url, error) from None


_MIGRATION_LOCK = 0x76626D67
_CONNECT_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0}


def _connect(url: DatabaseUrl) -> Any:
    import psycopg
    from psycopg.rows import dict_row

    return psycopg.connect(
        url.libpq,
        connect_timeout=max(1, int(busy_timeout())),
        row_factory=dict_row,
        **_CONNECT_KWARGS,
    )


def _check_migrated(url: DatabaseUrl, conn: Any) -> None:
    """Refuse a database whose checkpoint tables are missing or older than this LangGraph's."""
    from langgraph.checkpoint.postgres import PostgresSaver

    row = conn.execute("SELECT to_regclass('checkpoint_migrations') AS t").fetchone()
    version = -1
    if row["t"] is not None:
        found = conn.execute("SELECT max(v) AS v FROM checkpoint_migrations").fetchone()
        version = -1 if found["v"] is None else int(found["v"])
    if version < len(PostgresSaver.MIGRATIONS) - 1:
        raise ConfigurationError(
            f"the state database {url} is not set up for vaultborn "
            f"(checkpoint tables {'missing' if version < 0 else 'out of date'}); "
            f"run: vaultborn db migrate --db URL"
        )


@contextmanager
def _postgres(url: DatabaseUrl, key: bytes | None) -> Iterator[BaseCheckpointSaver[str]]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    try:
        conn = _connect(url)
    except psycopg.Error as error:
        raise _pg_error(url, error) from None
    try:
        try:
            _check_migrated(url, conn)
        except psycopg.Error as error:
            raise _pg_error(url, error) from None
        # A viewer's single connection; runs use the async pool.
        yield PostgresSaver(conn, serde=_serde(key))
    finally:
        conn.close()


@asynccontextmanager
async def _async_postgres(
    url: DatabaseUrl, key: bytes | None
) -> AsyncIterator[BaseCheckpointSaver[str]]:
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    try:
        with _connect(url) as probe:  # a clear error before a pool retries in the background
            _check_migrated(url, probe)
    except psycopg.Error as error:
        raise _pg_error(url, error) from None
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url.libpq,
        min_size=1,
        max_size=pool_size(),
        kwargs={**_CONNECT_KWARGS, "row_factory": dict_row},
        timeout=max(1.0, busy_timeout()),
        open=False,
    )
    await pool.open(wait=True)
    try:
        yield AsyncPostgresSaver(pool, serde=_serde(key))
    finally:
        await pool.close()


def _pg_error(url: DatabaseUrl, error: Exception) -> ConfigurationError:
    reason = " ".join(str(error).split()) or type(error).__name__
    return ConfigurationError(f"cannot use the state database {url}: {reason}")


def _serde(key: bytes | None) -> PlainSerializer | SealedSerializer:
    return PlainSerializer() if key is None else SealedSerializer(key)


def prepare_database(url: UrlLike) -> Path | None:
    """The SQLite file of ``url``, created private (0600 in a 0700 directory) if missing.

    None for PostgreSQL: its database exists already (``vaultborn db migrate`` sets it up).
    """
    url = DatabaseUrl.parse(url)
    return None if url.kind == "postgresql" else _prepared(url)


def _prepared(url: DatabaseUrl) -> Path:
    path = url.path
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(f"cannot create the state database {path}: {error}") from None
    return path


def _unusable(path: Path, error: sqlite3.Error) -> ConfigurationError:
    """A one-line error for a state database that is damaged, not a database, or locked."""
    reason = " ".join(str(error).split()) or type(error).__name__
    if "locked" in reason or "busy" in reason:
        return ConfigurationError(
            f"the state database {path} is locked by another process ({reason}); try again"
        )
    return ConfigurationError(
        f"the state database {path} cannot be used ({reason}); move it aside to start over "
        "(its runs cannot be resumed)"
    )
