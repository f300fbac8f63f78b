"""The run database's URL: which engine it selects, and how each library wants it spelt.

One URL names the run database (checkpoints, audit log, leases, queued answers):
``sqlite:///PATH`` (the default, ``$VAULTBORN_HOME/state.db``) or ``postgresql://…`` to share
it between processes and hosts. LangGraph's PostgresSaver takes a libpq URL; SQLAlchemy wants
the driver named (``postgresql+psycopg://``).

``DatabaseUrl`` is the URL parsed once, where it enters (``database_url``, ``--db``): its kind
is known from then on, and each library's spelling is a property. Every function here that
takes a URL takes the text or the value (``UrlLike``) and parses only the text. A URL may hold a
password, so its ``str`` and ``repr`` are the shown form (password masked); ``text`` is the URL
as given, for the libraries only.

SQLAlchemy is imported only where an engine is made or a URL is parsed for printing, so the
commands that only look at runs (``runs``, ``approvals``) start without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from vaultborn.core.errors import UsageError
from vaultborn.core.sqltx import busy_timeout

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "DATABASE_ENV",
    "POOL_SIZE_ENV",
    "RELAXED_SYNC",
    "DatabaseUrl",
    "Kind",
    "UrlLike",
    "database_kind",
    "database_url",
    "libpq_url",
    "make_engine",
    "pool_size",
    "relaxed_sync",
    "shown",
    "sqlalchemy_url",
    "sqlite_path",
]

Kind = Literal["sqlite", "postgresql"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")

DATABASE_ENV = "VAULTBORN_DATABASE_URL"


@dataclass(frozen=True, eq=True)
class DatabaseUrl:
    """A run database URL, checked once: ``sqlite:///PATH`` or ``postgresql://…``.

    Build it with ``DatabaseUrl.parse``; ``str()`` and ``repr()`` never show a password.
    """

    text: str
    """The URL as given (it may hold a password: for the database libraries only)."""
    kind: Kind
    """``sqlite`` or ``postgresql``."""

    @classmethod
    def parse(cls, url: UrlLike) -> DatabaseUrl:
        """``url`` checked, or returned as it is when it was checked already.

        Raises:
            UsageError: Any other URL (one line, without the URL's password).
        """
        if isinstance(url, DatabaseUrl):
            return url
        return cls(url, _kind_of(url))

    @property
    def path(self) -> Path:
        """The file of a ``sqlite:///PATH`` URL.

        Raises:
            UsageError: Not a SQLite file URL.
        """
        if self.kind != "sqlite":
            raise UsageError(f"{self} is not a SQLite file (sqlite:///PATH)")
        return Path(self.text[len("sqlite:///") :])

    @property
    def libpq(self) -> str:
        """The URL as libpq (psycopg, PostgresSaver) takes it: no driver in the scheme."""
        for scheme in _POSTGRES_SCHEMES:
            if self.text.startswith(scheme):
                return "postgresql://" + self.text[len(scheme) :]
        return self.text

    @property
    def sqlalchemy(self) -> str:
        """The URL as SQLAlchemy takes it: PostgreSQL through psycopg 3."""
        if self.kind == "postgresql":
            return "postgresql+psycopg://" + self.libpq[len("postgresql://") :]
        return self.text

    @cached_property
    def shown(self) -> str:
        """The URL fit to print: a password is replaced by ``***``."""
        return _shown(self.text)

    def __str__(self) -> str:
        return self.shown

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.shown!r})"


UrlLike: TypeAlias = "str | DatabaseUrl"
"""A run database URL: as text (checked where it is used) or already a ``DatabaseUrl``."""


def database_url(home: Path, url: str | None = None) -> DatabaseUrl:
    """``url``, else ``$VAULTBORN_DATABASE_URL``, else the SQLite file in ``home``, checked.

    Raises:
        UsageError: The URL is not ``sqlite:///PATH`` or ``postgresql://…``.
    """
    chosen = url or os.environ.get(DATABASE_ENV)
    return DatabaseUrl.parse(chosen or f"sqlite:///{home / 'state.db'}")


def _kind_of(url: str) -> Kind:
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return "sqlite"
    if url.startswith(_POSTGRES_SCHEMES) and "://" in url and url.split("://", 1)[1]:
        return "postgresql"
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise UsageError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH or postgresql://…"
    )


def database_kind(url: UrlLike) -> Kind:
    """``sqlite`` or ``postgresql``.

    Raises:
        UsageError: Any other URL (one line, without the URL's password).
    """
    return DatabaseUrl.parse(url).kind


def sqlite_path(url: UrlLike) -> Path:
    """The file of a ``sqlite:///PATH`` URL.

    Raises:
        UsageError: Not a SQLite file URL.
    """
    return DatabaseUrl.parse(url).path


def libpq_url(url: UrlLike) -> str:
    """``url`` as libpq (psycopg, PostgresSaver) takes it: no driver in the scheme."""
    if isinstance(url, DatabaseUrl):
        return url.libpq
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme) :]
    return url


def sqlalchemy_url(url: UrlLike) -> str:
    """``url`` as SQLAlchemy takes it: PostgreSQL through psycopg 3."""
    return DatabaseUrl.parse(url).sqlalchemy


def shown(url: UrlLike) -> str:
    """``url`` fit to print: a password is replaced by ``***``."""
    return url.shown if isinstance(url, DatabaseUrl) else _shown(url)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(sqlalchemy_url(url)) if "://" in url else None
    except (ArgumentError, UsageError, ValueError):
        parsed = None
    if "password=" in url.lower():  # libpq also takes it as a query parameter
        return url.split("?", 1)[0] + "?…"
    if parsed is None or parsed.password is None:
        return url if parsed is not None or "@" not in url else "…@" + url.rsplit("@", 1)[1]
    text = parsed.render_as_string(hide_password=True)
    return text.replace("postgresql+psycopg://", "postgresql://", 1)


def make_engine(url: UrlLike, *, wal: bool = False, durable: bool = False) -> Engine:
    """An autocommit engine on ``url``: every transaction is begun explicitly (``sqltx``).

    Args:
        url: ``sqlite:///PATH`` or ``postgresql://…``.
        wal: SQLite only: switch the file to write-ahead logging on connect.
        durable: SQLite only: each commit is on disk before it returns (the audit log's,
            whose head leaves the database right after); else ``relaxed_sync``.

    Raises:
        UsageError: The URL is not supported, or the busy timeout variable is malformed.
    """
    from sqlalchemy import create_engine, event

    url = DatabaseUrl.parse(url)
    if url.kind == "sqlite":
        engine = create_engine(
            url.text,
            isolation_level="AUTOCOMMIT",
            connect_args={"timeout": busy_timeout(), "check_same_thread": False},
        )
        if wal:
            event.listen(engine, "connect", _wal)
        if not durable:
            event.listen(engine, "connect", lambda conn, record: relaxed_sync(conn))
        return engine
    return create_engine(
        url.sqlalchemy,
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=True,
        # Writers queue on one advisory lock holding their connection: room for every run.
        pool_size=pool_size(),
        max_overflow=pool_size(),
        pool_timeout=busy_timeout(),
        connect_args={"connect_timeout": max(1, int(busy_timeout()))},
    )


RELAXED_SYNC = "PRAGMA synchronous = NORMAL"
"""The run state's commit rule (``relaxed_sync``), for a connection already in WAL mode."""


def relaxed_sync(conn: Any) -> None:
    """Commits on ``conn`` (a sqlite3 connection) stop waiting for the disk, in WAL mode only.

    SQLite's ``synchronous = NORMAL`` in WAL mode: a killed process loses nothing (the log is
    in the kernel's hands at commit), and the file is never corrupted; a power loss or kernel
    crash may undo the last commits. That is what the run state can take: every effect looks
    before it acts, so a move undone repeats a look, not an effect. It spares a setup some
    60 disk flushes. A file in rollback-journal mode keeps its full sync (NORMAL there could
    corrupt it on a power loss).
    """
    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() == "wal":
        conn.execute(RELAXED_SYNC)


POOL_SIZE_ENV = "VAULTBORN_DB_POOL_SIZE"
"""Connections a process keeps to a PostgreSQL run database, per pool (default 10)."""


def pool_size() -> int:
    """``$VAULTBORN_DB_POOL_SIZE`` (10).

    Raises:
        UsageError: Not a number from 1 to 1000.
    """
    text = os.environ.get(POOL_SIZE_ENV) or "10"
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise UsageError(f"{POOL_SIZE_ENV} must be a number of connections (1-1000), got {text!r}")
    return int(text)


def _wal(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()
