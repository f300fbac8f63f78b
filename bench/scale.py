"""Scale-out benchmark: checkpoint cost per step, many enrollments at once, workers 1 vs 2.

Run: ``.venv/bin/python bench/scale.py [--sizes 1,5,20] [--engines sqlite,postgresql]
[--steps 50] [--samples 5] [--queue 6]`` (``--queue 0`` leaves the workers out)

- checkpoints: a linear graph of ``--steps`` trivial nodes run with vaultborn's checkpointer
  (strict msgpack, durability "sync") on each engine, against no checkpointer: ms per step.
- enrollments: ``vaultborn setup --plan-dir`` with 1, 5 and 20 embedded-demo plans, all at
  once (``--concurrency`` = the count, auto-approved), each size in a fresh VAULTBORN_HOME,
  with a moto server started here. Wall time, taken with nothing watching the run (one at
  once: the median of three, the baseline every ratio divides by), and where this runs as
  root the exact CPU of the whole tree in those runs (``cpu_account``: a cgroup of their own
  counts every process, a renderer that lived for one page too). Then the same run again,
  observed: the peak resident memory of the whole process tree (vaultborn and its Chromium
  processes, sampled every 0.2 s; shared pages are counted in each process, so this
  over-counts; PSS splits them among their sharers), and the CPU time of the whole tree.
  Goal: 20 at once in under 3x the time of one, under 150 MB more per extra enrollment. The
  CPU per extra enrollment divided by the cores gives the floor that no amount of overlap
  gets under. How busy the cores were: the start-up (one core: imports,
  Chromium, the dev IdP), the mean cores used while the runs overlap, and the tail; beside
  it the CPU of the moto server, which runs in this process, outside the measured tree. The
  observing reads every process's memory five times a second, which takes CPU from the run
  it watches (printed): so it is a run of its own, not one of those timed.
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
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langgraph.graph import END, START, StateGraph

from bench.cpu_account import CpuAccount
from tests.faults.clikit import cli_env, moto_server
from tests.graph.kit import cpu_seconds, descendants
from tests.pgserver import PgServer, fresh_database, postgres_server
from tests.scale.plans import write_demo_plans
from vaultborn.graphs.checkpoint import open_async_checkpointer
from vaultborn.runner.migrate import migrate


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


def _kib(path: str, key: str) -> int:
    """The ``key:`` line of a /proc file, in KiB (0 when the process is gone)."""
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextmanager
def _peak_memory(root: int) -> Iterator[dict[str, float]]:
    """The peak summed memory (MiB) of ``root`` and its descendants while the block runs, and
    their CPU seconds (each process's last sample: a lower bound; Chromium's renderers are not
    reaped into this process, so ``getrusage`` would miss them).

    ``rss``: resident set sizes added up, which counts a page shared by N processes N times
    (Chromium's code and its zygote's pages are in every renderer). ``pss``: proportional set
    sizes (a shared page split among its sharers), which add up to what the tree really uses.
    ``emulator``: the CPU seconds of this process meanwhile, but for the sampling thread's own:
    the moto server's, which serves the seeds on the same cores outside the tree.
    ``observer``: the sampling thread's own CPU seconds.
    ``start``, ``busy``, ``tail``: the tree's CPU over time (``_phases``).
    """
    peak = {"rss": 0.0, "pss": 0.0, "cpu": 0.0}
    cpu: dict[int, float] = {}
    timeline: list[tuple[float, float]] = [(time.perf_counter(), 0.0)]
    sampling = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            pids = [root, *descendants(root)]
            rss = sum(_kib(f"/proc/{pid}/status", "VmRSS:") for pid in pids)
            pss = sum(_kib(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids)
            peak["rss"] = max(peak["rss"], rss / 1024)
            peak["pss"] = max(peak["pss"], pss / 1024)
            for pid in pids:
                cpu[pid] = max(cpu.get(pid, 0.0), cpu_seconds(pid))
            peak["cpu"] = sum(cpu.values())
            timeline.append((time.perf_counter(), peak["cpu"]))
        sampling[0] = time.thread_time()

    before = time.process_time()
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
        peak["emulator"] = max(0.0, time.process_time() - before - sampling[0])
        peak["observer"] = sampling[0]
        peak.update(_phases(timeline, os.cpu_count() or 1))


def _phases(timeline: list[tuple[float, float]], cores: int) -> dict[str, float]:
    """How busy the tree kept the cores: the start (seconds before a 1 s window first uses
    more than half of the cores beyond one), the mean cores used from then until such a window
    last ends (``busy``), and the seconds after it (``tail``). One enrollment may never get
    there: its whole run is then ``start``."""
    threshold = 1 + (cores - 1) / 2
    t0 = timeline[0][0]
    windows = [
        (t_a - t0, t_b - t0, (c_b - c_a) / (t_b - t_a))
        for (t_a, c_a), (t_b, c_b) in zip(timeline, timeline[5:], strict=False)
        if t_b > t_a
    ]
    wide = [w for w in windows if w[2] >= threshold]
    end = timeline[-1][0] - t0
    if not wide:
        return {"start": end, "busy": 0.0, "tail": 0.0}
    first, last = wide[0][0], wide[-1][1]
    used = _cpu_at(timeline, t0 + last) - _cpu_at(timeline, t0 + first)
    return {"start": first, "busy": used / (last - first), "tail": end - last}


def _busy_line(r: dict[str, float]) -> str:
    """``_phases`` in words."""
    cores = os.cpu_count() or 1
    if not r["busy"]:
        return f"cores busy: never more than {1 + (cores - 1) / 2:g} of {cores} for a second"
    middle = r["wall"] - r["start"] - r["tail"]
    return (f"cores busy: {r['start']:.1f} s of start-up, then {r['busy']:.2f} of {cores} "
            f"for {middle:.1f} s, then a {r['tail']:.1f} s tail")  # fmt: skip


def _cpu_at(timeline: list[tuple[float, float]], when: float) -> float:
    """The tree's CPU seconds at the last sample not after ``when``."""
    return max((c for t, c in timeline if t <= when), default=0.0)


def _env(home: Path, endpoint: str, url: str) -> dict[str, str]:
    return {**cli_env(home, endpoint), "VAULTBORN_DATABASE_URL": url}


def _vaultborn(*args: str) -> list[str]:
    return [sys.executable, "-m", "vaultborn", *args]


def _enrollments(
    size: int, engine: str, pg: PgServer | None, endpoint: str, *, observe: bool
) -> dict[str, float]:
    """One ``setup --plan-dir`` of ``size`` plans: its wall time, and with ``observe`` what the
    process tree used (``_peak_memory``: reading every process's PSS five times a second costs
    CPU on the same cores, which would slow the run it measures)."""
    with tempfile.TemporaryDirectory(prefix="vaultborn-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        plans = Path(tmp) / "plans"
        write_demo_plans(plans, size)
        env = _env(home, endpoint, _database(engine, pg, home))
        # The exact CPU is counted in the timed runs; the observed one has its sampled figure.
        account = None if observe else CpuAccount.make()
        try:
            started = time.perf_counter()
            process = subprocess.Popen(
                _vaultborn("setup", "--plan-dir", str(plans), "--auto-approve",
                           "--concurrency", str(size), "--json"),
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
                preexec_fn=account.enter if account else None,
            )  # fmt: skip
            with _peak_memory(process.pid) if observe else nullcontext({}) as peak:
                out, err = process.communicate()
            wall = time.perf_counter() - started
            if account is not None:
                peak = {**peak, "tree_cpu": account.settled()}
        finally:
            if account is not None:
                account.close()
        if process.returncode != 0:
            reasons = {o["reason"] for o in json.loads(out or "[]") if o["reason"]}
            raise SystemExit(
                f"setup --plan-dir ({size}, {engine}) failed: {reasons or err[-3000:]}"
            )
        done = sum(1 for o in json.loads(out) if o["status"] == "done")
        return {**peak, "wall": wall, "done": done}


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
                # Timed unobserved: the median of three for the baseline every ratio divides
                # by, so one slow run of a shared machine does not flatter the ratios. Then
                # one run observed, for memory, CPU and how busy the cores were.
                tries = [
                    _enrollments(size, engine, pg, endpoint, observe=False)
                    for _ in range(3 if size == 1 else 1)
                ]
                wall = statistics.median(t["wall"] for t in tries)
                exact = [t["tree_cpu"] for t in tries if "tree_cpu" in t]
                r = {**_enrollments(size, engine, pg, endpoint, observe=True), "timed": wall}
                if exact:
                    r["exact_cpu"] = statistics.median(exact)
                results[size] = r
                spread = ", ".join(f"{t['wall']:.1f}" for t in tries)
                counted = (
                    f", {r['exact_cpu']:.1f} s CPU (the whole tree, counted by a cgroup)"
                    if exact
                    else ""
                )
                print(f"  {size:>3} at once: {wall:6.1f} s wall"
                      f"{f' (three tries: {spread} s)' if len(tries) > 1 else ''}"
                      f"{counted}")  # fmt: skip
                print(f"      observed once: {r['wall']:6.1f} s wall, {r['cpu']:6.1f} s CPU, peak "
                      f"{r['pss']:6.0f} MiB PSS / {r['rss']:6.0f} MiB RSS (process tree), "
                      f"{r['done']:.0f}/{size} done; the observing took {r['observer']:.1f} s "
                      f"CPU")  # fmt: skip
                print(f"      {_busy_line(r)}; the AWS emulator (moto, beside the tree) "
                      f"{r['emulator']:.1f} s CPU")  # fmt: skip
            one = results.get(1)
            for size in sizes:
                if one and size != 1:
                    r = results[size]
                    ratio = r["timed"] / one["timed"]
                    print(f"  {size} vs 1: {ratio:.2f}x the time of one"
                          f"{' (goal for 20: < 3x)' if size == 20 else ''}")  # fmt: skip
                    extra = {
                        k: (r[k] - one[k]) / (size - 1) for k in ("pss", "rss", "cpu", "emulator")
                    }
                    print(f"    per extra enrollment: {extra['pss']:.0f} MiB PSS "
                          f"(goal < 150 MB), {extra['rss']:.0f} MiB RSS (shared pages counted "
                          f"once per process), {extra['cpu']:.2f} s CPU (and "
                          f"{extra['emulator']:.2f} s in the AWS emulator)")  # fmt: skip
                    cpu = extra["cpu"]
                    if "exact_cpu" in r and "exact_cpu" in one:
                        cpu = (r["exact_cpu"] - one["exact_cpu"]) / (size - 1)
                        print(f"    per extra enrollment, counted by a cgroup in the timed runs: "
                              f"{cpu:.2f} s CPU (sampling misses processes that exit between "
                              f"two samples)")  # fmt: skip
                    cores = os.cpu_count() or 1
                    floor = one["timed"] + cpu * (size - 1) / cores
                    print(f"    CPU-bound floor on {cores} cores: {floor:.1f} s = "
                          f"{floor / one['timed']:.2f}x the time of one")  # fmt: skip

        if args.queue < 1:
            return  # --queue 0: no workers part
        engine = "postgresql" if "postgresql" in engines else engines[0]
        print(f"workers on one queue of {args.queue} runs ({engine}, --concurrency 2 each)")
        times = {n: _workers(n, args.queue, engine, pg, endpoint) for n in (1, 2)}
        for n, wall in sorted(times.items(), key=operator.itemgetter(0)):
            print(f"  {n} worker(s): {wall:6.1f} s")
        print(f"  2 vs 1: {times[2] / times[1]:.2f}x the time")


if __name__ == "__main__":
    main()
