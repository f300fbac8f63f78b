"""Test-suite benchmark: the wall time of the tests as ``./dev test`` runs them, beside the goal.

Run: ``.venv/bin/python bench/suite.py [--workers 2] [--exec] [PATHS …]``

Runs pytest on PATHS (default: the whole suite) with ``--workers`` xdist processes, as a full
``./dev test`` does (without ruff, mypy and the set-up), and prints the wall time, the tests
that passed, and the ratio to the goal for the whole suite (15 min on this 2-core machine).
``--exec`` also runs the same tests with every ``vaultborn`` process exec'd
(``VAULTBORN_TEST_FORKSERVER=0``) and prints the ratio of the two: what the tests' fork server
(``tests/forkserver.py``) saves. Prints figures only: the machine is shared, so there is no
pass/fail; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MINUTES = 15.0
_SUMMARY = re.compile(r"(\d+ (?:passed|failed|errors?)\b.*?) in [\d.]+s")


def run_suite(paths: list[str], workers: int, *, forked: bool) -> tuple[float, str, int]:
    """Wall seconds, pytest's summary line, and its exit code."""
    env = {**os.environ, "VAULTBORN_TEST_FORKSERVER": "1" if forked else "0"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths]
    if workers > 1:
        command += ["-n", str(workers), "--dist", "worksteal"]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    summaries = _SUMMARY.findall(done.stdout)
    return wall, (summaries[-1] if summaries else done.stdout[-300:]), done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--exec", action="store_true", help="also run with exec'd processes")
    parser.add_argument("paths", nargs="*", default=["tests"])
    args = parser.parse_args()
    whole = args.paths == ["tests"]
    modes = [True, False] if args.exec else [True]
    walls = {}
    for forked in modes:
        wall, summary, code = run_suite(args.paths, args.workers, forked=forked)
        walls[forked] = wall
        how = "forked from the server" if forked else "exec'd"
        goal = f" (goal for the suite: <= {GOAL_MINUTES:g} min)" if whole else ""
        print(f"{' '.join(args.paths)}, {args.workers} workers, vaultborn processes {how}: "
              f"{wall / 60:.1f} min{goal}; {summary}; exit {code}")  # fmt: skip
        if whole:
            print(f"  {wall / 60 / GOAL_MINUTES:.2f}x the goal")
    if args.exec:
        print(f"  forked vs exec'd: {walls[True] / walls[False]:.2f}x the time")


if __name__ == "__main__":
    main()
