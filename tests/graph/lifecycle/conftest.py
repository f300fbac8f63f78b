"""The lifecycle suites' shared pieces: one finished setup per process, copied for each test.

``moto_endpoint`` here overrides the suite-wide fixture of that name for this package only: a
moto server kept for the session, so the seeds outlive the CLI processes. ``snapshot`` is one
finished embedded setup, made once per test process (an xdist worker) for every module of the
package — Chromium enrolls once — and never changed; ``home`` is this test's copy of it (each
test empties moto and seeds it anew). ``pg_snapshot`` and ``chain`` do the same on
PostgreSQL: the setup run lives in a PostgreSQL database, and each test gets a copy of that
database (``CREATE DATABASE … TEMPLATE``) beside its copy of the data directory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.clikit import moto_server
from tests.graph.lifecycle_kit import finished_setup, fresh_chain
from tests.pgserver import PgServer, fresh_database
from vaultborn.graphs.checkpoint import DATABASE_ENV


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server for the package's tests, so seeds outlive the CLI processes."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Path:
    """The data directory of one finished setup (copied, never changed)."""
    return finished_setup(tmp_path_factory.mktemp("setup") / "home", moto_endpoint)


@pytest.fixture
def home(snapshot: Path, tmp_path: Path, moto_endpoint: str) -> Path:
    """This test's copy of the finished setup."""
    return fresh_chain(snapshot, tmp_path / "home", moto_endpoint)


@dataclass(frozen=True)
class PgSnapshot:
    """A finished setup whose run database is PostgreSQL: its data directory and database."""

    home: Path
    server: PgServer
    database: str


@pytest.fixture(scope="session")
def pg_snapshot(
    tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str, pg_server: PgServer
) -> PgSnapshot:
    """One finished setup with its run (checkpoints, audit log) in a PostgreSQL database."""
    from vaultborn.runner.migrate import migrate

    url = fresh_database(pg_server, "lifecycle_setup")
    migrate(url)
    # The autouse clean_environ fixture restores the environment only around each test.
    saved = os.environ.get(DATABASE_ENV)
    os.environ[DATABASE_ENV] = url
    try:
        home = finished_setup(tmp_path_factory.mktemp("pg-setup") / "home", moto_endpoint)
    finally:
        if saved is None:
            del os.environ[DATABASE_ENV]
        else:
            os.environ[DATABASE_ENV] = saved
    return PgSnapshot(home, pg_server, url.rsplit("/", 1)[1])


def _copy_database(snap: PgSnapshot) -> str:
    """A new database holding what the snapshot's holds; its URL."""
    import psycopg

    name = f"lifecycle_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(snap.server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{snap.database}"')
    return snap.server.url_for(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def chain(request: pytest.FixtureRequest, tmp_path: Path, moto_endpoint: str) -> Iterator[Path]:
    """This test's copy of a finished setup, once with each run database.

    On PostgreSQL ``VAULTBORN_DATABASE_URL`` names the copy of the setup's database, for the
    CLI processes (``run_cli``) and the canary scan (``tests.rundb.at_rest``) alike; afterwards
    no SQLite run database may have appeared in the data directory.
    """
    if request.param == "sqlite":
        yield request.getfixturevalue("home")
        return
    snap: PgSnapshot = request.getfixturevalue("pg_snapshot")
    os.environ[DATABASE_ENV] = _copy_database(snap)
    home = fresh_chain(snap.home, tmp_path / "home", moto_endpoint)
    yield home
    assert not (home / "state.db").exists(), "a run of the PostgreSQL case used SQLite"
