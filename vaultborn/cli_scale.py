"""``vaultborn db migrate`` and ``vaultborn worker``: a shared run database, and its workers."""

from __future__ import annotations

import asyncio
import signal
import sys
from contextlib import ExitStack
from typing import Annotated

import typer

from vaultborn.cli_options import DbOpt, JsonOpt
from vaultborn.cli_setup import (
    AutoOpt,
    Choices,
    PolicyOpt,
    run_options,
)
from vaultborn.graphs.checkpoint import database_url
from vaultborn.render import console, print_json
from vaultborn.runner.fleet import MAX_LIMIT
from vaultborn.runner.migrate import migrate
from vaultborn.runner.runtime_cache import RuntimeCache
from vaultborn.runner.state_db import home_of, state_db
from vaultborn.runner.worker import Worker, WorkerConfig, WorkerReport

__all__ = ["db_app", "register_scale_commands"]

db_app = typer.Typer(
    help="The run database (checkpoints, audit log, leases).", no_args_is_help=True
)


def register_scale_commands(app: typer.Typer) -> None:
    """Add ``db`` and ``worker`` to ``app``."""
    app.add_typer(db_app, name="db")
    app.command()(worker)


@db_app.command("migrate")
def db_migrate(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Create or update the run database's tables (needed once for PostgreSQL; idempotent)."""
    url = database_url(home_of(ctx.obj), db)
    parts = migrate(url)
    if as_json:
        print_json({"database": url.shown, "migrated": list(parts)})
        return
    console.print(f"{url}: up to date ({', '.join(parts)})", markup=False)


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
