"""What scheduled lifecycle work is due, and when: pure decisions over the runs of the database.

A setup's plan may name a schedule (``[schedule]``: ``drift_every``, and ``rotate_every`` with
the credentials in ``rotate``). The setup of an account is its newest finished setup run; its
plan's schedule is the account's. Each scheduled kind of run (``drift``, ``rotate:<what>``)
is due ``every`` after the last finished run of that kind for the account (or, before the
first, after the setup finished) — times read from the run database, never from a clock file.

A due run gets a run id of its own, the same for every worker that works it out: a digest of
the account, the kind, the run it follows and how many periods have passed since. So two
workers, or a worker restarted, name the same run and start it once; a run of that id that a
person rejected is not started again before the next period. A kind with a run in flight waits
for it; a rotation waits too for an unfinished setup or another rotation of the account
(``runner.blocking``), and an account starts one rotation at a time. A chain taken down by a
finished ``revoke`` (after its setup) has nothing scheduled.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from vaultborn.core.errors import UsageError
from vaultborn.nodes.state import ScheduleData
from vaultborn.runner.blocking import RunFact, blocking_run

__all__ = ["DueWork", "due_work", "parse_duration", "scheduled_kinds", "scheduled_run_id"]

_DURATION = re.compile(r"([1-9][0-9]{0,5})([mhdw])")
_UNIT = {"m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``90m``, ``12h``, ``30d`` or ``2w``.

    Raises:
        UsageError: Not a whole number above 0 followed by m, h, d or w.
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise UsageError(
            f"expected a duration like 30d, 12h, 90m or 2w (a whole number above 0 and m, h, d "
            f"or w), got {text[:40]!r}"
        )
    return int(match[1]) * _UNIT[match[2]]


def scheduled_kinds(schedule: ScheduleData) -> list[tuple[str, str]]:
    """The kinds of run ``schedule`` names, each with its interval as written, drift first."""
    kinds = [("drift", schedule["drift_every"])] if "drift_every" in schedule else []
    if "rotate_every" in schedule:
        kinds += [(f"rotate:{what}", schedule["rotate_every"]) for what in schedule["rotate"]]
    return kinds


def scheduled_run_id(account: tuple[str, str], kind: str, after: str, period: int) -> str:
    """The id of the ``kind`` run due ``period`` intervals after the run ``after`` finished."""
    key = f"schedule|{account[0]}|{account[1]}|{kind}|{after}|{period}"
    return "run-" + hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class DueWork:
    """One kind of scheduled run of one account, and where it stands.

    Attributes:
        account: The IdP domain ("" for the embedded one) and the break-glass e-mail.
        kind: ``drift`` or ``rotate:<what>``.
        every: The interval as the plan writes it.
        setup_run: The setup whose plan schedules it (and which the run works on).
        after: The run the interval counts from: the last finished run of ``kind``, or the setup.
        after_at: When ``after`` finished (UNIX time).
        due_at: When the next run is due (UNIX time).
        state: ``due`` (start ``run_id`` now), ``later``, ``running`` (``by`` is in flight) or
            ``blocked`` (``by`` must finish first).
        run_id: The run that starts when it is due.
        by: The run in flight or in the way ("" for none).
    """

    account: tuple[str, str]
    kind: str
    every: str
    setup_run: str
    after: str
    after_at: float
    due_at: float
    state: str
    run_id: str
    by: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "account": self.account[1],
            "domain": self.account[0],
            "kind": self.kind,
            "every": self.every,
            "setup_run": self.setup_run,
            "after": self.after,
            "after_at": self.after_at,
            "due_at": self.due_at,
            "state": self.state,
            "run_id": self.run_id,
            "by": self.by,
        }


def _newest_done(facts: Sequence[RunFact], account: tuple[str, str], kind: str) -> RunFact | None:
    done = [
        f
        for f in facts
        if f.account == account and f.kind == kind and f.status == "done"
        and f.finished_at is not None
    ]  # fmt: skip
    return max(done, key=lambda f: f.finished_at or 0.0, default=None)


def due_work(facts: Sequence[RunFact], now: float) -> list[DueWork]:
    """Every scheduled kind of run of every set-up account, and whether it is due at ``now``."""
    accounts = sorted({f.account for f in facts if f.kind == "setup"})
    out: list[DueWork] = []
    for account in accounts:
        setup = _newest_done(facts, account, "setup")
        if setup is None or setup.plan is None or "schedule" not in setup.plan:
            continue
        revoked = _newest_done(facts, account, "revoke")
        if revoked is not None and (revoked.finished_at or 0.0) > (setup.finished_at or 0.0):
            continue
        starting = ""  # one rotation of an account at a time
        for kind, every in scheduled_kinds(setup.plan["schedule"]):
            work = _work_on(facts, account, setup, kind, every, now)
            if work.state == "due" and kind.startswith("rotate:"):
                if starting:
                    work = replace(work, state="blocked", by=starting)
                else:
                    starting = work.run_id
            out.append(work)
    return out


def _work_on(
    facts: Sequence[RunFact],
    account: tuple[str, str],
    setup: RunFact,
    kind: str,
    every: str,
    now: float,
) -> DueWork:
    seconds = parse_duration(every)
    last = _newest_done(facts, account, kind) or setup
    after_at = last.finished_at or 0.0
    # Whole periods since: a run due long ago (the worker was down) starts once, not per period.
    period = max(1, math.floor((now - after_at) / seconds))
    run_id = scheduled_run_id(account, kind, last.run_id, period)
    work = DueWork(account, kind, every, setup.run_id, last.run_id, after_at,
                   after_at + seconds, "later", run_id)  # fmt: skip
    in_flight = next(
        (f for f in facts if f.account == account and f.kind == kind and f.unfinished), None
    )
    if in_flight is not None:
        return replace(work, state="running", by=in_flight.run_id)
    if now < work.due_at:
        return work
    if any(f.run_id == run_id for f in facts):
        # This period's run ended without finishing the work (a person rejected or cancelled
        # it): the next period's is the next try.
        return replace(work, due_at=after_at + (period + 1) * seconds, by=run_id)
    blocker = blocking_run(kind, account, facts)
    if blocker is not None:
        return replace(work, state="blocked", by=blocker.run_id)
    return replace(work, state="due")
