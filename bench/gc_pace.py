"""Collector-pace benchmark: ``vaultborn setup`` with CPython's default collector thresholds
against the pace the CLI sets (``vaultborn.core.collector``), collections and their time counted.

Run: ``.venv/bin/python bench/gc_pace.py [--sizes 1,20] [--samples 3]``

Each sample runs ``vaultborn setup --plan-dir`` (embedded demo plans, auto-approved, all at
once) twice in fresh homes against one moto server started here: once as the CLI runs, once
with ``pace_for_a_command`` replaced by nothing (CPython's 700, 10, 10); the order alternates
between samples. A wrapper around ``vaultborn.cli.main`` counts the collections by generation
and the time inside them (``gc.callbacks``), and the whole process tree's CPU is counted by a
cgroup where this runs as root. Prints medians and ratios only: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cpu_account import CpuAccount
from tests.faults.clikit import cli_env, moto_server
from tests.scale.plans import write_demo_plans

# The CLI's entry, with the collector's work counted; "default" leaves the pace as CPython has it.
_WRAPPER = """
import gc, json, os, sys, time
counted = {"ms": [0.0, 0.0, 0.0], "n": [0, 0, 0]}
started = [0.0]
def count(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        counted["ms"][info["generation"]] += (time.perf_counter() - started[0]) * 1000
        counted["n"][info["generation"]] += 1
gc.callbacks.append(count)
import vaultborn.cli as cli
if sys.argv[1] == "default":
    cli.pace_for_a_command = lambda: None
try:
    code = cli.main(sys.argv[2:])
finally:
    with open(os.environ["BENCH_GC_OUT"], "w") as out:
        json.dump(counted, out)
sys.exit(code)
"""

PACES = ("default", "vaultborn")


def one_setup(size: int, pace: str, endpoint: str) -> dict[str, Any]:
    """``setup --plan-dir`` of ``size`` plans with the collector at ``pace``: wall, CPU, GC."""
    with tempfile.TemporaryDirectory(prefix="vaultborn-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        plans = Path(tmp) / "plans"
        write_demo_plans(plans, size)
        env = {**cli_env(home, endpoint), "BENCH_GC_OUT": str(Path(tmp) / "gc.json")}
        account = CpuAccount.make()
        try:
            started = time.perf_counter()
            process = subprocess.run(
                [sys.executable, "-c", _WRAPPER, pace, "setup", "--plan-dir", str(plans),
                 "--auto-approve", "--concurrency", str(size), "--json"],
                env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                preexec_fn=account.enter if account else None,
            )  # fmt: skip
            wall = time.perf_counter() - started
            cpu = account.settled() if account else float("nan")
        finally:
            if account is not None:
                account.close()
        if process.returncode != 0:
            raise SystemExit(f"setup ({size}, {pace}) failed: {process.stderr[-2000:]}")
        done = sum(1 for o in json.loads(process.stdout) if o["status"] == "done")
        counted = json.loads((Path(tmp) / "gc.json").read_text())
        return {"wall": wall, "cpu": cpu, "done": done, **counted}


def report(size: int, runs: dict[str, list[dict[str, Any]]]) -> None:
    """Medians per pace, and the ratios of the CLI's pace to the default."""

    def med(pace: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[pace])

    print(f"{size} at once, median of {len(runs['default'])}:")
    for pace in PACES:
        gc_ms = statistics.median(sum(r["ms"]) for r in runs[pace])
        full = statistics.median(r["n"][2] for r in runs[pace])
        collections = statistics.median(sum(r["n"]) for r in runs[pace])
        done = min(r["done"] for r in runs[pace])
        print(f"  {pace:<10} wall {med(pace, 'wall'):5.1f} s  CPU {med(pace, 'cpu'):5.1f} s  "
              f"collector {gc_ms / 1000:4.2f} s in {collections:.0f} collections "
              f"({full:.0f} of the whole heap); {done}/{size} done")  # fmt: skip
    for key, what in (("wall", "wall"), ("cpu", "CPU")):
        ratio = med("vaultborn", key) / med("default", key)
        print(f"  {what}: vaultborn's pace / default = {ratio:.2f}")


def main() -> None:
    """Parse arguments, start moto, run the samples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20")
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("(not root: no cgroup, so CPU is not counted)")
    with moto_server() as endpoint:
        for size in (int(s) for s in args.sizes.split(",")):
            runs: dict[str, list[dict[str, Any]]] = {pace: [] for pace in PACES}
            for sample in range(args.samples):
                order = PACES if sample % 2 == 0 else PACES[::-1]
                for pace in order:
                    runs[pace].append(one_setup(size, pace, endpoint))
            report(size, runs)


if __name__ == "__main__":
    main()
