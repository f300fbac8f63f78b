"""Driving one run until it is done or waits at a gate nobody here answers.

The loop that both ``vaultborn setup``/``resume``/``approve`` and ``run_setup`` use: take the
run's lease, open its clients (``open_runtime``), advance it, and while it waits ask
``on_gate`` — the terminal's prompt, a program's callback — for an answer. An answer of None
leaves the run waiting; its answer can come later from anywhere (``vaultborn approve``).

A Ctrl-C (``KeyboardInterrupt``) anywhere in it stops the run cleanly: the step in flight is
cancelled, Chromium closed, a run stopped mid-step marked ``interrupted``, and ``Interrupted``
raised with the command that goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from vaultborn.approvals.request import checked_ttl
from vaultborn.core.errors import (
    ConfigurationError,
    Interrupted,
    ServiceError,
    UsageError,
    VaultbornError,
)
from vaultborn.graphs.checkpoint import prepare_database
from vaultborn.graphs.state import PlanData, SetupState
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.gating import REFUSED
from vaultborn.runner.leases import hold_run
from vaultborn.runner.plan import Plan
from vaultborn.runner.run_kind import is_host_run
from vaultborn.runner.runs import (
    OnStep,
    RunView,
    StateDb,
    advance,
    mark_interrupted,
    view_run,
)
from vaultborn.runner.runtime import RunOptions, open_runtime
from vaultborn.runner.state_db import home_of
from vaultborn.runner.wiring import Settings, open_vault

__all__ = ["OnGate", "drive_run", "first_state", "stored_plan"]

OnGate = Callable[[dict[str, Any]], object]
"""Given what a run waits for (the interrupt's payload), the answer to resume it with, or None
to leave it waiting. Answers are the CLI's (``approvals.request.answer_for`` builds them):
``{"decision": "approve", "digest": …, "run_id": …, "request_id": …, "approver": …,
"reason": …}`` (or ``reject``/``edit``), ``{"done": True, "by": …}`` for a hand-off."""


def first_state(plan: Plan, run_id: str, session_ttl: float) -> SetupState:
    """The first state of a new run of ``plan``.

    Raises:
        ValueError, TypeError: ``session_ttl`` is not a finite number of seconds up to 30 days
            (it is kept in the state, where nothing could answer a request built from it).
    """
    checked_ttl(session_ttl, "session_ttl")
    return {
        "run_id": run_id,
        "plan": plan.to_dict(),
        "plan_digest": plan.digest,
        "started_at": time.time(),
        "session_ttl": session_ttl,
        "status": "running",
    }


def stored_plan(db: StateDb, run_id: str) -> PlanData:
    """The plan a run was started with, from its checkpoints.

    Raises:
        UsageError: There is no such run.
    """
    with db.open() as saver:
        plan: PlanData = view_run(saver, run_id).values["plan"]
    return plan


def drive_run(
    db: StateDb,
    settings: Settings,
    opts: RunOptions,
    run_id: str,
    *,
    first: SetupState | None = None,
    answer: object = None,
    on_gate: OnGate | None = None,
    on_step: OnStep | None = None,
) -> RunView:
    """Advance ``run_id`` and answer its gates with ``on_gate`` until nothing is left to do.

    ``on_step`` watches each node start and finish (progress lines).

    The run starts from ``first`` (a new run) or resumes with ``answer``; it ends done,
    rejected or failed, or is left waiting where ``on_gate`` (or its absence) gives no answer.

    Raises:
        ServiceError, ConfigurationError: A system failed; the message says how to resume
            when the run has kept its progress.
        UsageError: The run is held by another process, or does not exist.
        Interrupted: A person pressed Ctrl-C; the message says how to go on.
    """
    stored = None if first else _stored_values(db, run_id)
    plan: Any = first["plan"] if first else stored["plan"]  # type: ignore[index]
    # An MCP session's run (runner.host_runs) is moved the same way, with its own graph.
    host = stored is not None and is_host_run(stored)
    prepare_database(db.url)
    # The lease first: a second process learns who holds the run before starting anything.
    with hold_run(db.url, run_id):
        try:
            vault = open_vault(settings.for_plan(plan["vault"]["backend"]))
            with open_runtime(vault, plan, home_of(settings), opts) as deps:
                if host:
                    # Loaded for a host run only: the agent graph brings LangChain's models.
                    from vaultborn.runner.host_runs import move_host_run

                    moved = move_host_run(db, deps, run_id, answer=answer, hold=False)
                    return asyncio.run(moved)
                return _converse(db, deps, run_id, first, answer, on_gate, on_step)
        except (ServiceError, ConfigurationError) as stopped:
            if _saved(db, run_id):
                stopped.with_hint(f"the run keeps its progress: vaultborn resume {run_id}")
            raise
        except KeyboardInterrupt:
            raise _interrupted(db, run_id, host=host) from None


def _converse(
    db: StateDb,
    deps: Deps,
    run_id: str,
    first: SetupState | None,
    answer: object,
    on_gate: OnGate | None,
    on_step: OnStep | None = None,
) -> RunView:
    """One event loop for the whole conversation, so the run's one Chromium serves every step.

    ``on_gate`` is asked on this thread between moves, the loop idle meanwhile (Chromium's
    driver keeps what it has to say until the next move reads it): a Ctrl-C at a prompt is
    then a plain ``KeyboardInterrupt`` here, not one in a worker thread that the loop's
    shutdown would wait for.

    Raises:
        UsageError: ``on_gate`` gave an answer the gate refused (not bound to what waits,
            expired …): the run asks again, and asking the same callback again could loop
            for ever, so the refusal is said instead.
    """
    with asyncio.Runner() as loop:
        try:
            view = loop.run(advance(db, deps, run_id, start=first, answer=answer, on_step=on_step))
            while view.status == "waiting" and on_gate is not None and view.waiting:
                reply = on_gate(view.waiting)
                if reply is None:
                    break
                view = loop.run(advance(db, deps, run_id, answer=reply, on_step=on_step))
                if view.reason.startswith(REFUSED):
                    raise UsageError(f"{view.reason.removeprefix(REFUSED)} (the run asks again)")
            return view
        finally:
            loop.run(deps.browser.pool.close())


def _interrupted(db: StateDb, run_id: str, *, host: bool) -> Interrupted:
    """What a Ctrl-C left (a run in mid-step marked ``interrupted``), and how to go on."""
    try:
        with db.open() as saver:
            view = view_run(saver, run_id)
    except VaultbornError:
        return Interrupted("interrupted before the run's first checkpoint: nothing was done")
    if view.status == "waiting":
        return Interrupted(
            f"interrupted; {run_id} still waits for its answer, which any shell can give "
            f"(vaultborn approve/reject {run_id}); to be asked here again: "
            f"vaultborn resume {run_id}"
        )
    if view.status in ("done", "rejected", "cancelled"):
        return Interrupted(f"interrupted; {run_id} is {view.status}")
    if not host:
        view = mark_interrupted(db, run_id, at=time.time())
    during = ",".join(view.next) or "a step"
    return Interrupted(
        f"interrupted during {during}; {run_id} keeps its progress: vaultborn resume {run_id}"
    )


def _stored_values(db: StateDb, run_id: str) -> dict[str, Any]:
    with db.open() as saver:
        return dict(view_run(saver, run_id).values)


def _saved(db: StateDb, run_id: str) -> bool:
    """Whether ``run_id`` has a checkpoint (a stop before its first one leaves nothing)."""
    try:
        with db.open() as saver:
            view_run(saver, run_id)
    except VaultbornError:
        return False
    return True
