"""Many setup runs at once in one process: ``vaultborn setup --plan-dir DIR``.

Every plan becomes a run; up to ``limit`` move at once on one event loop, sharing one
checkpointer (a connection pool on PostgreSQL), one Chromium and the runtimes of their systems
(``RuntimeCache``). Each run holds its account's lease and its own for as long as it moves, like a
single ``setup``. A run that stops (a gate, a failure) does not stop the others.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from vaultborn.core.errors import UsageError, VaultbornError
from vaultborn.nodes.state import PlanData, SetupState
from vaultborn.nodes.steps import STEPS
from vaultborn.runner.blocking import account_of, blocked_error, blocking_run
from vaultborn.runner.board import RunBoard
from vaultborn.runner.leases import hold_run_async
from vaultborn.runner.plan import Plan
from vaultborn.runner.run_facts import run_facts
from vaultborn.runner.runs import RunView, StateDb, advance, new_run_id
from vaultborn.runner.runtime_cache import RuntimeCache

__all__ = [
    "FleetItem",
    "FleetOutcome",
    "FleetProgress",
    "account_of",
    "enough_threads",
    "plan_fleet",
    "plans_in",
    "run_fleet",
]

DEFAULT_LIMIT = 4
"""Runs moving at once unless ``--concurrency`` says otherwise."""
MAX_LIMIT = 256
"""The most ``--concurrency`` takes: the executor stops growing there (``enough_threads``), and
far before it one process runs out of database connections and browser memory."""


@dataclass(frozen=True)
class FleetItem:
    """One plan of the fleet, as a run to start."""

    run_id: str
    source: str
    first: SetupState

    @property
    def plan(self) -> PlanData:
        """The plan's data."""
        return self.first["plan"]


@dataclass
class FleetOutcome:
    """How one run of the fleet ended (this time)."""

    run_id: str
    source: str
    status: str
    reason: str = ""
    waiting: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "run_id": self.run_id,
            "plan": self.source,
            "status": self.status,
            "reason": self.reason,
            "waiting": self.waiting,
        }


def plan_fleet(
    plans: list[Plan], db: StateDb, first_state: Callable[[Plan, str], SetupState]
) -> list[FleetItem]:
    """A run per plan, after checking no two plans (or an unfinished setup) share an account.

    Only an unfinished setup stops a setup (``runner.blocking``): a drift waiting for its vault
    session, or a rotation at a gate, does not.

    Raises:
        UsageError: Two plans set up the same account.
        RunStateError: A plan's account has an unfinished setup.
    """
    seen: dict[tuple[str, str], str] = {}
    for plan in plans:
        account = account_of(plan.to_dict())
        if account in seen:
            raise UsageError(
                f"{plan.source} and {seen[account]} both set up {account[1]}: one run per account"
            )
        seen[account] = plan.source
    facts = run_facts(db, times=False)
    for account, source in seen.items():
        blocker = blocking_run("setup", account, facts)
        if blocker is not None:
            error = blocked_error(blocker)
            if len(plans) > 1:
                error.message = f"{source}: {error.message}"
            raise error
    items = []
    for plan in plans:
        run_id = new_run_id()
        items.append(FleetItem(run_id, plan.source, first_state(plan, run_id)))
    return items


@dataclass
class _Row:
    source: str
    status: str = "queued"
    step: str = ""
    done: int = 0
    started: float = 0.0
    ended: float = 0.0


@dataclass
class FleetProgress:
    """Where each run of the fleet is: a live table in a terminal, else a line per change."""

    stream: IO[str] = field(default_factory=lambda: sys.stderr)
    rows: dict[str, _Row] = field(default_factory=dict)
    _live: Live | None = None

    def __post_init__(self) -> None:
        if self.stream.isatty():
            console = Console(file=self.stream)
            self._live = Live(console=console, auto_refresh=False, transient=False)

    def start(self, items: list[FleetItem]) -> None:
        """Show every run, queued."""
        for item in items:
            self.rows[item.run_id] = _Row(item.source)
        if self._live is not None:
            self._live.start()
        self._show(None)

    def moving(self, run_id: str) -> None:
        """``run_id`` took its turn."""
        row = self.rows[run_id]
        row.status, row.started = "running", time.monotonic()
        self._show(run_id)

    def step(self, run_id: str, node: str) -> None:
        """A node of ``run_id`` finished."""
        row = self.rows[run_id]
        row.step, row.done = node, row.done + 1
        self._show(run_id)

    def ended(self, run_id: str, status: str) -> None:
        """``run_id`` stopped: done, waiting, rejected or failed."""
        row = self.rows[run_id]
        row.status, row.ended = status, time.monotonic()
        self._show(run_id)

    def stop(self) -> None:
        """Leave the final table on screen."""
        if self._live is not None:
            self._live.stop()

    def _show(self, run_id: str | None) -> None:
        if self._live is not None:
            self._live.update(self._table(), refresh=True)
            return
        if run_id is None:
            return
        row = self.rows[run_id]
        if row.status == "running" and row.step not in STEPS:
            return  # a line per effect and per stop, not per node
        what = f"{row.step} done" if row.status == "running" else row.status
        self.stream.write(f"vaultborn: {run_id} ({row.source}): {what}\n")
        self.stream.flush()

    def _table(self) -> Table:
        table = Table("run", "plan", "status", "step", "time")
        now = time.monotonic()
        for run_id, row in self.rows.items():
            spent = (row.ended or now) - row.started if row.started else 0.0
            steps = f"{row.step} ({row.done})" if row.step else ""
            table.add_row(run_id, row.source, row.status, steps, f"{spent:.0f}s")
        return table


async def run_fleet(
    items: list[FleetItem],
    *,
    db: StateDb,
    runtimes: RuntimeCache,
    limit: int = DEFAULT_LIMIT,
    progress: FleetProgress | None = None,
) -> list[FleetOutcome]:
    """Run every item until done or waiting, ``limit`` at a time; the outcomes, in order."""
    if limit < 1:
        raise UsageError(f"--concurrency must be at least 1, got {limit}")
    progress = progress or FleetProgress()
    gate = asyncio.Semaphore(limit)
    enough_threads(limit)
    progress.start(items)
    try:
        async with db.open_async() as saver:
            with RunBoard(db.url) as board:

                async def one(item: FleetItem) -> FleetOutcome:
                    async with gate:
                        progress.moving(item.run_id)
                        outcome = await _run_one(item, db, runtimes, saver, board, progress)
                        progress.ended(item.run_id, outcome.status)
                        return outcome

                return list(await asyncio.gather(*(one(item) for item in items)))
    finally:
        progress.stop()
        await runtimes.opts.browser.pool.close()


async def _run_one(
    item: FleetItem,
    db: StateDb,
    runtimes: RuntimeCache,
    saver: Any,
    board: RunBoard,
    progress: FleetProgress,
) -> FleetOutcome:
    domain, email = account_of(item.plan)
    try:
        async with AsyncExitStack() as held:
            await held.enter_async_context(
                hold_run_async(db.url, f"account:{domain}:{email}", label=f"a setup for {email}")
            )
            await held.enter_async_context(hold_run_async(db.url, item.run_id))
            deps = await asyncio.to_thread(runtimes.deps_for, item.plan)
            view: RunView = await advance(
                db, deps, item.run_id, start=item.first, saver=saver, board=board,
                progress=progress.step,
            )  # fmt: skip
    except VaultbornError as error:
        return FleetOutcome(item.run_id, item.source, "failed", str(error))
    return FleetOutcome(item.run_id, item.source, view.status, view.reason, view.waiting)


def enough_threads(runs: int) -> None:
    """Give the running loop's default executor room for ``runs`` runs at once.

    Every blocking call of a run (IdP, vault, database) and every plain graph node runs in that
    executor; Python's default (cores + 4 threads) would queue twenty runs behind six threads.
    """
    workers = min(256, 4 * runs + 4)
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vaultborn")
    )


def plans_in(folder: Path) -> list[Path]:
    """The ``*.toml`` plans of ``folder``, by name.

    Raises:
        UsageError: ``folder`` is not a directory or holds no plan.
    """
    if not folder.is_dir():
        raise UsageError(f"--plan-dir {folder}: not a directory")
    found = sorted(p for p in folder.glob("*.toml") if p.is_file())
    if not found:
        raise UsageError(f"--plan-dir {folder}: no *.toml plans in it")
    return found
