"""Crash safety of ``rotate`` and ``revoke``: killed on either side of every effect, resumed.

As ``test_crash_resume`` does for the setup: ``VAULTBORN_TEST_CRASH_AT`` ends the CLI process
with ``os._exit`` at the named point (no cleanup, no checkpoint, as ``kill -9``); a second
process resumes the run. Every effect then exists exactly once (one new vault version and one
retirement, one blocked user, one scheduled deletion, one archive tag …), the chain is what an
uninterrupted run leaves, and no secret the vault holds rests in a file or an output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.faults.clikit import assert_no_secret_at_rest, run_cli
from tests.graph.lifecycle_kit import fresh_chain, lifecycle_effects
from tests.rundb import state_db_of
from vaultborn.browser.chromium import find_chromium
from vaultborn.runner.faults import CRASH_ENV, CRASH_EXIT
from vaultborn.runner.view_cache import started_runs

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("fault: process killed before/after each lifecycle effect"),
]

SIDES = ("before", "after")
ROTATE_POINTS = [
    f"{step}:{side}"
    for step in ("new_client_secret", "push_client_secret", "retire_previous", "seed")
    for side in SIDES
]
REVOKE_STEPS = (
    "remove_authenticators", "revoke_user", "revoke_client", "delete_store_secret",
    "archive_items",
)  # fmt: skip
REVOKE_POINTS = [f"{step}:{side}" for step in REVOKE_STEPS for side in SIDES]


@pytest.fixture(scope="module")
def baseline(snapshot: Path, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What a fresh copy of the setup looks like: every copy is alike, so it is counted once."""
    home = fresh_chain(snapshot, tmp_path_factory.mktemp("baseline") / "home", moto_endpoint)
    return lifecycle_effects(home, moto_endpoint)


def _crash_then_resume(home: Path, endpoint: str, point: str, *command: str) -> list[str]:
    crashed = run_cli(home, endpoint, *command, "--auto-approve", "--json",
                      env={CRASH_ENV: point})  # fmt: skip
    assert crashed.returncode == CRASH_EXIT, crashed.stderr
    # What ``vaultborn runs --json`` lists, read in this process: one CLI start fewer per case.
    listed = [v.as_dict() for v in started_runs(state_db_of(home))]
    (stopped,) = [r["run_id"] for r in listed if r["status"] != "done"]
    resumed = run_cli(home, endpoint, "resume", stopped, "--auto-approve", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "done"
    return [json.dumps(listed), *(r.stdout + r.stderr for r in (crashed, resumed))]


@pytest.mark.parametrize("point", ROTATE_POINTS)
def test_rotation_killed_at_any_effect_resumes_to_exactly_once(
    point: str, home: Path, moto_endpoint: str, baseline: dict[str, Any]
) -> None:
    before = baseline
    outputs = _crash_then_resume(home, moto_endpoint, point, "rotate", "--what", "client-secret")

    after = lifecycle_effects(home, moto_endpoint)
    assert after["agent_version"] == before["agent_version"] + 2  # one new value, one retirement
    assert after["agent_fields"] == [*before["agent_fields"], "vaultborn rotation"]
    assert after["store_versions"] == before["store_versions"]  # its source did not change
    drift = run_cli(home, moto_endpoint, "drift", "--auto-approve", "--json")
    assert drift.returncode == 0, drift.stdout
    assert_no_secret_at_rest(home, [*outputs, drift.stdout + drift.stderr])


@pytest.mark.parametrize("point", REVOKE_POINTS)
def test_revocation_killed_at_any_effect_resumes_to_exactly_once(
    point: str, home: Path, moto_endpoint: str
) -> None:
    outputs = _crash_then_resume(home, moto_endpoint, point, "revoke")

    after = lifecycle_effects(home, moto_endpoint)
    assert after["users"] == 1 and after["blocked"] == [True]
    assert (after["authenticators"], after["grants"], after["store"]) == (0, 0, "scheduled")
    assert [tags.count("vaultborn-archived") for tags in after["tags"].values()] == [1, 1]
    assert_no_secret_at_rest(home, outputs)
