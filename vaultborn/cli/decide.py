"""Deciding: ``approve``, ``reject``, ``edit`` answer a waiting run; ``cancel`` ends a run.

``approve``, ``reject`` and ``edit`` answer what a run waits for, from any process; ``cancel``
ends a run that is not over, wherever it stopped.

Every answer is bound to what the command read as waiting: the run, the request's id and the
action's digest (``approvals.request.answer_for``); the approver is this process's OS account
by uid, and the audit row records the uid beside it (``identity``).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Any

import typer

from vaultborn.cli.driving import Choices, RunWatch, current_user, finish, run_options
from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import prepare_database
from vaultborn.render import console, print_json
from vaultborn.runner.answering import answer_run
from vaultborn.runner.cancel import cancel_run
from vaultborn.runner.identity import os_identity
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
    plan: Annotated[
        bool,
        typer.Option(
            "--plan", help="At the first gate: approve the session and every action of the plan."
        ),
    ] = False,
    queue: QueueOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve what the run waits for, then let it go on to the next gate."""
    answer = {"decision": "approve", "reason": reason}
    _decide(ctx.obj, run, answer, digest, db, as_json, queue=queue, plan=plan)


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
    audit = run_db.audit_log()
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
            db: str | None, as_json: bool, *, queue: bool = False,
            plan: bool = False) -> None:  # fmt: skip
    choices = Choices(db=db, interactive=False, report=not as_json)
    run_db = state_db(settings, db)

    def report(run_id: str, node: str, update: dict[str, Any] | None) -> None:
        RunWatch(run_db, run_id).step(run_id, node, update)

    with ExitStack() as stack:
        answered = answer_run(
            run_db, settings, lambda: run_options(settings, choices, stack), run,
            decision, approver=current_user(), digest=digest, plan=plan, queue=queue,
            on_step=report if choices.report else None,
        )  # fmt: skip
    if answered.view is not None:
        finish(answered.view, as_json)
    elif as_json:
        print_json({"run_id": answered.run_id, "status": "queued", "answer": answered.answer})
    else:
        console.print(f"{answered.run_id}: answer queued; a worker moves the run on", markup=False)
