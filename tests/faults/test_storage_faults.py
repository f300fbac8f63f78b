"""The state database locked by another process, and a disk that refuses writes mid-run.

Each case stops ``vaultborn`` with a one-line error (exit 1, no traceback); a later process
then resumes (or starts) the run and every effect exists exactly once, with no secret at rest
outside the vault.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.faults.clikit import assert_no_secret_at_rest, count_effects, run_cli, run_here
from vaultborn.browser.chromium import find_chromium
from vaultborn.core.sqltx import BUSY_TIMEOUT_ENV
from vaultborn.runner.faults import CRASH_ENV

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("fault: state database locked, disk refusing writes"),
]

ONCE = {"items": 1, "users": 1, "confirmed_totp": 1, "versions": 1}


def _one_line_failure(result: object) -> str:
    err = getattr(result, "stderr", "")
    assert getattr(result, "returncode", None) == 1, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if not line.startswith("vaultborn: no AWS")]
    assert len(errors) == 1, err
    return errors[0]


@pytest.mark.parametrize("point", ["create_item:after", "enroll_totp:after", "seed:before"])
def test_a_full_disk_mid_run_stops_cleanly_and_resume_converges(
    point: str, home: Path, moto_endpoint: str, cli: Run
) -> None:
    failed = run_cli(
        home, moto_endpoint, "setup", "--auto-approve", "--json",
        env={CRASH_ENV: f"{point}:disk-full"},
    )  # fmt: skip
    _one_line_failure(failed)

    listed = run_here(cli, home, moto_endpoint, "runs", "--json")  # only looks: no process
    (run,) = json.loads(listed.stdout)
    resumed = run_cli(home, moto_endpoint, "resume", run["run_id"], "--auto-approve", "--json")

    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "done"
    assert count_effects(home, moto_endpoint) == ONCE
    assert_no_secret_at_rest(home, [r.stdout + r.stderr for r in (failed, listed, resumed)])


def test_a_locked_state_database_is_one_line_then_the_run_goes_on(
    home: Path, moto_endpoint: str
) -> None:
    asked = run_cli(home, moto_endpoint, "setup", "--json")  # waits at the vault session
    assert asked.returncode == 3, asked.stderr
    run_id = json.loads(asked.stdout)["run_id"]

    holder = sqlite3.connect(home / "state.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        blocked = run_cli(
            home, moto_endpoint, "resume", run_id, "--auto-approve", "--json",
            env={BUSY_TIMEOUT_ENV: "0.5"},
        )  # fmt: skip
    finally:
        holder.close()
    line = _one_line_failure(blocked)
    assert "locked" in line and "try again" in line, line

    resumed = run_cli(home, moto_endpoint, "resume", run_id, "--auto-approve", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert count_effects(home, moto_endpoint) == ONCE
    assert_no_secret_at_rest(home, [r.stdout + r.stderr for r in (asked, blocked, resumed)])
