"""A throwaway PostgreSQL server for tests and benchmarks, started by the project itself.

PostgreSQL refuses to run as root (``initdb: cannot be run as root``), so as root the server runs
as the ``postgres`` user (``runuser -u postgres``) in a directory handed to it; as anyone else it
runs as that user. It listens on 127.0.0.1 at a port picked free (port 0, read back), with
fsync off (a test server: speed over durability), and is stopped and deleted on exit.
``fresh_database`` makes an empty database per test, so suites never see each other's rows; given
a ``template`` (a database migrated once per session) it copies that instead: a copy takes a
tenth of a second where running the migrations again takes seconds on a busy machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgServer", "find_bindir", "fresh_database", "postgres_server"]


@dataclass(frozen=True)
class PgServer:
    """A running server: the URL of its ``postgres`` database, and its log file."""

    url: str
    log: Path

    def url_for(self, database: str) -> str:
        """The URL of another database on this server."""
        return self.url.rsplit("/", 1)[0] + "/" + database


def find_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl`` (newest Debian version first), or None."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version, reverse=True)
    if versions:
        return versions[0].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(initdb: Path) -> int:
    name = initdb.parent.parent.name
    return int(name) if name.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def postgres_server(*, max_connections: int = 300) -> Iterator[PgServer]:
    """Start a PostgreSQL server for the block.

    Raises:
        RuntimeError: No PostgreSQL binaries, or the server did not start (with its log).
    """
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb): apt-get install postgresql")
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="vaultborn-pg-"))
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    for folder in (data, sockets):
        folder.mkdir(mode=0o700)
    if as_root:
        # Only this throwaway directory is handed over, never a folder of the repository.
        for path in (base, data, sockets):
            shutil.chown(path, "postgres", "postgres")
        log.touch()
        shutil.chown(log, "postgres", "postgres")
    port = _free_port()
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        _run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            log,
        )  # fmt: skip
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections={max_connections} -c shared_buffers=32MB"
        )
        _run([*pg_ctl, "-l", str(log), "-w", "-t", "60", "-o", options, "start"], log)
        yield PgServer(f"postgresql://postgres@127.0.0.1:{port}/postgres", log)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def _run(command: list[str], log: Path) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(
            f"{Path(command[-1]).name if command else ''} failed ({done.returncode}): "
            f"{done.stderr.strip() or done.stdout.strip()}\n{tail}"
        )


def fresh_database(server: PgServer, prefix: str = "t", *, template: str | None = None) -> str:
    """Create a database on ``server``: empty, or a copy of the database ``template``; its URL.

    The template must have no open connection while it is copied (PostgreSQL refuses then).
    """
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    return server.url_for(name)
