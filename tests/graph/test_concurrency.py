"""One process at a time moves a run on; one unfinished setup per account."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run
from vaultborn.leases import LEASE_SECONDS, RunBusy, hold_run

pytestmark = pytest.mark.robustness("concurrency: runs and accounts")


def _plant(
    db: Path, run_id: str, pid: int, *, host: str | None = None, expires: float | None = None
) -> None:
    import socket

    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO run_leases (run_id, host, pid, since, expires) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                run_id,
                host or socket.gethostname(),
                pid,
                time.time(),
                expires or time.time() + LEASE_SECONDS,
            ),
        )


@pytest.fixture
def live_pid() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


def test_a_live_holder_keeps_the_run(tmp_path: Path, live_pid: int) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with hold_run(url, "run-1"):
        pass  # creates the table
    _plant(tmp_path / "state.db", "run-1", live_pid)
    with (
        pytest.raises(RunBusy, match=f"run run-1 is being moved on by pid {live_pid}"),
        hold_run(url, "run-1"),
    ):
        pass


@pytest.mark.parametrize("case", ["dead process", "expired", "other host, expired"])
def test_a_stale_lease_is_taken_over(tmp_path: Path, case: str) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with hold_run(url, "run-1"):
        pass
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    if case == "dead process":
        _plant(tmp_path / "state.db", "run-1", dead.pid)
    elif case == "expired":
        _plant(tmp_path / "state.db", "run-1", 1, expires=time.time() - 1)
    else:
        _plant(tmp_path / "state.db", "run-1", 1, host="elsewhere", expires=time.time() - 1)
    with hold_run(url, "run-1") as lease:
        assert lease.run_id == "run-1"
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("SELECT count(*) FROM run_leases").fetchone() == (0,)


def test_a_lease_on_another_host_is_trusted_until_it_expires(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with hold_run(url, "run-1"):
        pass
    _plant(tmp_path / "state.db", "run-1", 1, host="elsewhere")
    with pytest.raises(RunBusy, match="on elsewhere"), hold_run(url, "run-1"):
        pass


def test_second_process_is_told_who_holds_the_run(cli: Run, home: Path, live_pid: int) -> None:
    run_id = json.loads(cli("setup", "--json").out)["run_id"]
    _plant(home / "state.db", run_id, live_pid)
    busy = cli("approve", run_id)

    assert busy.code == 2
    assert f"is being moved on by pid {live_pid}" in busy.err
    assert busy.err.count("\n") == 1


def test_a_second_setup_for_the_same_account_is_refused(cli: Run) -> None:
    first = json.loads(cli("setup", "--json").out)
    second = cli("setup", "--json")

    assert second.code == 2
    assert f"a setup for admin@example.com is unfinished as {first['run_id']}" in second.err
    assert cli("reject", first["run_id"], "--reason", "start over").code == 1
    assert cli("setup", "--json").code == 3  # a rejected run no longer blocks
