"""Answering what a run waits for, from any process: ``approve``/``reject``/``edit`` and the inbox.

One path for every answer, so every rule holds for each of them: the answer names the digest
that was shown (by default the waiting one's), the run's gate parses it strictly (digest,
expiry, edit), a refused answer is audited and said in one line, and the run moves on in this
process (or, queued, in a worker's). A page or a prompt that showed an older interrupt names it:
an answer to an interrupt the run no longer waits at is refused and audited before the run is
touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from vaultborn.approvals.request import answer_for as bound_answer
from vaultborn.core.errors import RunStateError, UsageError
from vaultborn.nodes.gating import REFUSED
from vaultborn.runner.board import RunBoard
from vaultborn.runner.drive import drive_run
from vaultborn.runner.identity import os_identity
from vaultborn.runner.run_kind import is_host_run
from vaultborn.runner.runs import OnStep, RunView, StateDb, list_runs, view_run
from vaultborn.runner.runtime import RunOptions
from vaultborn.runner.wiring import Settings

__all__ = ["Answered", "answer_for", "answer_run", "the_waiting_run"]


@dataclass(frozen=True)
class Answered:
    """An answer given to a run.

    Attributes:
        run_id: The run.
        answer: The resume value given (decision, digest, approver, reason; or a hand-off's).
        view: Where the run stands after moving on; None when the answer was only queued.
    """

    run_id: str
    answer: dict[str, Any] = field(repr=False)
    view: RunView | None = None

    @property
    def queued(self) -> bool:
        """Whether the answer waits for a worker."""
        return self.view is None


def answer_for(
    waiting: Mapping[str, Any],
    decision: Mapping[str, Any],
    *,
    approver: str,
    digest: str | None = None,
    plan: bool = False,
) -> dict[str, Any]:
    """The resume value of ``decision`` for what waits, bound to its run and request.

    The binding (run, request id, digest) is filled by ``approvals.request.answer_for``, as
    for every answering path.

    Args:
        waiting: The interrupt's payload.
        decision: ``decision`` (approve, reject, edit), ``reason``, and ``args`` for an edit.
        approver: Who answers.
        digest: The digest the person reviewed (default: the waiting one's; an empty one stays
            empty and is refused).
        plan: Approve the plan offered with the vault session (its digest) instead.

    Raises:
        UsageError: ``plan`` where no plan is offered.
    """
    if plan and waiting.get("kind") != "human_step":
        offered = waiting.get("plan")
        if not offered:
            raise UsageError("no plan is offered here: --plan answers a run's first gate")
        digest = offered["digest"] if digest is None else digest
    return bound_answer(
        waiting, str(decision["decision"]), approver=approver,
        reason=str(decision.get("reason", "")), digest=digest, args=decision.get("args"),
    )  # fmt: skip


def answer_run(
    db: StateDb,
    settings: Settings,
    options: Callable[[], RunOptions],
    run: str | None,
    decision: Mapping[str, Any],
    *,
    approver: str,
    digest: str | None = None,
    plan: bool = False,
    queue: bool = False,
    interrupt_id: str | None = None,
    on_step: OnStep | None = None,
) -> Answered:
    """Answer what ``run`` (None: the one run that waits) waits for, and move it on.

    Args:
        db: The run database.
        settings: Backends and home, as the run is driven with.
        options: Policy, audit log, browser of this process (made only when the run is
            moved on or a refusal audited: a mistake about the run touches nothing).
        run: The run id, or None for the only waiting run.
        decision: ``decision`` (approve, reject, edit), ``reason``, and ``args`` for an edit.
        approver: Who answers (recorded).
        digest: The digest reviewed (default: the waiting one's).
        plan: Approve the plan offered at the first gate.
        queue: Record the answer only; a worker moves the run on.
        interrupt_id: The interrupt the answer was made for (a page's); another is refused.
        on_step: Watches each node of the run start and finish as it moves on (progress).

    Raises:
        UsageError: No such run, it does not wait, the answer was made for an interrupt it no
            longer waits at, or the gate refused it (the run asks again).
    """
    with db.open() as saver:
        view = view_run(saver, run) if run is not None else the_waiting_run(saver)
    run_id = view.run_id
    if view.status != "waiting" or view.waiting is None:
        if interrupt_id is not None:
            _stale(options(), run_id, f"the run is {view.status}")
        raise RunStateError(f"run {run_id} is not waiting for a decision (it is {view.status})")
    if interrupt_id is not None and interrupt_id != view.interrupt_id:
        _stale(options(), run_id, "it waits at a later interrupt")
    if queue and is_host_run(view.values):
        raise UsageError(
            f"run {run_id} is an MCP session's run: answer it without --queue (this command "
            "moves it on)"
        )
    answer = answer_for(view.waiting, decision, approver=approver, digest=digest, plan=plan)
    if queue:
        with RunBoard(db.url) as board:
            board.queue_answer(run_id, view.interrupt_id, answer)
        _audit_queued(options(), view, answer)
        return Answered(run_id, answer)
    after = drive_run(db, settings, options(), run_id, answer=answer, on_step=on_step)
    if after.reason.startswith(REFUSED):
        raise UsageError(f"{after.reason.removeprefix(REFUSED)} (the run asks again)")
    return Answered(run_id, answer, after)


def _audit_queued(opts: RunOptions, view: RunView, answer: Mapping[str, Any]) -> None:
    """Audit who queued ``answer``: here, where the process's uid is known (not the worker's)."""
    subject = str((view.waiting or {}).get("kind", "answer"))
    opts.audit.append(view.run_id, "queued", subject, {
        "decision": str(answer.get("decision", "done")), "digest": answer.get("digest", ""),
        "request_id": answer.get("request_id", ""),
        "approver": str(answer.get("approver") or answer.get("by")),
        "identity": os_identity(),
    })  # fmt: skip


def _stale(opts: RunOptions, run_id: str, why: str) -> None:
    """Refuse (and audit) an answer made for an interrupt the run no longer waits at."""
    opts.audit.append(
        run_id, "refused", "answer", {"why": f"stale: {why}", "identity": os_identity()}
    )
    raise UsageError(f"run {run_id} has moved on since this was shown ({why}); look again")


def the_waiting_run(saver: BaseCheckpointSaver[str]) -> RunView:
    """The one run that waits for an answer, when the command names none.

    Raises:
        UsageError: None waits, or several do.
    """
    waiting = [v for v in list_runs(saver) if v.status == "waiting"]
    if not waiting:
        raise RunStateError("no run waits for a decision (see 'vaultborn runs')")
    if len(waiting) > 1:
        names = ", ".join(v.run_id for v in waiting)
        raise UsageError(f"several runs wait ({names}); name the one to answer")
    return waiting[0]
