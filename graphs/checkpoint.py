"""The checkpointer factory: SQLite on ``$VAULTBORN_HOME/state.db`` by default, strict msgpack.

``LANGGRAPH_STRICT_MSGPACK`` is read when LangGraph's serializer module is first imported, so
``graphs`` sets it (unless the user chose) before anything here imports LangGraph. Only
checkpoint-safe types are in the state (references, ids, versions, statuses), so the strict
allow-list costs nothing. With a checkpoint key, every blob is sealed with AES-256-GCM and a
plaintext blob is refused (``graphs.serde``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from graphs.serde import PlainSerializer, SealedSerializer
from vaultborn.errors import ConfigurationError, UsageError
from vaultborn.sqltx import busy_timeout

__all__ = [
    "DATABASE_ENV",
    "database_url",
    "open_async_checkpointer",
    "open_checkpointer",
    "prepare_database",
    "sqlite_path",
]

DATABASE_ENV = "VAULTBORN_DATABASE_URL"


def database_url(home: Path, url: str | None = None) -> str:
    """``url``, else ``$VAULTBORN_DATABASE_URL``, else the SQLite file in ``home``."""
    chosen = url or os.environ.get(DATABASE_ENV)
    return chosen or f"sqlite:///{home / 'state.db'}"


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///PATH`` URL.

    Raises:
        UsageError: Not a SQLite file URL (PostgreSQL arrives with the scale-out work).
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise UsageError(f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH")
    return Path(url[len(prefix) :])


@contextmanager
def open_checkpointer(url: str, *, key: bytes | None = None) -> Iterator[BaseCheckpointSaver[str]]:
    """A checkpointer on ``url`` (created 0600 if missing), closed on exit.

    Args:
        url: ``sqlite:///PATH``.
        key: 32 bytes to seal every checkpoint blob with; None stores them unsealed.

    Raises:
        UsageError: The URL is not supported.
        ConfigurationError: The database cannot be opened.
    """
    path = prepare_database(url)
    try:
        # LangGraph writes checkpoints from a background thread: the connection must allow it.
        conn = sqlite3.connect(path, check_same_thread=False, timeout=busy_timeout())
    except sqlite3.Error as error:
        raise ConfigurationError(f"cannot open the state database {path}: {error}") from None
    try:
        saver = SqliteSaver(conn, serde=_serde(key))
        try:
            saver.setup()
        except sqlite3.Error as error:
            raise _unusable(path, error) from None
        yield saver
    finally:
        conn.close()


@asynccontextmanager
async def open_async_checkpointer(
    url: str, *, key: bytes | None = None
) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """``open_checkpointer`` for async graphs (``ainvoke``): the same database and serializer."""
    import aiosqlite

    path = prepare_database(url)
    try:
        conn = await aiosqlite.connect(path, timeout=busy_timeout())
    except sqlite3.Error as error:
        raise ConfigurationError(f"cannot open the state database {path}: {error}") from None
    try:
        saver = AsyncSqliteSaver(conn, serde=_serde(key))
        try:
            await saver.setup()
        except sqlite3.Error as error:
            raise _unusable(path, error) from None
        yield saver
    finally:
        await conn.close()


def _serde(key: bytes | None) -> PlainSerializer | SealedSerializer:
    return PlainSerializer() if key is None else SealedSerializer(key)


def prepare_database(url: str) -> Path:
    """The database file of ``url``, created private (0600 in a 0700 directory) if missing."""
    path = sqlite_path(url)
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
