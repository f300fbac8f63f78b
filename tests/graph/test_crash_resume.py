"""Crash safety: kill ``vaultborn setup`` on either side of every external effect, then resume.

The CLI runs as a real subprocess; ``VAULTBORN_TEST_CRASH_AT`` ends it with ``os._exit`` at the
named point (no cleanup, as a power cut), including mid-enrollment, once the captured secret is
in the vault and before its code is sent. A second process resumes the run; the vault, the dev
IdP (its database in VAULTBORN_HOME) and a moto server started here then show every effect
exactly once (with the run database on SQLite and on PostgreSQL), no enrollment debris at the
IdP (an unconfirmed authenticator, an open ticket), no Chromium profile of the dead process, and
no secret the vault holds rests in any file of the run, in its database or in its output.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Run
from tests.faults.clikit import (
    assert_no_secret_at_rest,
    count_effects,
    enrollment_debris,
    moto_server,
    run_cli,
    run_here,
)
from vaultborn.browser.chromium import find_chromium
from vaultborn.browser.scratch import COMPILE_CACHE_FOLDER
from vaultborn.runner.faults import CRASH_ENV, CRASH_EXIT

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("fault: process killed before/after each effect"),
]

POINTS = [
    f"{step}:{side}"
    for step in ("create_item", "create_user", "enroll_totp", "seed")
    for side in ("before", "after")
]
POINTS.insert(POINTS.index("enroll_totp:after"), "enroll_totp:captured")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server for the module, so seeds outlive the CLI processes."""
    with moto_server() as url:
        yield url


@pytest.fixture
def scratch() -> Iterator[Path]:
    """The processes' own TMPDIR, where their Chromium profiles go: short, as Chromium's
    socket path under it must be (pytest's ``tmp_path`` is too long for one)."""
    path = Path(tempfile.mkdtemp(prefix="vb-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("point", POINTS)
def test_crash_then_resume_converges_to_exactly_once(
    point: str, tmp_path: Path, moto_endpoint: str, run_database: str, scratch: Path, cli: Run
) -> None:
    home = tmp_path / "home"
    tmp = {"TMPDIR": str(scratch)}
    httpx.post(moto_endpoint + "/moto-api/reset").raise_for_status()
    crashed = run_cli(
        home, moto_endpoint, "setup", "--auto-approve", "--json", env={CRASH_ENV: point, **tmp}
    )
    assert crashed.returncode == CRASH_EXIT, crashed.stderr

    listed = run_here(cli, home, moto_endpoint, "runs", "--json")  # only looks: no process
    (run,) = json.loads(listed.stdout)
    args = ("resume", run["run_id"], "--auto-approve", "--json")
    resumed = run_cli(home, moto_endpoint, *args, env=tmp)

    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "done"
    shown = run_here(cli, home, moto_endpoint, "show", run["run_id"], "--json")
    drill_codes = json.loads(shown.stdout)["state"]["verify"]["login_drill_codes"]
    if point == "enroll_totp:after":
        # Killed before the enrollment's result was checkpointed: which step its code used
        # died with the process, so the drill may send that step's code, be refused and
        # send the next step's; it never fails.
        assert drill_codes in (1, 2)
    else:
        # The drill in the resuming process knew the enrollment's time steps (from the state):
        # no code of a used step was sent, whichever process enrolled.
        assert drill_codes == 1
    assert count_effects(home, moto_endpoint) == {
        "items": 1,
        "users": 1,
        "confirmed_totp": 1,
        "versions": 1,
    }
    assert enrollment_debris(home) == {"pending_totp": 0, "open_tickets": 0}
    # The dead process's Chromium folder was swept when the resume launched one; its own went
    # when it closed. What stays is the drivers' compile cache (Playwright's bytecode).
    left = (scratch / f"vaultborn-chromium-{os.getuid()}").glob("*")
    assert [path.name for path in left] == [COMPILE_CACHE_FOLDER]
    outputs = [r.stdout + r.stderr for r in (crashed, listed, resumed)]
    assert_no_secret_at_rest(home, outputs)
