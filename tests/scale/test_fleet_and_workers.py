"""Many enrollments at once, and workers sharing a queue — on SQLite and on PostgreSQL.

Real processes (``run_cli``), the embedded dev IdP (its database in VAULTBORN_HOME), a moto
server started here, Chromium. After each scenario every account's effects are counted
(vault item, IdP user, confirmed TOTP, seed version: exactly one each) and every vault secret is
searched for in the home's files, the run database and everything printed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.clikit import (
    assert_no_secret_at_rest,
    cli_env,
    count_accounts,
    moto_server,
    run_cli,
)
from tests.forkserver import vaultborn_command
from tests.scale.plans import write_demo_plans
from vaultborn.browser.chromium import find_chromium
from vaultborn.runner.faults import CRASH_ENV, CRASH_EXIT

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("scale: concurrent runs, workers sharing a queue, a worker killed"),
]

ONCE = {"items": 1, "users": 1, "confirmed_totp": 1, "versions": 1}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server for the module, so seeds outlive the CLI processes."""
    with moto_server() as url:
        yield url


@pytest.fixture
def home(tmp_path: Path, moto_endpoint: str) -> Path:
    """A fresh data directory, with moto emptied."""
    httpx.post(moto_endpoint + "/moto-api/reset").raise_for_status()
    return tmp_path / "home"


def _accounts(count: int) -> list[tuple[str, str]]:
    return [
        (f"agent-{n:02d}@example.com", f"vaultborn-fleet/agent-{n:02d}")
        for n in range(1, count + 1)
    ]


def test_plan_dir_runs_every_plan_once(
    home: Path, tmp_path: Path, moto_endpoint: str, run_database: str
) -> None:
    write_demo_plans(tmp_path / "plans", 3)
    ran = run_cli(
        home, moto_endpoint, "setup", "--plan-dir", str(tmp_path / "plans"), "--auto-approve",
        "--concurrency", "3", "--json",
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr[-3000:] + ran.stdout[-3000:]  # each outcome says why
    outcomes = json.loads(ran.stdout)
    assert sorted(o["plan"].rsplit("/", 1)[-1] for o in outcomes) == [
        "agent-01.toml", "agent-02.toml", "agent-03.toml",
    ]  # fmt: skip
    assert {o["status"] for o in outcomes} == {"done"}
    assert "seed done" in ran.stderr  # a progress line per effect
    counts = count_accounts(home, moto_endpoint, _accounts(3))
    assert counts == {email: ONCE for email, _ in _accounts(3)}
    listed = json.loads(run_cli(home, moto_endpoint, "runs", "--json").stdout)
    assert sorted(r["status"] for r in listed) == ["done"] * 3
    assert_no_secret_at_rest(home, [ran.stdout + ran.stderr])


def test_twenty_enrollments_at_once_each_happen_once(
    home: Path, tmp_path: Path, moto_endpoint: str, postgres_database: str
) -> None:
    write_demo_plans(tmp_path / "plans", 20)
    ran = run_cli(
        home, moto_endpoint, "setup", "--plan-dir", str(tmp_path / "plans"), "--auto-approve",
        "--concurrency", "20", "--json",
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr[-3000:] + ran.stdout[-3000:]
    assert [o["status"] for o in json.loads(ran.stdout)] == ["done"] * 20
    assert count_accounts(home, moto_endpoint, _accounts(20)) == {
        email: ONCE for email, _ in _accounts(20)
    }
    assert_no_secret_at_rest(home, [ran.stdout + ran.stderr])


def test_several_plans_wait_at_their_gates_and_approve_queues_for_a_worker(
    home: Path, tmp_path: Path, moto_endpoint: str, run_database: str
) -> None:
    write_demo_plans(tmp_path / "plans", 2)
    asked = run_cli(home, moto_endpoint, "setup", "--plan-dir", str(tmp_path / "plans"), "--json")
    assert asked.returncode == 3, asked.stderr
    waiting = json.loads(asked.stdout)
    assert [o["status"] for o in waiting] == ["waiting", "waiting"]
    assert {o["waiting"]["kind"] for o in waiting} == {"vault_session"}

    first = waiting[0]["run_id"]
    queued = run_cli(home, moto_endpoint, "approve", first, "--queue", "--json")
    assert queued.returncode == 0, queued.stderr
    assert json.loads(queued.stdout)["status"] == "queued"
    worked = run_cli(home, moto_endpoint, "worker", "--exit-when-idle", "--poll", "0.2", "--json")
    assert worked.returncode == 0, worked.stderr
    # The queued answer moved the first run to its next gate; the other still waits.
    assert json.loads(worked.stdout)["statuses"] == {"waiting": 1}
    views = {
        v["run_id"]: v
        for v in json.loads(run_cli(home, moto_endpoint, "approvals", "--json").stdout)
    }
    assert views[first]["waiting"]["kind"] == "approval"
    assert views[waiting[1]["run_id"]]["waiting"]["kind"] == "vault_session"


def _worker(home: Path, endpoint: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*vaultborn_command(), "worker", "--auto-approve", "--json", *args],
        env={**cli_env(home, endpoint), **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_workers_share_a_queue_and_survive_one_being_killed(
    home: Path, tmp_path: Path, moto_endpoint: str, run_database: str
) -> None:
    write_demo_plans(tmp_path / "plans", 4)
    queued = run_cli(
        home, moto_endpoint, "setup", "--plan-dir", str(tmp_path / "plans"), "--queue", "--json"
    )
    assert queued.returncode == 0, queued.stderr
    assert [q["status"] for q in json.loads(queued.stdout)] == ["queued"] * 4

    # The doomed worker dies (as with kill -9: no cleanup, leases left behind) right after its
    # first TOTP enrollment, with runs in flight; the other keeps working, takes them over
    # once their holder is gone, and stops when nothing is left.
    doomed = _worker(home, moto_endpoint, "--concurrency", "2", "--poll", "0.2",
                     env={CRASH_ENV: "enroll_totp:after"})  # fmt: skip
    time.sleep(1.0)  # let the doomed one claim first
    survivor = _worker(home, moto_endpoint, "--concurrency", "2", "--poll", "0.2",
                       "--exit-when-idle", "--lease-seconds", "6", env={})  # fmt: skip
    try:
        doomed_out, doomed_err = doomed.communicate(timeout=300)
        out, err = survivor.communicate(timeout=400)
    finally:
        for process in (doomed, survivor):
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()

    assert doomed.returncode == CRASH_EXIT, doomed_err[-2000:]
    assert "moving on (start)" in doomed_err  # it did take work before it died
    assert survivor.returncode == 0, err[-3000:]
    report = json.loads(out)
    assert report["statuses"] == {"done": report["moved"]}
    listed = json.loads(run_cli(home, moto_endpoint, "runs", "--json").stdout)
    assert sorted(r["status"] for r in listed) == ["done"] * 4
    assert count_accounts(home, moto_endpoint, _accounts(4)) == {
        email: ONCE for email, _ in _accounts(4)
    }
    assert_no_secret_at_rest(home, [queued.stdout, doomed_out + doomed_err, out + err])
