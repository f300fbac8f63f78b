"""Start the scheduled lifecycle work that is due: what a ``worker`` does between runs.

``runner.due`` says what is due; here each due run is queued on the run board under its own
run id (the worker then starts it as any queued run), with the account's lease held while the
runs are read again and the run is queued — so a ``rotate`` a person starts meanwhile is seen —
and only if no run of that id is on the board (``RunBoard.queue_start_once``, one write
transaction): two workers, or a worker restarted, queue it once. A scheduled run is a run like any
other: it asks for its vault session and at each gate (a person answers with ``approve``, the
inbox or a saved plan), unless the worker's policy decides.
"""

from __future__ import annotations

from collections.abc import Callable

from vaultborn.approvals.audit import AuditLog
from vaultborn.core.errors import VaultbornError
from vaultborn.runner.board import RunBoard
from vaultborn.runner.due import DueWork, due_work
from vaultborn.runner.leases import RunBusy, hold_run
from vaultborn.runner.lifecycle import Subject, lifecycle_start
from vaultborn.runner.run_facts import run_facts
from vaultborn.runner.runs import StateDb

__all__ = ["start_due"]


def start_due(
    db: StateDb,
    now: float,
    *,
    session_ttl: float,
    log: Callable[[str], None],
    audit: AuditLog | None = None,
) -> list[str]:
    """Queue every scheduled run due at ``now``; the ids of those this call queued.

    Args:
        db: The run database.
        now: The time the schedule is read at (UNIX time; tests pass a fixed one).
        session_ttl: How long each run's vault session request stays answerable.
        log: Where one line per run queued (or left to another process) goes.
        audit: Where each start is recorded (``scheduled``), if given.
    """
    queued = []
    for work in due_work(run_facts(db), now):
        if work.state != "due":
            continue
        domain, email = work.account
        try:
            with hold_run(db.url, f"account:{domain}:{email}", label=f"a run for {email}"):
                if _queue(db, work, now, session_ttl):
                    queued.append(work.run_id)
        except RunBusy:
            log(f"{work.kind} of {email}: due, but the account is busy; next time")
            continue
        except VaultbornError as error:
            log(f"{work.kind} of {email}: due, but not started: {error}")
            continue
        if work.run_id in queued:
            log(f"{work.run_id}: {work.kind} of {email} due (every {work.every}): queued")
            if audit is not None:
                audit.append(work.run_id, "scheduled", work.kind, {
                    "setup_run": work.setup_run, "after": work.after, "due_at": work.due_at,
                    "every": work.every,
                })  # fmt: skip
    return queued


def _queue(db: StateDb, work: DueWork, now: float, session_ttl: float) -> bool:
    """Queue ``work``'s run if it is still due once the account is ours; whether it was."""
    facts = run_facts(db)
    again = next(
        (w for w in due_work(facts, now) if w.account == work.account and w.kind == work.kind),
        None,
    )
    if again is None or again.state != "due" or again.run_id != work.run_id:
        return False  # another process started it (or another rotation) meanwhile
    setup = next(f for f in facts if f.run_id == work.setup_run)
    assert setup.plan is not None  # noqa: S101 (due_work schedules only setups with a plan)
    subject = Subject(setup.plan, setup.plan_digest, setup.run_id)
    first = lifecycle_start(subject, work.run_id, work.kind, session_ttl)
    with RunBoard(db.url) as board:
        return board.queue_start_once(work.run_id, first)
