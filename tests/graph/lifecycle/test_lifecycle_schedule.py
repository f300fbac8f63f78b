"""Scheduled lifecycle work end to end, and which unfinished run blocks which, on the embedded
defaults.

One setup per module from a plan with a ``[schedule]`` (the TOTP registered through the dev
IdP's API: no Chromium), copied for each test. The schedule is read at a fixed time — the
setup's own finish plus so many days — by the scheduler a worker runs (``start_due``, and a
``Worker`` with its clock fixed); the runs it queues are moved by real ``vaultborn worker``
processes and answered by ``vaultborn approve``, as a person would.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.faults.clikit import assert_no_secret_at_rest, run_cli
from tests.graph.lifecycle_kit import TARGET, lifecycle_effects, secretsmanager
from vaultborn.runner.board import RunBoard
from vaultborn.runner.due import DueWork, due_work
from vaultborn.runner.plan_default import DEMO_AGENT, DEMO_MANAGEMENT, DEMO_SOME_API
from vaultborn.runner.run_facts import run_facts
from vaultborn.runner.runs import StateDb
from vaultborn.runner.scheduler import start_due
from vaultborn.runner.state_db import state_db
from vaultborn.runner.wiring import Settings
from vaultborn.runner.worker import Worker, WorkerConfig

DAY = 86400.0
EMAIL = "admin@example.com"


def _plan_text(email: str = EMAIL, schedule: str = 'rotate_every = "30d"\n') -> str:
    return f"""\
[idp]
management_client_id = "mgmt"
management_secret = "{DEMO_MANAGEMENT.reference}"
[break_glass]
email = "{email}"
item = "Auth0 — {email}"
enrollment = "api"
[agent]
client_id = "agent"
secret = "{DEMO_AGENT.reference}"
[[seed]]
from = "{DEMO_SOME_API.reference}"
to = "{TARGET}"
[schedule]
{schedule}"""


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Path:
    """A finished setup of the scheduled plan (copied, never changed); the package's ``home``
    copies this one for this module's tests."""
    folder = tmp_path_factory.mktemp("setup")
    plan = folder / "plan.toml"
    plan.write_text(_plan_text(), encoding="utf-8")
    home = folder / "home"
    # The package's moto server outlives other modules' revocations: start from an empty one.
    httpx.post(moto_endpoint + "/moto-api/reset").raise_for_status()
    done = run_cli(home, moto_endpoint, "setup", "--plan", str(plan), "--auto-approve", "--json")
    assert done.returncode == 0, done.stderr
    (home / "plan.toml").write_text(plan.read_text(encoding="utf-8"), encoding="utf-8")
    return home


def _db(home: Path) -> StateDb:
    return state_db(Settings(home=home), None)


def _rotation(db: StateDb, now: float) -> DueWork:
    (work,) = [w for w in due_work(run_facts(db), now) if w.kind == "rotate:client-secret"]
    return work


def _worker(db: StateDb, now: float, lines: list[str]) -> Worker:
    """A worker whose clock says ``now``; only its scheduling is used here."""
    runtimes: Any = SimpleNamespace(opts=SimpleNamespace(approval_ttl=3600.0, audit=None))
    return Worker(db, runtimes, WorkerConfig(), log=lines.append, now=lambda: now)


def _cli(home: Path, endpoint: str, outputs: list[str], *args: str) -> Any:
    done = run_cli(home, endpoint, *args)
    outputs.append(done.stdout + done.stderr)
    return done


def test_a_due_rotation_starts_once_waits_at_its_gates_and_moves_the_next_due_date(
    home: Path, moto_endpoint: str
) -> None:
    outputs: list[str] = []
    db = _db(home)
    before = _rotation(db, 0.0)
    setup_at = before.after_at
    assert before.due_at == setup_at + 30 * DAY

    # Nothing due: neither the scheduler at day 29 nor a real worker (its clock: now) start one.
    assert start_due(db, setup_at + 29 * DAY, session_ttl=3600.0, log=print) == []
    idle = _cli(home, moto_endpoint, outputs, "worker", "--exit-when-idle", "--json")
    assert idle.returncode == 0, idle.stderr
    assert json.loads(idle.stdout)["scheduled"] == 0
    assert json.loads(idle.stdout)["moved"] == 0

    # Due at day 30: two workers at once queue one run between them, and none again after.
    due_at = setup_at + 30 * DAY + 60
    lines: list[str] = []
    workers = [_worker(db, due_at, lines), _worker(db, due_at, lines)]
    threads = [threading.Thread(target=w._schedule) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(w.report.scheduled for w in workers) == 1, lines
    with RunBoard(db.url) as board:
        (queued,) = board.queued()
    run_id = queued.run_id
    assert run_id == before.run_id  # the id every worker works out for this period
    assert start_due(db, due_at, session_ttl=3600.0, log=print) == []

    # A real worker starts it: it waits for its vault session, as any run (no auto-approval).
    moved = _cli(home, moto_endpoint, outputs, "worker", "--exit-when-idle", "--json")
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["statuses"] == {"waiting": 1}
    assert _rotation(db, due_at).state == "running"
    assert start_due(db, due_at, session_ttl=3600.0, log=print) == []
    version = lifecycle_effects(home, moto_endpoint)["agent_version"]

    # A person approves each gate; the rotation finishes.
    for _ in range(12):
        answered = _cli(home, moto_endpoint, outputs, "approve", run_id, "--json")
        if answered.returncode != 3:
            break
    assert answered.returncode == 0, answered.stdout + answered.stderr
    # One new value and one retirement of the old: the rotation ran once.
    assert lifecycle_effects(home, moto_endpoint)["agent_version"] == version + 2

    # The next due date counts from the rotation's end, and nothing is due at the old time.
    after = _rotation(db, due_at)
    assert after.after == run_id
    assert after.due_at == after.after_at + 30 * DAY
    assert after.after_at > setup_at
    assert start_due(db, after.after_at + 29 * DAY, session_ttl=3600.0, log=print) == []
    listed = _cli(home, moto_endpoint, outputs, "schedule", "--json")
    assert listed.returncode == 0, listed.stderr
    (shown,) = json.loads(listed.stdout)
    assert (shown["kind"], shown["after"], shown["state"]) == ("rotate:client-secret", run_id,
                                                               "later")  # fmt: skip
    assert_no_secret_at_rest(home, outputs)


def test_a_scheduled_drift_that_finds_drift_is_audited(home: Path, moto_endpoint: str) -> None:
    outputs: list[str] = []
    db = _db(home)
    # A second account of the same chain, whose plan checks for drift daily.
    plan = home.parent / "drift.toml"
    plan.write_text(_plan_text("drift@example.com", 'drift_every = "1d"\n'), encoding="utf-8")
    done = _cli(home, moto_endpoint, outputs, "setup", "--plan", str(plan), "--auto-approve")
    assert done.returncode == 0, done.stderr
    (drift,) = [w for w in due_work(run_facts(db), 0.0) if w.kind == "drift"]
    assert drift.account == ("", "drift@example.com")
    assert start_due(db, drift.due_at - 1, session_ttl=3600.0, log=print) == []

    # Behind vaultborn's back: the store's value typed in by hand.
    secretsmanager(moto_endpoint).put_secret_value(
        SecretId=TARGET.split("/", 3)[3], SecretString="typed-in-by-hand-0123456789"
    )
    audit = db.audit_log()
    try:
        (queued,) = start_due(db, drift.due_at + 1, session_ttl=3600.0, log=print, audit=audit)
    finally:
        audit.close()
    assert queued == drift.run_id
    moved = _cli(home, moto_endpoint, outputs, "worker", "--exit-when-idle", "--json")
    assert json.loads(moved.stdout)["statuses"] == {"waiting": 1}, moved.stderr
    answered = _cli(home, moto_endpoint, outputs, "approve", queued, "--json")
    assert answered.returncode in (0, 1), answered.stdout + answered.stderr  # done, drifted
    assert json.loads(answered.stdout)["status"] == "done"
    shown = _cli(home, moto_endpoint, outputs, "show", queued, "--json")
    kinds = [r["kind"] for r in json.loads(shown.stdout)["audit"]]
    assert kinds[0] == "scheduled"
    found = [r for r in json.loads(shown.stdout)["audit"] if r["kind"] == "drift_found"]
    assert len(found) == 1
    assert found[0]["detail"]["drifted"] == [TARGET]
    assert_no_secret_at_rest(home, outputs)


def test_rotate_and_revoke_refuse_while_the_accounts_setup_is_unfinished(
    home: Path, moto_endpoint: str
) -> None:
    outputs: list[str] = []
    plan = home.parent / "late.toml"
    plan.write_text(_plan_text("late@example.com"), encoding="utf-8")
    waiting = _cli(home, moto_endpoint, outputs, "setup", "--plan", str(plan), "--json")
    assert waiting.returncode == 3, waiting.stderr
    setup_run = json.loads(waiting.stdout)["run_id"]
    for args in (("rotate", str(plan), "--what", "client-secret"), ("revoke", str(plan))):
        refused = _cli(home, moto_endpoint, outputs, *args, "--json")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"a setup for late@example.com is unfinished as {setup_run}" in refused.stderr
        assert f"vaultborn resume {setup_run}" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1


def test_a_waiting_drift_or_rotation_does_not_block_a_setup_but_a_second_rotation_is_refused(
    home: Path, moto_endpoint: str
) -> None:
    outputs: list[str] = []
    plan = home / "plan.toml"
    drift = _cli(home, moto_endpoint, outputs, "drift", str(plan), "--json")
    assert drift.returncode == 3, drift.stderr  # waits for its vault session
    rotation = _cli(home, moto_endpoint, outputs, "rotate", str(plan), "--json")
    assert rotation.returncode == 3, rotation.stderr
    first = json.loads(rotation.stdout)["run_id"]

    second = _cli(home, moto_endpoint, outputs, "rotate", str(plan), "--what", "store-secrets")
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"a rotate client-secret run for {EMAIL} is unfinished as {first}" in second.stderr

    setup = _cli(home, moto_endpoint, outputs, "setup", "--plan", str(plan), "--json")
    assert setup.returncode == 3, setup.stderr  # started: it waits for its vault session
    assert json.loads(setup.stdout)["status"] == "waiting"
