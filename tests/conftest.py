"""Hermetic defaults for every test: a clean environment and a private data directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

import vaultborn  # noqa: F401  (strict msgpack on before any test module imports LangGraph)
from tests.pgserver import PgServer, find_bindir, fresh_database, postgres_server
from vaultborn.core import hardening

# CI replays the same examples every run, so a landing never depends on luck; developers'
# runs stay random and keep finding new cases.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = ["tests.robustness"]

# Variables that could point a test at a real vault, account or home directory.
_SCRUBBED_PREFIXES = ("VAULTBORN_", "OP_", "FAKE_OP_", "AWS_")


@pytest.fixture(scope="session", autouse=True)
def core_dumps_left_to_subprocesses() -> Iterator[None]:
    """Keep this process's core limit: the CLI and the dev IdP run in it, and turn dumps off.

    Its hard limit would drop to 0 for every subprocess started afterwards, and the tests of
    ``core.hardening`` (which start real processes with dumps on) could no longer tell a process
    that turns them off from one that inherited the limit.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hardening, "disable_core_dumps", lambda: None)
        yield


@pytest.fixture(autouse=True)
def clean_environ(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Clear credential-bearing variables and give each test its own VAULTBORN_HOME."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES):
            del os.environ[name]
    os.environ["VAULTBORN_HOME"] = str(tmp_path_factory.mktemp("home") / ".vaultborn")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the session (started as the ``postgres`` user when root).

    CI must run the PostgreSQL suites: there a missing server fails rather than skips.
    """
    if find_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: ./dev installs it as root (apt)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def run_database(request: pytest.FixtureRequest) -> str:
    """Run the test once on each engine; the engine's name.

    PostgreSQL: a fresh, migrated database, named by ``VAULTBORN_DATABASE_URL``.
    """
    if request.param == "sqlite":
        return "sqlite"
    return request.getfixturevalue("postgres_database")


@pytest.fixture(scope="session")
def migrated_template(pg_server: PgServer) -> str:
    """The name of a database ``vaultborn db migrate`` set up once for the session.

    Each test gets a copy of it: the same tables as its own migration would make (``migrate``
    only creates tables and records its steps), without seconds of migrating per test.
    """
    from vaultborn.runner.migrate import migrate

    url = fresh_database(pg_server, "template")
    migrate(url)  # closes its connections: PostgreSQL copies only a database nobody is in
    return url.rsplit("/", 1)[1]


@pytest.fixture
def postgres_database(pg_server: PgServer, migrated_template: str) -> str:
    """Run the test on a fresh, migrated PostgreSQL database (``VAULTBORN_DATABASE_URL``)."""
    url = fresh_database(pg_server, template=migrated_template)
    os.environ["VAULTBORN_DATABASE_URL"] = url
    return "postgresql"


@pytest.fixture
def home() -> Path:
    """This test's VAULTBORN_HOME (not created yet)."""
    return Path(os.environ["VAULTBORN_HOME"])


@dataclass
class Result:
    """A CLI run in-process: exit code, stdout, stderr."""

    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli("item", "list")`` runs the CLI in-process → Result(code, stdout, stderr)."""
    from vaultborn.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
