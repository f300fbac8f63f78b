"""``vaultborn setup`` and the commands around a run.

``plan``, ``resume``, ``approve``, ``reject``, ``edit``, ``show``, ``audit verify`` (``runs`` and
``approvals`` only look, and live in ``cli_look``).

``setup`` runs until done or a gate. In a terminal it asks at each gate; without one (or with
``--json``) it exits 3 and prints what waits, and ``approve``/``reject``/``resume`` — from any
process — move the run on.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.base import BaseCheckpointSaver

from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.policy import Policy
from vaultborn.browser.handoff import terminal_handoff
from vaultborn.browser.pool import BrowserPool
from vaultborn.cli_options import DbOpt, JsonOpt
from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import database_url
from vaultborn.graphs.state import SetupState
from vaultborn.nodes.deps import BrowserChoice
from vaultborn.nodes.gating import REFUSED
from vaultborn.nodes.steps import STEPS
from vaultborn.prompts import ask_human, ask_session, describe_waiting
from vaultborn.render import console, print_json
from vaultborn.runner.board import RunBoard
from vaultborn.runner.drive import drive_run, first_state
from vaultborn.runner.fleet import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    account_of,
    plan_fleet,
    plans_in,
    run_fleet,
)
from vaultborn.runner.host_runs import is_host_run
from vaultborn.runner.leases import hold_run
from vaultborn.runner.plan import Plan, load_plan
from vaultborn.runner.plan_check import check_plan, projected_actions
from vaultborn.runner.runs import (
    RunView,
    StateDb,
    history,
    list_runs,
    new_run_id,
    view_run,
)
from vaultborn.runner.runtime import RunOptions
from vaultborn.runner.runtime_cache import RuntimeCache
from vaultborn.runner.state_db import home_of, state_db
from vaultborn.runner.wiring import Settings, open_vault

__all__ = ["approval_ttl", "plan_for", "register_setup_commands"]

EXIT_WAITING = 3
TTL_ENV = "VAULTBORN_APPROVAL_TTL"
"""Seconds an approval request stays answerable (default 3600)."""

PlanOpt = Annotated[
    Path | None, typer.Option("--plan", help="The setup plan (TOML); default: the embedded demo.")
]
PolicyOpt = Annotated[
    Path | None,
    typer.Option("--policy", help="Approval policy (TOML); default: ask before every effect."),
]
AutoOpt = Annotated[
    bool,
    typer.Option(
        "--auto-approve", help="Approve what the policy would ask; recorded with your user name."
    ),
]
HeadedOpt = Annotated[bool, typer.Option("--headed", help="Show the browser window.")]


@dataclass(frozen=True)
class Choices:
    plan: Path | None = None
    policy: Path | None = None
    auto_approve: bool = False
    headed: bool = False
    interactive: bool = False
    db: str | None = None


def register_setup_commands(app: typer.Typer) -> None:
    """Add the setup-run commands to ``app``."""
    app.command()(setup)
    app.command("plan")(plan_command)
    app.command()(resume)
    app.command()(approve)
    app.command()(reject)
    app.command()(edit)
    app.command()(show)
    app.add_typer(audit_app, name="audit")


def run_options(settings: Settings, choices: Choices, stack: ExitStack) -> RunOptions:
    """Policy, audit log, approver and browser of this invocation (closed with ``stack``)."""
    # Only the steps' names (and vault_session): a misspelt action would silently fall back to
    # the default rule, and a "deny" would not deny.
    policy = (
        Policy.from_file(choices.policy, known=STEPS.keys()) if choices.policy else Policy.default()
    )
    audit = AuditLog(state_db(settings, choices.db).url)
    stack.callback(audit.close)
    on_human = (
        terminal_handoff(sys.stdin, sys.stderr) if choices.headed and choices.interactive else None
    )
    return RunOptions(
        approval_ttl=approval_ttl(),
        policy=policy,
        audit=audit,
        auto_approver=_me() if choices.auto_approve else None,
        browser=BrowserChoice(
            headed=choices.headed, on_human=on_human, pool=BrowserPool(headed=choices.headed)
        ),
    )


def approval_ttl() -> float:
    """Seconds an approval request stays answerable (``$VAULTBORN_APPROVAL_TTL``, 3600)."""
    text = os.environ.get(TTL_ENV) or "3600"
    try:
        ttl = float(text)
    except ValueError:
        ttl = -1.0
    if not ttl > 0:
        raise UsageError(f"{TTL_ENV} must be a positive number of seconds, got {text!r}")
    return ttl


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown-user"


def _drive(settings: Settings, choices: Choices, run_id: str, first: SetupState | None,
           answer: object = None) -> RunView:  # fmt: skip
    """Advance the run; in a terminal, keep asking at each gate until done or declined."""
    with ExitStack() as stack:
        opts = run_options(settings, choices, stack)
        return drive_run(
            state_db(settings, choices.db), settings, opts, run_id, first=first, answer=answer,
            on_gate=_ask if choices.interactive else None,
        )  # fmt: skip


def _ask(waiting: dict[str, Any]) -> object:
    kind = waiting.get("kind")
    if kind == "human_step":
        return ask_human(waiting, _me())
    return ask_session(waiting, _me())


def _finish(view: RunView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
    elif view.status == "waiting" and view.waiting is not None:
        console.print(f"{view.run_id}: waiting — {describe_waiting(view.waiting)}", markup=False)
        console.print(
            f"  approve: vaultborn approve {view.run_id}   reject: vaultborn reject "
            f"{view.run_id} --reason TEXT",
            markup=False,
        )
    else:
        reason = f" ({view.reason})" if view.reason else ""
        console.print(f"{view.run_id}: {view.status}{reason}", markup=False)
    if view.status == "waiting":
        raise typer.Exit(EXIT_WAITING)
    if view.status == "done" and is_host_run(view.values):
        console.print(
            f"  the MCP client {view.values['client']} gets the result when it asks again",
            markup=False,
        )
    if view.status in ("rejected", "failed"):
        raise typer.Exit(1)


PlansOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--plan", help="A setup plan (TOML); repeat for several runs. Default: the embedded demo."
    ),
]


def setup(
    ctx: typer.Context,
    plan: PlansOpt = None,
    plan_dir: Annotated[
        Path | None,
        typer.Option("--plan-dir", help="Run every *.toml plan in this folder, concurrently."),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", help="With several plans: runs moving at once.", min=1, max=MAX_LIMIT
        ),
    ] = DEFAULT_LIMIT,
    queue: Annotated[
        bool,
        typer.Option("--queue", help="Only queue the run(s): a 'vaultborn worker' moves them."),
    ] = False,
    run: Annotated[str | None, typer.Option("--run", help="Continue this run instead.")] = None,
    policy: PolicyOpt = None,
    auto_approve: AutoOpt = False,
    headed: HeadedOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set up the agent's credential chain (the embedded demo without --plan).

    With several --plan or a --plan-dir, the runs go at once in this process (sharing one
    browser and token cache), each until done or its first gate; nobody is asked in between.
    """
    paths = [*(plan or []), *(plans_in(plan_dir) if plan_dir else [])]
    several = len(paths) > 1 or plan_dir is not None
    interactive = _interactive(as_json) and not several and not queue
    choices = Choices(paths[0] if paths else None, policy, auto_approve, headed, interactive, db)
    if run is not None:
        if paths or queue:
            raise UsageError("--run continues one run: it takes no --plan, --plan-dir or --queue")
        _finish(_drive(ctx.obj, choices, run, None), as_json)
        return
    plans = [plan_for(path, ctx.obj) for path in paths] if paths else [plan_for(None, ctx.obj)]
    run_db = state_db(ctx.obj, choices.db)
    with run_db.open():  # a damaged or locked database says so before a lease is written
        pass
    if queue:
        _queue_runs(plans, run_db, as_json)
    elif several:
        _run_several(ctx.obj, choices, plans, run_db, concurrency, as_json)
    else:
        _run_one(ctx.obj, choices, plans[0], run_db, as_json)


def _first_state(plan: Plan, run_id: str) -> SetupState:
    return first_state(plan, run_id, approval_ttl())


def _run_one(
    settings: Settings, choices: Choices, plan: Plan, run_db: StateDb, as_json: bool
) -> None:
    domain, email = account_of(plan.to_dict())
    # Held from the check until the run's first checkpoint and beyond: two setups started at
    # once would both pass the check and race each other for the same user and item.
    with hold_run(run_db.url, f"account:{domain}:{email}", label=f"a setup for {email}"):
        run_id = new_run_id()
        items = plan_fleet([plan], run_db, lambda p, _: _first_state(p, run_id))
        view = _drive(settings, choices, run_id, items[0].first)
    _finish(view, as_json)


def _run_several(settings: Settings, choices: Choices, plans: list[Plan], run_db: StateDb,
                 limit: int, as_json: bool) -> None:  # fmt: skip
    items = plan_fleet(plans, run_db, _first_state)
    with ExitStack() as stack:
        runtimes = stack.enter_context(
            RuntimeCache(settings, home_of(settings), run_options(settings, choices, stack))
        )
        outcomes = asyncio.run(run_fleet(items, db=run_db, runtimes=runtimes, limit=limit))
    if as_json:
        print_json([o.as_dict() for o in outcomes])
    else:
        for o in outcomes:
            reason = f" ({o.reason})" if o.reason else ""
            waits = f" — {describe_waiting(o.waiting)}" if o.waiting else ""
            console.print(f"{o.run_id} {o.source}: {o.status}{reason}{waits}", markup=False)
    statuses = {o.status for o in outcomes}
    if statuses & {"failed", "rejected"}:
        raise typer.Exit(1)
    if "waiting" in statuses:
        raise typer.Exit(EXIT_WAITING)


def _queue_runs(plans: list[Plan], run_db: StateDb, as_json: bool) -> None:
    items = plan_fleet(plans, run_db, _first_state)
    with RunBoard(run_db.url) as board:
        for item in items:
            board.queue_start(item.run_id, item.first)
    if as_json:
        print_json([{"run_id": i.run_id, "plan": i.source, "status": "queued"} for i in items])
        return
    for item in items:
        console.print(f"{item.run_id} {item.source}: queued for a worker", markup=False)


def plan_for(path: Path | None, settings: Settings) -> Plan:
    """The plan at ``path``; the embedded defaults use the vault the invocation chose."""
    loaded = load_plan(path)
    if path is None:
        loaded = replace(loaded, vault=replace(loaded.vault, backend=settings.vault_backend))
    return loaded


def plan_command(ctx: typer.Context, plan: PlanOpt = None, as_json: JsonOpt = False) -> None:
    """Show the actions a setup would ask about (with digests) and check what it needs.

    Changes nothing: references are resolved without reading a value, the IdP is asked for its
    discovery document, AWS configuration and Chromium are looked for.
    """
    loaded = plan_for(plan, ctx.obj)
    actions = projected_actions(loaded)
    vault = open_vault(ctx.obj.for_plan(loaded.vault.backend))
    checks = check_plan(loaded, vault, dict(os.environ), Path.home())
    if as_json:
        print_json(
            {
                "plan": loaded.source,
                "digest": loaded.digest,
                "actions": [{**a.to_payload(), "digest": a.digest} for a in actions],
                "checks": [c.as_dict() for c in checks],
            }
        )
    else:
        console.print(f"plan: {loaded.source} ({loaded.digest[:19]}…)", markup=False)
        for number, action in enumerate(actions, start=1):
            effects = ", ".join(action.effects) or "read-only"
            console.print(f"{number}. {action.summary}", markup=False)
            console.print(f"   {effects}; {action.digest[:19]}…", markup=False, style="dim")
        for check in checks:
            console.print(f"{check.status:<4} {check.name}: {check.detail}", markup=False)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)


def resume(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    policy: PolicyOpt = None,
    auto_approve: AutoOpt = False,
    headed: HeadedOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run again what a stopped or crashed run has pending (and ask at its gate)."""
    choices = Choices(None, policy, auto_approve, headed, _interactive(as_json), db)
    _finish(_drive(ctx.obj, choices, run, None), as_json)


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
    if waiting.get("kind") == "human_step":
        answer: dict[str, Any] = {"done": decision["decision"] == "approve", "by": _me()}
    else:
        answer = {**decision, "digest": digest or waiting["digest"], "approver": _me()}
    if queue:
        with RunBoard(state_db(settings, db).url) as board:
            board.queue_answer(run, view.interrupt_id, answer)
        if as_json:
            print_json({"run_id": run, "status": "queued", "answer": answer})
        else:
            console.print(f"{run}: answer queued; a worker moves the run on", markup=False)
        return
    after = _drive(settings, choices, run, None, answer=answer)
    if after.reason.startswith(REFUSED):
        raise UsageError(f"{after.reason.removeprefix(REFUSED)} (the run asks again)")
    _finish(after, as_json)


def _the_waiting_run(saver: BaseCheckpointSaver[str]) -> RunView:
    """The one run that waits for an answer, when the command names none."""
    waiting = [v for v in list_runs(saver) if v.status == "waiting"]
    if not waiting:
        raise UsageError("no run waits for a decision (see 'vaultborn runs')")
    if len(waiting) > 1:
        names = ", ".join(v.run_id for v in waiting)
        raise UsageError(f"several runs wait ({names}); name the one to answer")
    return waiting[0]


def show(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    with_history: Annotated[
        bool, typer.Option("--history", help="Also the checkpoint timeline.")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a run: status, state (references and ids only) and its audit trail."""
    run_db = state_db(ctx.obj, db)
    with run_db.open() as saver:
        view = view_run(saver, run)
        timeline = history(saver, run) if with_history else []
    audit = AuditLog(run_db.url)
    try:
        events = [e.as_dict() for e in audit.events(run_id=run)]
    finally:
        audit.close()
    state = {k: _plain(v) for k, v in view.values.items() if k != "plan"}
    if as_json:
        extra = {"history": timeline} if with_history else {}
        print_json({**view.as_dict(), "state": state, "audit": events, **extra})
        return
    console.print(f"{view.run_id}: {view.status}", markup=False)
    for key, value in state.items():
        console.print(f"  {key}: {value}", markup=False)
    for event in events:
        console.print(f"  audit {event['seq']}: {event['kind']} {event['subject']}", markup=False)
    for point in timeline:
        step = ",".join(point["next"]) or "end"
        console.print(
            f"  checkpoint {point['step']}: {point['checkpoint_id']} → {step}", markup=False
        )


def _plain(value: Any) -> Any:
    """An agent run's messages as JSON data (type, content, tool calls); other values as is."""
    if isinstance(value, list) and value and all(isinstance(m, BaseMessage) for m in value):
        shown = []
        for m in value:
            entry = {"type": m.type, "content": m.content}
            for key in ("tool_calls", "tool_call_id", "status"):
                if getattr(m, key, None):
                    entry[key] = getattr(m, key)
            shown.append(entry)
        return shown
    return value


audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Check the audit chain: an edited, deleted or reordered row is reported."""
    url = database_url(home_of(ctx.obj), db)
    audit = AuditLog(url)
    try:
        verdict = audit.verify()
    finally:
        audit.close()
    if as_json:
        print_json(
            {"ok": verdict.ok, "rows": verdict.rows, "problem": verdict.problem,
             "head": verdict.head}
        )  # fmt: skip
    else:
        console.print(
            f"audit: {'ok' if verdict.ok else 'TAMPERED'} ({verdict.rows} rows)"
            + (f": {verdict.problem}" if verdict.problem else ""),
            markup=False,
        )
    if not verdict.ok:
        raise typer.Exit(1)


def _interactive(as_json: bool) -> bool:
    return not as_json and sys.stdin.isatty() and sys.stdout.isatty()
