"""``vaultborn worker``: take ready runs from the shared run database and move them on.

A run is ready when work is queued for it (``setup --queue`` starts, ``approve --queue``
answers) or when it has steps left and nobody moves it (the board says ``running`` or
``failed``, and no live lease is held on it — the process that moved it died or stopped).

One worker per run: a worker takes the run's lease before reading what to do, and renews it
every third of ``lease_seconds`` while it works. A worker that is killed leaves its lease to
expire (at once on its own host: its pid is gone); another worker then resumes the run from its
last checkpoint, and every effect still happens once (each is idempotent, with a check first).

A run that fails is retried after a back-off that doubles (up to ten minutes); a run that waits
for a person stays until an answer is queued.

A worker also starts the lifecycle work that plans schedule (``[schedule]``: drift checks and
rotations), when it is due (``runner.scheduler``): at start and every ``schedule_every``
seconds, it queues each due run, which it then moves on as any queued run — to its gates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from vaultborn.core.errors import UsageError, VaultbornError
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import SetupState
from vaultborn.runner.board import Queued, RunBoard
from vaultborn.runner.fleet import enough_threads
from vaultborn.runner.leases import RunBusy, hold_run_async
from vaultborn.runner.runs import RunView, StateDb, advance, view_run
from vaultborn.runner.runtime_cache import RuntimeCache
from vaultborn.runner.scheduler import start_due

__all__ = ["MAX_LEASE_SECONDS", "Worker", "WorkerConfig", "WorkerReport"]

MAX_LEASE_SECONDS = 24 * 3600.0
"""The longest lease a worker takes: a run its dead worker held is free after at most a day."""


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker works.

    Attributes:
        lease_seconds: How long a run stays claimed if this worker stops renewing it.
        concurrency: Runs moved at once.
        poll: Seconds between looks at the board when there is nothing to do.
        exit_when_idle: Stop when nothing is ready and nothing is in flight.
        max_backoff: Longest wait before retrying a run that failed.
        schedule_every: Seconds between looks for scheduled work that is due (0: never look).
    """

    lease_seconds: float = 60.0
    concurrency: int = 4
    poll: float = 1.0
    exit_when_idle: bool = False
    max_backoff: float = 600.0
    schedule_every: float = 60.0

    def __post_init__(self) -> None:
        if not 3 <= self.lease_seconds <= MAX_LEASE_SECONDS:  # nan and inf fail this too
            raise UsageError(
                f"--lease-seconds must be between 3 and {MAX_LEASE_SECONDS:.0f}, got "
                f"{self.lease_seconds}"
            )
        if self.concurrency < 1:
            raise UsageError(f"--concurrency must be at least 1, got {self.concurrency}")
        if not 0 < self.poll <= 3600:
            raise UsageError(f"--poll must be between 0 and 3600 seconds, got {self.poll}")
        if not 0 <= self.schedule_every <= 86400:
            raise UsageError(f"schedule_every must be 0 to 86400 s, got {self.schedule_every}")


@dataclass
class WorkerReport:
    """What a worker did: runs moved on, by how they stopped."""

    moved: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    skipped_busy: int = 0
    dropped_answers: int = 0
    scheduled: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "moved": self.moved,
            "statuses": dict(self.statuses),
            "skipped_busy": self.skipped_busy,
            "dropped_answers": self.dropped_answers,
            "scheduled": self.scheduled,
        }


class Worker:
    """Moves ready runs on, a few at a time, on one event loop.

    Args:
        db: The shared run database.
        runtimes: The clients of the runs' systems (shared by the runs of this worker).
        config: Lease, concurrency and polling.
        log: Where one line per event goes (stderr in the CLI).
        clock: Monotonic time (back-offs).
        now: The time schedules are read at (UNIX time; tests fix it).
    """

    def __init__(
        self,
        db: StateDb,
        runtimes: RuntimeCache,
        config: WorkerConfig,
        *,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.db, self.runtimes, self.config, self.log, self.clock = (
            db, runtimes, config, log, clock,
        )  # fmt: skip
        self.now = now
        self._next_schedule: float | None = None
        self.report = WorkerReport()
        self._failures: dict[str, tuple[int, float]] = {}
        self._busy_until: dict[str, float] = {}
        self._held_elsewhere: list[str] = []
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Take no new runs; finish the ones in flight."""
        self._stopping.set()

    async def run(self) -> WorkerReport:
        """Work until stopped (or, with ``exit_when_idle``, until nothing is left)."""
        inflight: dict[str, asyncio.Task[None]] = {}
        enough_threads(self.config.concurrency)
        try:
            with RunBoard(self.db.url) as board:
                async with self.db.open_async() as saver:
                    while not self._stopping.is_set():
                        await asyncio.to_thread(self._schedule)
                        ready = [
                            r
                            for r in await asyncio.to_thread(self._ready, board)
                            if r not in inflight
                        ]
                        for run_id in ready[: self.config.concurrency - len(inflight)]:
                            inflight[run_id] = asyncio.create_task(
                                self._take(run_id, board, saver), name=run_id
                            )
                        # Idle: nothing to take, nothing in flight, and no run another live
                        # process holds (it may die and leave the run to this worker).
                        idle = not inflight and not ready and not self._held_elsewhere
                        if idle and self.config.exit_when_idle:
                            break
                        await self._pause(inflight)
                    if inflight:
                        await asyncio.gather(*inflight.values(), return_exceptions=True)
        finally:
            await self.runtimes.opts.browser.pool.close()
        return self.report

    async def _pause(self, inflight: dict[str, asyncio.Task[None]]) -> None:
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait(
                [*inflight.values(), stopping],
                timeout=self.config.poll,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopping.cancel()
        for run_id, task in list(inflight.items()):
            if task.done():
                del inflight[run_id]
                if not task.cancelled() and task.exception() is not None:
                    self.log(f"{run_id}: worker error: {task.exception()}")

    def _schedule(self) -> None:
        """Queue the scheduled work that is due, at start and every ``schedule_every``."""
        every = self.config.schedule_every
        if not every or (self._next_schedule is not None and self.clock() < self._next_schedule):
            return
        self._next_schedule = self.clock() + every
        try:
            started = start_due(
                self.db, self.now(), session_ttl=self.runtimes.opts.approval_ttl, log=self.log,
                audit=self.runtimes.opts.audit,
            )  # fmt: skip
        except VaultbornError as error:
            self.log(f"schedule: {error}")
            return
        self.report.scheduled += len(started)

    def _ready(self, board: RunBoard) -> list[str]:
        """Queued runs first (oldest first), then runs left moving; none in back-off."""
        now, seen, self._held_elsewhere = self.clock(), [], []
        for run_id in [q.run_id for q in board.queued()] + board.active():
            failures, retry_at = self._failures.get(run_id, (0, 0.0))
            if now < self._busy_until.get(run_id, 0.0):
                self._held_elsewhere.append(run_id)
            elif run_id not in seen and (failures == 0 or now >= retry_at):
                seen.append(run_id)
        return seen

    async def _take(self, run_id: str, board: RunBoard, saver: Any) -> None:
        try:
            async with hold_run_async(
                self.db.url, run_id, seconds=self.config.lease_seconds, renew=True
            ):
                await self._move(run_id, board, saver)
        except RunBusy:
            # Another worker (or a person's command) has it: look at the runs behind it first,
            # and again once its holder could have died and its lease lapsed.
            self.report.skipped_busy += 1
            self._busy_until[run_id] = self.clock() + self.config.lease_seconds / 3
        except VaultbornError as error:
            self._failed(run_id, str(error))

    async def _move(self, run_id: str, board: RunBoard, saver: Any) -> None:
        # Database and runtime calls block: in threads, off the loop the other runs share.
        queued = next(iter(await asyncio.to_thread(board.queued, run_id)), None)
        view = await asyncio.to_thread(self._view, run_id)
        start, answer = await asyncio.to_thread(self._work, run_id, queued, view, board)
        if view is None and start is None:
            return  # nothing to start and nothing saved: a stale board row
        if view is not None and view.status in ("done", "rejected", "cancelled") and start is None:
            await asyncio.to_thread(board.mark, run_id, view.status)
            return
        if view is not None and view.status == "waiting" and answer is None:
            await asyncio.to_thread(board.mark, run_id, "waiting")
            return
        if start is not None:
            plan = start["plan"]
        elif view is not None:
            plan = view.values["plan"]
        else:  # pragma: no cover - nothing to start and nothing saved: returned above
            return
        deps = await asyncio.to_thread(self.runtimes.deps_for, plan)
        self.log(f"{run_id}: moving on ({'start' if start else 'answer' if answer else 'resume'})")
        after = await advance(
            self.db, deps, run_id, start=start, answer=answer, saver=saver, board=board
        )
        if queued is not None:
            await asyncio.to_thread(board.done_with, queued)
        await asyncio.to_thread(self._anchor, deps)
        self._failures.pop(run_id, None)
        self.report.moved += 1
        self.report.statuses[after.status] = self.report.statuses.get(after.status, 0) + 1
        reason = f" ({after.reason})" if after.reason else ""
        self.log(f"{run_id}: {after.status}{reason}")
        if after.status == "failed":
            self._failed(run_id, after.reason or "stopped")

    def _anchor(self, deps: Deps) -> None:
        """Keep the audit head in the vault too (at most once a minute: see ``VaultAnchor``)."""
        try:
            deps.audit.anchor()
        except VaultbornError as error:
            self.log(f"audit: {error}")

    def _work(
        self, run_id: str, queued: Queued | None, view: RunView | None, board: RunBoard
    ) -> tuple[SetupState | None, object]:
        """The start state or the answer to move ``run_id`` on with (neither: resume)."""
        if queued is None:
            return None, None
        if queued.kind == "start":
            if view is None:
                # Queued by RunBoard.queue_start from a SetupState: JSON keeps its shape.
                return cast(SetupState, queued.payload), None
            board.done_with(queued)  # started before a crash: its checkpoint is the truth
            return None, None
        if (
            view is not None
            and view.status == "waiting"
            and view.interrupt_id == queued.interrupt_id
        ):
            return None, queued.payload
        board.done_with(queued)  # the run moved on since: never give it to a later gate
        self.report.dropped_answers += 1
        self.log(f"{run_id}: dropped a queued answer (the run no longer waits for it)")
        return None, None

    def _view(self, run_id: str) -> RunView | None:
        with self.db.open() as viewer:
            try:
                return view_run(viewer, run_id)
            except UsageError:
                return None

    def _failed(self, run_id: str, why: str) -> None:
        failures = self._failures.get(run_id, (0, 0.0))[0] + 1
        wait = min(self.config.max_backoff, self.config.poll * 2**failures)
        self._failures[run_id] = (failures, self.clock() + wait)
        self.log(f"{run_id}: stopped: {why}; retrying in {wait:.0f} s")
