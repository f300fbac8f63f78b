"""Deciding: ``approve``, ``reject`` and ``edit`` answer what a run waits for, from any process."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from langgraph.checkpoint.base import BaseCheckpointSaver

from vaultborn.cli.driving import (
    Choices,
    current_user,
    drive,
    finish,
)
from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.core.errors import RunStateError, UsageError
from vaultborn.nodes.gating import REFUSED
from vaultborn.render import console, print_json
from vaultborn.runner.board import RunBoard
from vaultborn.runner.host_runs import is_host_run
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
    """Add ``approve``, ``reject`` and ``edit`` to ``app``."""
    app.command(rich_help_panel=PANEL)(approve)
    app.command(rich_help_panel=PANEL)(reject)
    app.command(rich_help_panel=PANEL)(edit)


DigestOpt = Annotated[
    str | None,
    typer.Option("--digest", help="The digest you reviewed (default: the waiting one's)."),
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
    answer = {"decision": "approve", "reason": reason}
    _decide(ctx.obj, run, answer, digest, db, as_json, queue=queue)


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


def _decide(settings: Settings, run: str | None, decision: dict[str, Any], digest: str | None,
            db: str | None, as_json: bool, *, queue: bool = False) -> None:  # fmt: skip
    choices = Choices(db=db, interactive=False, report=not as_json)
    with state_db(settings, db).open() as saver:
        view = view_run(saver, run) if run is not None else _the_waiting_run(saver)
    run = view.run_id
    if view.status != "waiting" or view.waiting is None:
        raise RunStateError(f"run {run} is not waiting for a decision (it is {view.status})")
    waiting = view.waiting
    if queue and is_host_run(view.values):
        raise UsageError(
            f"run {run} is an MCP session's run: answer it without --queue (this command "
            "moves it on)"
        )
    if waiting.get("kind") == "human_step":
        answer: dict[str, Any] = {"done": decision["decision"] == "approve", "by": current_user()}
    else:
        answer = {**decision, "digest": digest or waiting["digest"], "approver": current_user()}
    if queue:
        with RunBoard(state_db(settings, db).url) as board:
            board.queue_answer(run, view.interrupt_id, answer)
        if as_json:
            print_json({"run_id": run, "status": "queued", "answer": answer})
        else:
            console.print(f"{run}: answer queued; a worker moves the run on", markup=False)
        return
    after = drive(settings, choices, run, None, answer=answer)
    if after.reason.startswith(REFUSED):
        raise UsageError(f"{after.reason.removeprefix(REFUSED)} (the run asks again)")
    finish(after, as_json)


def _the_waiting_run(saver: BaseCheckpointSaver[str]) -> RunView:
    """The one run that waits for an answer, when the command names none."""
    waiting = [v for v in list_runs(saver) if v.status == "waiting"]
    if not waiting:
        raise RunStateError("no run waits for a decision (see 'vaultborn runs')")
    if len(waiting) > 1:
        names = ", ".join(v.run_id for v in waiting)
        raise UsageError(f"several runs wait ({names}); name the one to answer")
    return waiting[0]
