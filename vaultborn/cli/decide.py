"""Deciding: ``approve``, ``reject``, ``edit`` answer a waiting run; ``cancel`` ends a run.

``approve``, ``reject`` and ``edit`` answer what a run waits for, from any process; ``cancel``
ends a run that is not over, wherever it stopped.

Every answer is bound to what the command read as waiting: the run, the request's id and the
action's digest (``approvals.request.answer_for``); the approver is this process's OS account
by uid, and the audit row records the uid beside it (``identity``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from langgraph.checkpoint.base import BaseCheckpointSaver

from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.request import answer_for
from vaultborn.cli.driving import (
    Choices,
    current_user,
    drive,
    finish,
)
from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import prepare_database
from vaultborn.nodes.gating import REFUSED
from vaultborn.render import console, print_json
from vaultborn.runner.board import RunBoard
from vaultborn.runner.cancel import cancel_run
from vaultborn.runner.host_runs import is_host_run
from vaultborn.runner.identity import os_identity
from vaultborn.runner.runs import (
    RunView,
    list_runs,
    view_run,
)
from vaultborn.runner.state_db import state_db
from vaultborn.runner.wiring import Settings

__all__ = ["register"]


PANEL = "Decide"


def register(app: typer.Typer) -> None:
    """Add ``approve``, ``reject``, ``edit`` and ``cancel`` to ``app``."""
    app.command(rich_help_panel=PANEL)(approve)
    app.command(rich_help_panel=PANEL)(reject)
    app.command(rich_help_panel=PANEL)(edit)
    app.command(rich_help_panel=PANEL)(cancel)


DigestOpt = Annotated[
    str | None,
    typer.Option(
        "--digest", help="The digest you reviewed (default: the waiting one's; never empty)."
    ),
]

QueueOpt = Annotated[
    bool,
    typer.Option("--queue", help="Record the answer only; a 'vaultborn worker' moves the run on."),
]

WaitingRunArg = Annotated[
    str | None,
    typer.Argument(metavar="[RUN]", help="The run id (default: the one run that waits)."),
]


def approve(
    ctx: typer.Context,
    run: WaitingRunArg = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    digest: DigestOpt = None,
    queue: QueueOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve what the run waits for, then let it go on to the next gate."""
    _decide(ctx.obj, run, {"decision": "approve", "reason": reason}, digest, db, as_json,
            queue=queue)  # fmt: skip


def edit(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    changes: Annotated[
        list[str], typer.Argument(metavar="KEY=VALUE...", help="Argument values to change.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    digest: DigestOpt = None,
    queue: QueueOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change argument values of the waiting action; it is then asked again (new digest)."""
    args: dict[str, str] = {}
    for change in changes:
        key, sep, value = change.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {change!r}")
        args[key] = value
    answer = {"decision": "edit", "reason": reason, "args": args}
    _decide(ctx.obj, run, answer, digest, db, as_json, queue=queue)


def reject(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded; required).")],
    run: WaitingRunArg = None,
    queue: QueueOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject what the run waits for; the run ends cleanly and says why."""
    answer = {"decision": "reject", "reason": reason}
    _decide(ctx.obj, run, answer, None, db, as_json, queue=queue)


def cancel(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded; required).")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """End a run that is not over (waiting, failed, or stuck); nothing it made is undone.

    The run ends 'cancelled', audited with who and why; a new setup for its account may start.
    What it made (item, user, seeded targets) is listed, and stays in 'vaultborn show RUN'.
    """
    run_db = state_db(ctx.obj, db)
    prepare_database(run_db.url)
    audit = AuditLog(run_db.url)
    try:
        done = cancel_run(run_db, run, by=current_user(), reason=reason, identity=os_identity(),
                          audit=audit)  # fmt: skip
    finally:
        audit.close()
    if as_json:
        print_json(done.as_dict())
        return
    console.print(f"{run}: cancelled ({done.view.reason})", markup=False)
    for made in done.made:
        console.print(f"  it made {made}: it stays; take it down if it must go", markup=False)


def _decide(settings: Settings, run: str | None, decision: dict[str, Any], digest: str | None,
            db: str | None, as_json: bool, *, queue: bool = False) -> None:  # fmt: skip
    choices = Choices(db=db, interactive=False)
    with state_db(settings, db).open() as saver:
        view = view_run(saver, run) if run is not None else _the_waiting_run(saver)
    run = view.run_id
    if view.status != "waiting" or view.waiting is None:
        raise UsageError(f"run {run} is not waiting for a decision (it is {view.status})")
    waiting = view.waiting
    if queue and is_host_run(view.values):
        raise UsageError(
            f"run {run} is an MCP session's run: answer it without --queue (this command "
            "moves it on)"
        )
    # Bound to what was read as waiting: this run, this request, the digest reviewed. An
    # empty --digest stays empty (and is refused): it must never mean "whatever waits".
    answer = answer_for(
        waiting, decision["decision"], approver=current_user(), reason=decision["reason"],
        digest=digest, args=decision.get("args"),
    )  # fmt: skip
    if queue:
        _queue(settings, db, view, answer, as_json)
        return
    after = drive(settings, choices, run, None, answer=answer)
    if after.reason.startswith(REFUSED):
        raise UsageError(f"{after.reason.removeprefix(REFUSED)} (the run asks again)")
    finish(after, as_json)


def _queue(settings: Settings, db: str | None, view: RunView, answer: dict[str, Any],
           as_json: bool) -> None:  # fmt: skip
    """Queue ``answer`` for a worker; who queued it is audited here, where the uid is known."""
    run_db = state_db(settings, db)
    with RunBoard(run_db.url) as board:
        board.queue_answer(view.run_id, view.interrupt_id, answer)
    audit = AuditLog(run_db.url)
    try:
        subject = str((view.waiting or {}).get("kind", "answer"))
        audit.append(view.run_id, "queued", subject, {
            "decision": str(answer.get("decision", "done")), "digest": answer.get("digest", ""),
            "request_id": answer.get("request_id", ""),
            "approver": str(answer.get("approver") or answer.get("by")),
            "identity": os_identity(),
        })  # fmt: skip
    finally:
        audit.close()
    if as_json:
        print_json({"run_id": view.run_id, "status": "queued", "answer": answer})
    else:
        console.print(f"{view.run_id}: answer queued; a worker moves the run on", markup=False)


def _the_waiting_run(saver: BaseCheckpointSaver[str]) -> RunView:
    """The one run that waits for an answer, when the command names none."""
    waiting = [v for v in list_runs(saver) if v.status == "waiting"]
    if not waiting:
        raise UsageError("no run waits for a decision (see 'vaultborn runs')")
    if len(waiting) > 1:
        names = ", ".join(v.run_id for v in waiting)
        raise UsageError(f"several runs wait ({names}); name the one to answer")
    return waiting[0]
