"""Scale-out benchmark: checkpoint cost per step, many enrollments at once, workers 1 vs 2.

Run: ``.venv/bin/python bench/scale.py [--sizes 1,5,20] [--engines sqlite,postgresql]
[--steps 50] [--samples 5] [--queue 6]``

- checkpoints: a linear graph of ``--steps`` trivial nodes run with vaultborn's checkpointer
  (strict msgpack, durability "sync") on each engine, against no checkpointer: ms per step.
- enrollments: ``vaultborn setup --plan-dir`` with 1, 5 and 20 embedded-demo plans, all at
  once (``--concurrency`` = the count, auto-approved), each size in a fresh VAULTBORN_HOME (one
  run: the median of three, its login drill waiting 0-30 s for a TOTP step by chance),
  with a moto server started here. Wall time, and the peak resident memory of the whole
  process tree (vaultborn and its Chromium processes, sampled every 0.2 s; shared pages are
  counted in each process, so this over-counts). Goal: 20 at once in under 3x the time of one.
- workers: ``--queue`` runs queued with ``setup --queue``, then 1 worker, or 2 workers started
  together, move them (each worker ``--concurrency 2``) until idle: wall time.

PostgreSQL is started here (as the postgres user when root), a fresh database per case.
Prints figures and ratios only: the machine is shared, so there is no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langgraph.graph import END, START, StateGraph

from graphs.checkpoint import open_async_checkpointer
from tests.faults.clikit import cli_env, moto_server
from tests.graph.kit import descendants
from tests.pgserver import PgServer, fresh_database, postgres_server
from tests.scale.plans import write_demo_plans
from vaultborn.migrate import migrate


class _Count(TypedDict):
    n: int


def _linear(steps: int) -> StateGraph[Any]:
    graph: StateGraph[Any] = StateGraph(_Count)
    previous = START
    for i in range(steps):
        name = f"n{i}"
        graph.add_node(name, lambda s: {"n": s["n"] + 1})
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph


async def _graph_ms(steps: int, url: str | None, samples: int) -> float:
    graph = _linear(steps)
    times = []
    for sample in range(samples):
        async with _Checkpointer(url) as saver:
            app = graph.compile(checkpointer=saver)
            config = {"configurable": {"thread_id": f"t-{sample}"}}
            started = time.perf_counter()
            # Without a checkpointer "sync" has nothing to wait for (and LangGraph trips on it).
            await app.ainvoke({"n": 0}, config, durability="sync" if saver else None)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


class _Checkpointer:
    """``open_async_checkpointer(url)``, or no checkpointer for ``url`` None."""

    def __init__(self, url: str | None) -> None:
        self.url, self._cm = url, None

    async def __aenter__(self) -> Any:
        if self.url is None:
            return None
        self._cm = open_async_checkpointer(self.url)
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        if self._cm is not None:
            await self._cm.__aexit__(*exc)


def _database(engine: str, pg: PgServer | None, home: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{home / 'state.db'}"
    assert pg is not None
    url = fresh_database(pg, "bench")
    migrate(url)
    return url


@contextmanager
def _peak_rss(root: int) -> Iterator[dict[str, float]]:
    """The peak summed RSS (MiB) of ``root`` and its descendants while the block runs."""
    peak = {"mib": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            total = 0
            for pid in [root, *descendants(root)]:
                try:
                    with open(f"/proc/{pid}/status") as status:
                        for line in status:
                            if line.startswith("VmRSS:"):
                                total += int(line.split()[1])
                except OSError:
                    continue
            peak["mib"] = max(peak["mib"], total / 1024)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def _env(home: Path, endpoint: str, url: str) -> dict[str, str]:
    return {**cli_env(home, endpoint), "VAULTBORN_DATABASE_URL": url}


def _vaultborn(*args: str) -> list[str]:
    return [sys.executable, "-m", "vaultborn", *args]


def _enrollments(size: int, engine: str, pg: PgServer | None, endpoint: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="vaultborn-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        plans = Path(tmp) / "plans"
        write_demo_plans(plans, size)
        env = _env(home, endpoint, _database(engine, pg, home))
        started = time.perf_counter()
        process = subprocess.Popen(
            _vaultborn("setup", "--plan-dir", str(plans), "--auto-approve",
                       "--concurrency", str(size), "--json"),
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        with _peak_rss(process.pid) as peak:
            out, err = process.communicate()
        wall = time.perf_counter() - started
        if process.returncode != 0:
            reasons = {o["reason"] for o in json.loads(out or "[]") if o["reason"]}
            raise SystemExit(
                f"setup --plan-dir ({size}, {engine}) failed: {reasons or err[-3000:]}"
            )
        done = sum(1 for o in json.loads(out) if o["status"] == "done")
        return {"wall": wall, "peak_mib": peak["mib"], "done": done}


def _workers(count: int, queued: int, engine: str, pg: PgServer | None, endpoint: str) -> float:
    with tempfile.TemporaryDirectory(prefix="vaultborn-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        plans = Path(tmp) / "plans"
        write_demo_plans(plans, queued)
        env = _env(home, endpoint, _database(engine, pg, home))
        subprocess.run(
            _vaultborn("setup", "--plan-dir", str(plans), "--queue"),
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        started = time.perf_counter()
        workers = [
            subprocess.Popen(
                _vaultborn(
                    "worker",
                    "--auto-approve",
                    "--exit-when-idle",
                    "--poll",
                    "0.2",
                    "--concurrency",
                    "2",
                ),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for worker in workers:
            _, err = worker.communicate()
            if worker.returncode != 0:
                raise SystemExit(f"worker failed:\n{err[-3000:]}")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,20")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--queue", type=int, default=6)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    with ExitStack() as stack:
        pg = stack.enter_context(postgres_server()) if "postgresql" in engines else None
        endpoint = stack.enter_context(moto_server())

        print(f"checkpoints: {args.steps}-node linear graph, median of {args.samples}")
        bare = asyncio.run(_graph_ms(args.steps, None, args.samples))
        print(f"  no checkpointer   {bare / args.steps:6.2f} ms/step")
        with tempfile.TemporaryDirectory() as tmp:
            for engine in engines:
                url = _database(engine, pg, Path(tmp))
                ms = asyncio.run(_graph_ms(args.steps, url, args.samples))
                print(f"  {engine:<17} {ms / args.steps:6.2f} ms/step "
                      f"({(ms - bare) / args.steps:5.2f} ms/step for the checkpoint)")  # fmt: skip

        for engine in engines:
            print(f"enrollments at once ({engine}): setup --plan-dir, auto-approved")
            results = {}
            for size in sizes:
                # One run's time is mostly its login drill waiting for the next TOTP time step
                # (0-30 s, by chance): the baseline is the median of three.
                tries = [
                    _enrollments(size, engine, pg, endpoint) for _ in range(3 if size == 1 else 1)
                ]
                r = sorted(tries, key=operator.itemgetter("wall"))[len(tries) // 2]
                results[size] = r
                if len(tries) > 1:
                    spread = ", ".join(f"{t['wall']:.1f}" for t in tries)
                    print(f"  {size:>3} at once, three tries: {spread} s")
                print(f"  {size:>3} at once: {r['wall']:6.1f} s wall, peak {r['peak_mib']:6.0f} MiB"
                      f" (process tree), {r['done']:.0f}/{size} done")  # fmt: skip
            one = results.get(1)
            for size in sizes:
                if one and size != 1:
                    ratio = results[size]["wall"] / one["wall"]
                    print(f"  {size} vs 1: {ratio:.2f}x the time of one"
                          f"{' (goal for 20: < 3x)' if size == 20 else ''}")  # fmt: skip

        engine = "postgresql" if "postgresql" in engines else engines[0]
        print(f"workers on one queue of {args.queue} runs ({engine}, --concurrency 2 each)")
        times = {n: _workers(n, args.queue, engine, pg, endpoint) for n in (1, 2)}
        for n, wall in sorted(times.items(), key=operator.itemgetter(0)):
            print(f"  {n} worker(s): {wall:6.1f} s")
        print(f"  2 vs 1: {times[2] / times[1]:.2f}x the time")


if __name__ == "__main__":
    main()
