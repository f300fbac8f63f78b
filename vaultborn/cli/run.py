"""Setting up: ``setup``, ``plan``, ``resume`` and ``worker``.

``setup`` runs until done or a gate. In a terminal it asks at each gate; without one (or with
``--json``) it exits 3 and prints what waits, and ``approve``/``reject``/``resume`` — from any
process — move the run on. ``worker`` moves queued runs (``setup --queue``) for as long as it
lives.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from vaultborn.cli.driving import (
    EXIT_WAITING,
    AutoOpt,
    Choices,
    HeadedOpt,
    PlanOpt,
    PolicyOpt,
    approval_ttl,
    drive,
    finish,
    is_interactive,
    plan_for,
    run_options,
)
from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.core.errors import UsageError
from vaultborn.graphs.state import SetupState
from vaultborn.prompts import describe_waiting
from vaultborn.render import console, print_json
from vaultborn.runner.board import RunBoard
from vaultborn.runner.drive import first_state
from vaultborn.runner.fleet import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    account_of,
    plan_fleet,
    plans_in,
    run_fleet,
)
from vaultborn.runner.leases import hold_run
from vaultborn.runner.plan import Plan
from vaultborn.runner.plan_check import check_plan, projected_actions
from vaultborn.runner.runs import (
    StateDb,
    new_run_id,
)
from vaultborn.runner.runtime_cache import RuntimeCache
from vaultborn.runner.state_db import home_of, keys_home, state_db
from vaultborn.runner.wiring import Settings, open_vault
from vaultborn.runner.worker import Worker, WorkerConfig, WorkerReport

__all__ = ["register"]


PANEL = "Set up"


def register(app: typer.Typer) -> None:
    """Add ``setup``, ``plan``, ``resume`` and ``worker`` to ``app``."""
    app.command(rich_help_panel=PANEL)(setup)
    app.command("plan", rich_help_panel=PANEL)(plan_command)
    app.command(rich_help_panel=PANEL)(resume)
    app.command(rich_help_panel=PANEL)(worker)


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
    interactive = is_interactive(as_json) and not several and not queue
    choices = Choices(paths[0] if paths else None, policy, auto_approve, headed, interactive, db)
    if run is not None:
        if paths or queue:
            raise UsageError("--run continues one run: it takes no --plan, --plan-dir or --queue")
        finish(drive(ctx.obj, choices, run, None), as_json)
        return
    plans = [plan_for(path, ctx.obj) for path in paths] if paths else [plan_for(None, ctx.obj)]
    # A database without keys gets them now, in the (first) plan's vault, before any run.
    first_vault = plans[0].vault
    keys_in = keys_home(ctx.obj, first_vault.backend, first_vault.name)
    run_db = state_db(ctx.obj, choices.db, make_keys_in=keys_in)
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
        view = drive(settings, choices, run_id, items[0].first)
    finish(view, as_json)


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
    choices = Choices(None, policy, auto_approve, headed, is_interactive(as_json), db)
    finish(drive(ctx.obj, choices, run, None), as_json)


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", help="Runs this worker moves at once.", min=1, max=MAX_LIMIT),
    ] = 4,
    lease_seconds: Annotated[
        float,
        typer.Option(
            "--lease-seconds",
            help="How long a run stays claimed if this worker dies (renewed while it lives).",
        ),
    ] = 60.0,
    poll: Annotated[
        float, typer.Option("--poll", help="Seconds between looks when nothing is ready.")
    ] = 1.0,
    exit_when_idle: Annotated[
        bool,
        typer.Option(
            "--exit-when-idle", help="Stop when no run is ready or held by another process."
        ),
    ] = False,
    policy: PolicyOpt = None,
    auto_approve: AutoOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move on runs that are ready: queued, answered, or left by a process that died.

    Several workers can share one database (PostgreSQL for several hosts): a lease gives each run
    to one worker at a time. Ctrl-C or SIGTERM: runs in flight finish their step first.
    """
    config = WorkerConfig(
        lease_seconds=lease_seconds,
        concurrency=concurrency,
        poll=poll,
        exit_when_idle=exit_when_idle,
    )
    choices = Choices(None, policy, auto_approve, False, False, db)
    run_db = state_db(ctx.obj, db)
    with run_db.open():  # an unreachable or unmigrated database says so at once
        pass

    def log(line: str) -> None:
        sys.stderr.write(f"vaultborn worker: {line}\n")
        sys.stderr.flush()

    with ExitStack() as stack:
        runtimes = stack.enter_context(
            RuntimeCache(ctx.obj, home_of(ctx.obj), run_options(ctx.obj, choices, stack))
        )
        report = asyncio.run(_work(Worker(run_db, runtimes, config, log=log)))
    if as_json:
        print_json(report.as_dict())
    else:
        done = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items())) or "none"
        console.print(f"worker: moved {report.moved} run(s): {done}", markup=False)


async def _work(worker: Worker) -> WorkerReport:
    """Run ``worker``; SIGTERM and Ctrl-C stop it taking new runs."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        return await worker.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
