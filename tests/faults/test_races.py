"""Real races between ``vaultborn`` processes started at the same moment.

Two resumes of one run: exactly one moves it on, the other says who holds it. Two setups
for one account: exactly one runs, the other is refused; either way every effect exists once.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.faults.clikit import assert_no_secret_at_rest, count_effects, run_cli, run_here
from vaultborn.browser.chromium import find_chromium

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("concurrency: processes racing"),
]

ONCE = {"items": 1, "users": 1, "confirmed_totp": 1, "versions": 1}
Result = subprocess.CompletedProcess[str]


def _together(*calls: Callable[[], Result]) -> list[Result]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def _winner_and_loser(results: list[Result]) -> tuple[Result, Result]:
    assert sorted(r.returncode for r in results) == [0, 1], [r.stderr for r in results]
    winner, loser = sorted(results, key=lambda r: r.returncode)
    assert json.loads(winner.stdout)["status"] == "done"
    assert "Traceback" not in loser.stderr and loser.stderr.count("\n") == 1, loser.stderr
    return winner, loser


def test_two_resumes_at_once_one_proceeds(
    home: Path, moto_endpoint: str, run_database: str
) -> None:
    asked = run_cli(home, moto_endpoint, "setup", "--json")
    run_id = json.loads(asked.stdout)["run_id"]

    def resume() -> Result:
        return run_cli(home, moto_endpoint, "resume", run_id, "--auto-approve", "--json")

    winner, loser = _winner_and_loser(_together(resume, resume))

    assert f"run {run_id} is being moved on by pid" in loser.stderr
    assert count_effects(home, moto_endpoint) == ONCE
    assert_no_secret_at_rest(home, [r.stdout + r.stderr for r in (asked, winner, loser)])


def test_two_setups_for_one_account_at_once_make_one(
    home: Path, moto_endpoint: str, run_database: str, cli: Run
) -> None:
    def setup() -> Result:
        return run_cli(home, moto_endpoint, "setup", "--auto-approve", "--json")

    winner, loser = _winner_and_loser(_together(setup, setup))

    assert "a setup for admin@example.com" in loser.stderr, loser.stderr
    runs = json.loads(run_here(cli, home, moto_endpoint, "runs", "--json").stdout)
    assert [r["status"] for r in runs] == ["done"]
    assert count_effects(home, moto_endpoint) == ONCE
    assert_no_secret_at_rest(home, [r.stdout + r.stderr for r in (winner, loser)])
