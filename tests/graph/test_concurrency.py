"""One process at a time moves a run on; one unfinished setup per account — on both engines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import Run
from vaultborn.core.database import make_engine
from vaultborn.graphs.checkpoint import DATABASE_ENV
from vaultborn.runner.leases import LEASE_SECONDS, RunBusy, create_lease_table, hold_run, lease_of

pytestmark = pytest.mark.robustness("concurrency: runs and accounts")


@pytest.fixture
def url(home: Path, run_database: str) -> str:
    """The run database of this test: the home's SQLite file, or a fresh PostgreSQL one."""
    home.mkdir(parents=True, exist_ok=True)
    chosen = os.environ.get(DATABASE_ENV) or f"sqlite:///{home / 'state.db'}"
    create_lease_table(chosen)
    return chosen


def _plant(
    url: str, run_id: str, pid: int, *, host: str | None = None, expires: float | None = None
) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("DELETE FROM run_leases WHERE run_id = :r"), {"r": run_id})
            conn.execute(
                text(
                    "INSERT INTO run_leases (run_id, host, pid, since, expires) "
                    "VALUES (:r, :h, :p, :s, :e)"
                ),
                {
                    "r": run_id,
                    "h": host or socket.gethostname(),
                    "p": pid,
                    "s": time.time(),
                    "e": expires or time.time() + LEASE_SECONDS,
                },
            )
    finally:
        engine.dispose()


def _leases(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM run_leases")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def live_pid() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


def test_a_live_holder_keeps_the_run(url: str, live_pid: int) -> None:
    _plant(url, "run-1", live_pid)
    with (
        pytest.raises(RunBusy, match=f"run run-1 is being moved on by pid {live_pid}"),
        hold_run(url, "run-1"),
    ):
        pass


@pytest.mark.parametrize("case", ["dead process", "expired", "other host, expired"])
def test_a_stale_lease_is_taken_over(url: str, case: str) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    if case == "dead process":
        _plant(url, "run-1", dead.pid)
    elif case == "expired":
        _plant(url, "run-1", 1, expires=time.time() - 1)
    else:
        _plant(url, "run-1", 1, host="elsewhere", expires=time.time() - 1)
    with hold_run(url, "run-1") as lease:
        assert lease.run_id == "run-1"
        assert lease_of(url, "run-1") == lease
    assert _leases(url) == 0


def test_a_lease_on_another_host_is_trusted_until_it_expires(url: str) -> None:
    _plant(url, "run-1", 1, host="elsewhere")
    with pytest.raises(RunBusy, match="on elsewhere"), hold_run(url, "run-1"):
        pass


def test_a_renewed_lease_outlives_its_first_expiry(url: str) -> None:
    with hold_run(url, "run-1", seconds=3, renew=True) as lease:
        time.sleep(2.5)  # past the first renewal (every second), short of the first expiry
        renewed = lease_of(url, "run-1")
        assert renewed is not None
        assert renewed.expires > lease.expires
    assert lease_of(url, "run-1") is None


def test_second_process_is_told_who_holds_the_run(cli: Run, url: str, live_pid: int) -> None:
    run_id = json.loads(cli("setup", "--json").out)["run_id"]
    _plant(url, run_id, live_pid)
    busy = cli("approve", run_id)

    assert busy.code == 1
    assert f"is being moved on by pid {live_pid}" in busy.err
    assert busy.err.count("\n") == 1


def test_a_second_setup_for_the_same_account_is_refused(cli: Run, url: str) -> None:
    first = json.loads(cli("setup", "--json").out)
    second = cli("setup", "--json")

    assert second.code == 1  # not a usage mistake
    assert f"a setup for admin@example.com is unfinished as {first['run_id']}" in second.err
    assert cli("reject", first["run_id"], "--reason", "start over").code == 1
    assert cli("setup", "--json").code == 3  # a rejected run no longer blocks
