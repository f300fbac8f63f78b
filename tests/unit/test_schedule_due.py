"""The pure rules of scheduled lifecycle work: durations, the plan's [schedule], what is due
when (``runner.due``), and which unfinished run stops a new one (``runner.blocking``).

A fixed clock throughout: times are plain numbers of seconds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from vaultborn.core.errors import RunStateError, UsageError
from vaultborn.nodes.state import PlanData
from vaultborn.runner.blocking import RunFact, blocked_error, blocking_run
from vaultborn.runner.board import RunBoard
from vaultborn.runner.due import DueWork, due_work, parse_duration, scheduled_run_id
from vaultborn.runner.plan import default_plan, parse_plan

DAY = 86400.0
ACCOUNT = ("", "admin@example.com")
T0 = 1_800_000_000.0  # when the setup finished


def _plan(schedule: dict[str, Any] | None) -> PlanData:
    plan = default_plan().to_dict()
    if schedule is not None:
        plan["schedule"] = schedule  # type: ignore[typeddict-item]
    return plan


SCHEDULED = _plan({"drift_every": "1d", "rotate_every": "30d", "rotate": ["client-secret"]})


def _setup(status: str = "done", at: float | None = T0, plan: PlanData = SCHEDULED) -> RunFact:
    return RunFact("run-setup", "setup", ACCOUNT, status, at if status == "done" else None, plan)


def _run(run_id: str, kind: str, status: str, at: float | None = None) -> RunFact:
    return RunFact(run_id, kind, ACCOUNT, status, at, SCHEDULED)


def _by_kind(work: list[DueWork]) -> dict[str, DueWork]:
    return {w.kind: w for w in work}


# -- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("90m", 5400.0), ("12h", 43200.0), ("30d", 30 * DAY), ("2w", 14 * DAY)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.robustness("hostile input: the plan file")
@pytest.mark.parametrize("text", ["0d", "30", "d", "30 d", "1.5d", "-1d", "30D", "1y", "9999999d"])
def test_bad_durations_are_one_line(text: str) -> None:
    with pytest.raises(UsageError, match="expected a duration like 30d") as raised:
        parse_duration(text)
    assert "\n" not in str(raised.value)


# -- the plan's [schedule] ------------------------------------------------------------------

_BASE = """\
[idp]
management_client_id = "mgmt"
management_secret = "op://ACL/mgmt/password"
[break_glass]
email = "admin@example.com"
item = "Auth0 — admin@example.com"
[agent]
client_id = "agent"
secret = "op://ACL/agent/password"
"""


def test_a_schedule_is_part_of_the_plan_and_its_digest() -> None:
    plain = parse_plan(_BASE)
    scheduled = parse_plan(_BASE + '[schedule]\ndrift_every = "1d"\nrotate_every = "30d"\n'
                           'rotate = ["client-secret", "store-secrets"]\n')  # fmt: skip
    assert "schedule" not in plain.to_dict()  # plans without one keep their digest
    assert scheduled.to_dict()["schedule"] == {
        "drift_every": "1d", "rotate_every": "30d", "rotate": ["client-secret", "store-secrets"],
    }  # fmt: skip
    assert scheduled.digest != plain.digest
    only_rotate = parse_plan(_BASE + '[schedule]\nrotate_every = "4w"\n')
    assert only_rotate.to_dict()["schedule"] == {"rotate_every": "4w", "rotate": ["client-secret"]}


@pytest.mark.robustness("hostile input: the plan file")
@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('rotate_every = "thirty days"', "schedule.rotate_every: expected a duration like 30d"),
        ('drift_every = "0h"', "schedule.drift_every: expected a duration like 30d"),
        ('rotate_every = "30d"\nrotate = ["client-secret", "totp-seed"]',
         "schedule.rotate[1]: unknown credential 'totp-seed' (one of client-secret"),
        ('rotate_every = "30d"\nrotate = "client-secret"', "schedule.rotate: expected an array"),
        ('rotate_every = "30d"\nrotate = []', "schedule.rotate: expected an array"),
        ('rotate_every = "30d"\nrotate = ["client-secret", "client-secret"]',
         "schedule.rotate[1]: client-secret is named twice"),
        ('rotate = ["client-secret"]', "schedule.rotate: needs schedule.rotate_every"),
        ("", "schedule: names no work"),
        ('rotate_evry = "30d"', "unknown key schedule.rotate_evry (did you mean rotate_every?)"),
    ],
)  # fmt: skip
def test_a_bad_schedule_is_one_line_naming_the_key(table: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_plan(_BASE + "[schedule]\n" + table + "\n", "p.toml")
    assert str(raised.value).startswith("plan p.toml: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


# -- what is due ----------------------------------------------------------------------------


def test_nothing_is_due_before_the_interval() -> None:
    work = _by_kind(due_work([_setup()], T0 + DAY - 1))
    assert {w.state for w in work.values()} == {"later"}
    assert work["drift"].due_at == T0 + DAY
    assert work["rotate:client-secret"].due_at == T0 + 30 * DAY
    assert work["rotate:client-secret"].after == "run-setup"


def test_due_after_the_interval_with_one_run_id_for_every_worker() -> None:
    first = _by_kind(due_work([_setup()], T0 + 30 * DAY))
    again = _by_kind(due_work([_setup()], T0 + 30 * DAY + 3600))
    rotation = first["rotate:client-secret"]
    assert rotation.state == "due"
    assert rotation.run_id == again["rotate:client-secret"].run_id
    assert rotation.run_id == scheduled_run_id(ACCOUNT, "rotate:client-secret", "run-setup", 1)
    assert rotation.run_id.startswith("run-") and len(rotation.run_id) == 16
    assert first["drift"].state == "due"


def test_a_finished_rotation_moves_the_next_due_date() -> None:
    rotated = _run("run-rot", "rotate:client-secret", "done", T0 + 31 * DAY)
    work = _by_kind(due_work([rotated, _setup()], T0 + 40 * DAY))
    assert work["rotate:client-secret"].state == "later"
    assert work["rotate:client-secret"].after == "run-rot"
    assert work["rotate:client-secret"].due_at == T0 + 61 * DAY


def test_a_run_in_flight_is_not_started_again() -> None:
    facts = [_run("run-rot", "rotate:client-secret", "waiting"), _setup()]
    work = _by_kind(due_work(facts, T0 + 31 * DAY))
    assert (work["rotate:client-secret"].state, work["rotate:client-secret"].by) == (
        "running", "run-rot",
    )  # fmt: skip
    queued = [_run("run-rot", "rotate:client-secret", "queued"), _setup()]
    assert _by_kind(due_work(queued, T0 + 31 * DAY))["rotate:client-secret"].state == "running"


def test_a_rejected_scheduled_run_waits_for_the_next_period() -> None:
    run_id = scheduled_run_id(ACCOUNT, "rotate:client-secret", "run-setup", 1)
    facts = [_run(run_id, "rotate:client-secret", "rejected", T0 + 30 * DAY + 60), _setup()]
    work = _by_kind(due_work(facts, T0 + 31 * DAY))["rotate:client-secret"]
    assert (work.state, work.due_at) == ("later", T0 + 60 * DAY)
    later = _by_kind(due_work(facts, T0 + 60 * DAY))["rotate:client-secret"]
    assert later.state == "due" and later.run_id != run_id


def test_a_rotation_waits_for_an_unfinished_setup_or_another_rotation() -> None:
    resetting = RunFact("run-again", "setup", ACCOUNT, "waiting", None, SCHEDULED)
    work = _by_kind(due_work([resetting, _setup()], T0 + 31 * DAY))
    assert (work["rotate:client-secret"].state, work["rotate:client-secret"].by) == (
        "blocked", "run-again",
    )  # fmt: skip
    assert work["drift"].state == "due"  # a drift only reads
    other = _run("run-pw", "rotate:break-glass-password", "waiting")
    blocked = _by_kind(due_work([other, _setup()], T0 + 31 * DAY))["rotate:client-secret"]
    assert (blocked.state, blocked.by) == ("blocked", "run-pw")


def test_an_account_starts_one_rotation_at_a_time() -> None:
    both = _plan({"rotate_every": "30d", "rotate": ["client-secret", "store-secrets"]})
    work = _by_kind(due_work([_setup(plan=both)], T0 + 31 * DAY))
    first, second = work["rotate:client-secret"], work["rotate:store-secrets"]
    assert first.state == "due"
    assert (second.state, second.by) == ("blocked", first.run_id)


def test_unscheduled_unfinished_and_revoked_setups_schedule_nothing() -> None:
    assert due_work([_setup(plan=_plan(None))], T0 + 90 * DAY) == []
    assert due_work([_setup(status="waiting")], T0 + 90 * DAY) == []
    revoked = _run("run-rev", "revoke", "done", T0 + DAY)
    assert due_work([revoked, _setup()], T0 + 90 * DAY) == []


# -- which unfinished run stops a new one ---------------------------------------------------


@pytest.mark.parametrize(
    ("new", "running", "stops"),
    [
        ("setup", "setup", True),
        ("setup", "drift", False),
        ("setup", "rotate:client-secret", False),
        ("setup", "revoke", False),
        ("rotate:client-secret", "setup", True),
        ("revoke", "setup", True),
        ("rotate:client-secret", "rotate:client-secret", True),
        ("rotate:client-secret", "rotate:store-secrets", True),
        ("rotate:client-secret", "drift", False),
        ("revoke", "rotate:client-secret", False),
        ("drift", "setup", False),
        ("drift", "rotate:client-secret", False),
    ],
)
def test_what_stops_what(new: str, running: str, stops: bool) -> None:
    fact = RunFact("run-1", running, ACCOUNT, "waiting")
    assert (blocking_run(new, ACCOUNT, [fact]) is fact) is stops


def test_only_unfinished_runs_of_the_same_account_stop() -> None:
    finished = RunFact("run-1", "setup", ACCOUNT, "done", T0)
    elsewhere = RunFact("run-2", "setup", ("", "other@example.com"), "waiting")
    assert blocking_run("rotate:client-secret", ACCOUNT, [finished, elsewhere]) is None


def test_the_refusal_names_the_run_to_resume_or_cancel() -> None:
    error = blocked_error(RunFact("run-0123456789ab", "rotate:client-secret", ACCOUNT, "waiting"))
    assert isinstance(error, RunStateError) and error.exit_code == 1
    assert str(error) == (
        "a rotate client-secret run for admin@example.com is unfinished as run-0123456789ab "
        "(waiting); continue it with 'vaultborn resume run-0123456789ab' or end it with "
        "'vaultborn cancel run-0123456789ab --reason TEXT'"
    )


# -- queueing a scheduled run once ----------------------------------------------------------


def test_a_run_id_is_queued_once_however_many_queue_it(tmp_path: Path) -> None:
    first: Any = {"run_id": "run-0123456789ab", "plan": SCHEDULED, "lifecycle": "drift"}
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    results: list[bool] = []

    def queue() -> None:
        with RunBoard(url) as board:
            results.append(board.queue_start_once("run-0123456789ab", first))

    threads = [threading.Thread(target=queue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    with RunBoard(url) as board:
        assert [q.run_id for q in board.queued()] == ["run-0123456789ab"]
        board.mark("run-0123456789ab", "done")  # started and finished since: still not again
        assert board.queue_start_once("run-0123456789ab", first) is False
