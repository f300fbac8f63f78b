"""Run leases: one process at a time moves a run on.

Two processes resuming the same run would both re-run its pending step. A lease row per run
(``run_leases`` in the run database) names the holder (host, pid) and expires; taking it is a
check-then-write under ``BEGIN IMMEDIATE``. A lease whose holder is a dead process on this host,
or whose time has passed, is taken over.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
    suppress,
)
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    select,
    update,
)

from vaultborn.core.database import UrlLike, make_engine
from vaultborn.core.errors import ConfigurationError, RunStateError
from vaultborn.core.sqltx import write_transaction

__all__ = [
    "LEASE_SECONDS",
    "Lease",
    "RunBusy",
    "create_lease_table",
    "hold_run",
    "hold_run_async",
    "is_held",
    "lease_of",
]

LEASE_SECONDS = 30 * 60.0
"""How long a lease lasts without its holder (a crashed run on another host waits this long)."""

_metadata = MetaData()
_leases = Table(
    "run_leases",
    _metadata,
    Column("run_id", String, primary_key=True),
    Column("host", String, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("since", Float, nullable=False),
    Column("expires", Float, nullable=False),
)


class RunBusy(RunStateError):
    """Another process is moving this run on (exit 1: the run is elsewhere, no usage mistake)."""


@dataclass(frozen=True)
class Lease:
    """Who holds a run."""

    run_id: str
    host: str
    pid: int
    since: float
    expires: float


def _alive(lease: Lease, host: str) -> bool:
    if lease.host != host:
        return True  # cannot tell: trust the expiry
    try:
        # Signal 0 checks that the pid exists without touching it. A pid reused by another
        # process after a crash keeps the lease until it expires: slow, never unsafe.
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def create_lease_table(url: UrlLike) -> None:
    """Create the lease table at ``url`` if it is missing (``vaultborn db migrate``)."""
    engine = make_engine(url)
    try:
        with _transaction(engine) as conn:
            _metadata.create_all(conn)
    finally:
        engine.dispose()


def lease_of(url: UrlLike, run_id: str) -> Lease | None:
    """Who holds ``run_id`` now (an expired lease is still returned), or None."""
    engine = make_engine(url)
    try:
        with _transaction(engine) as conn:
            _metadata.create_all(conn)
            row = conn.execute(select(_leases).where(_leases.c.run_id == run_id)).first()
    finally:
        engine.dispose()
    return None if row is None else Lease(row.run_id, row.host, row.pid, row.since, row.expires)


def is_held(url: UrlLike, run_id: str, clock: Callable[[], float] = time.time) -> bool:
    """Whether a live process (not this one) holds ``run_id`` now: it is being moved on."""
    lease = lease_of(url, run_id)
    if lease is None or lease.pid == os.getpid() or lease.expires <= clock():
        return False
    return _alive(lease, socket.gethostname())


@contextmanager
def hold_run(
    url: UrlLike,
    run_id: str,
    *,
    label: str | None = None,
    seconds: float = LEASE_SECONDS,
    renew: bool = False,
    clock: Callable[[], float] = time.time,
) -> Iterator[Lease]:
    """Hold the lease on ``run_id`` in the database at ``url`` for the block.

    Args:
        url: The state database.
        run_id: The key: a run id, or any name two processes must not hold at once.
        label: What the key names in the busy message (``run RUN_ID`` by default).
        seconds: How long the lease lasts if its holder stops renewing it (a holder on
            another host that died is waited for this long).
        renew: Extend the lease every third of ``seconds`` while the block runs (workers:
            a short lease that a dead worker's run soon leaves behind).
        clock: The time source (tests move it).

    Raises:
        RunBusy: A live process holds it (the message says which and since when).
        ConfigurationError: The database cannot be written.
    """
    engine = make_engine(url)
    mine = Lease(run_id, socket.gethostname(), os.getpid(), clock(), clock() + seconds)
    try:
        # Read and write in one write transaction (BEGIN IMMEDIATE / an advisory lock): two
        # processes that both read "free" must not both write "mine".
        with _transaction(engine) as conn:
            _metadata.create_all(conn)
            row = conn.execute(select(_leases).where(_leases.c.run_id == run_id)).first()
            if row is not None:
                held = Lease(row.run_id, row.host, row.pid, row.since, row.expires)
                if held.pid != mine.pid and held.expires > clock() and _alive(held, mine.host):
                    what = label or f"run {run_id}"
                    raise RunBusy(
                        f"{what} is being moved on by pid {held.pid} on {held.host} "
                        f"(since {time.strftime('%H:%M:%S', time.localtime(held.since))}); "
                        "try again when it stops"
                    )
                conn.execute(delete(_leases).where(_leases.c.run_id == run_id))
            conn.execute(_leases.insert().values(**mine.__dict__))
        with _renewing(engine, mine, seconds, clock) if renew else nullcontext():
            yield mine
    finally:
        # Only our own row: if ours expired and another process took the run over meanwhile,
        # its lease stays. A release that fails leaves a lease that expires (or dies with us).
        with suppress(ConfigurationError), _transaction(engine) as conn:
            conn.execute(
                delete(_leases).where(
                    _leases.c.run_id == run_id,
                    _leases.c.pid == mine.pid,
                    _leases.c.host == mine.host,
                )
            )
        engine.dispose()


@asynccontextmanager
async def hold_run_async(url: UrlLike, run_id: str, **options: Any) -> AsyncIterator[Lease]:
    """``hold_run`` for coroutines: the lease is taken and released in a thread.

    On SQLite, a write lock waited for on the event loop could wait for a checkpoint write
    that needs the loop to finish.
    """
    held = hold_run(url, run_id, **options)
    lease = await asyncio.to_thread(held.__enter__)
    try:
        yield lease
    except BaseException as error:
        if not await asyncio.to_thread(held.__exit__, type(error), error, error.__traceback__):
            raise
    else:
        await asyncio.to_thread(held.__exit__, None, None, None)


@contextmanager
def _renewing(
    engine: Engine, lease: Lease, seconds: float, clock: Callable[[], float]
) -> Iterator[None]:
    """Push the lease's expiry forward every ``seconds / 3`` until the block ends."""
    stop = threading.Event()

    def renew() -> None:
        # A third of the lease: two renewals may fail (a locked database) before it lapses.
        while not stop.wait(seconds / 3):
            with suppress(ConfigurationError), _transaction(engine) as conn:
                conn.execute(
                    update(_leases)
                    .where(
                        _leases.c.run_id == lease.run_id,
                        _leases.c.pid == lease.pid,
                        _leases.c.host == lease.host,
                    )
                    .values(expires=clock() + seconds)
                )

    thread = threading.Thread(target=renew, name=f"lease {lease.run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _transaction(engine: Engine) -> AbstractContextManager[Connection]:
    return write_transaction(engine, "the run database")
