"""CLI start-up benchmark: whole-process wall time of the commands people run most, beside goals.

Run: ``.venv/bin/python bench/cli_start.py [--samples 7]``

Each command is a fresh ``vaultborn`` process against a fresh data directory with one item (a
password and an OTP field) and a run database with one run waiting at its vault session, so
start-up, imports and the command's own work are all in the figure. ``runs`` reads the view
the setup kept (``vaultborn.runner.view_cache``); "runs, no kept view" drops the kept views before
each call, so LangGraph works the view out again (what the first look after an older
vaultborn, or at a PostgreSQL database, costs); ``python -c pass`` is timed beside them as the floor
of any Python CLI on this machine. The commands alternate within each sample, so a drift of the
machine's speed affects all of them alike. Prints medians and the ratio to the goal only: the
machine is shared, so there is no pass/fail.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAULTBORN = str(ROOT / ".venv" / "bin" / "vaultborn")
ITEM = "Bench — item"
REF = f"op://ACL/{ITEM}/password"

GOALS = {
    "read REF": 0.3,
    "otp ITEM": 0.3,
    "run --env K=REF -- true": 0.4,
    "runs": 0.5,
    "approvals": 0.5,
    "runs, no kept view": None,
    "audit verify": None,
    "--version": None,
    "python -c pass": None,
}


def commands() -> dict[str, list[str]]:
    return {
        "read REF": [VAULTBORN, "read", REF],
        "otp ITEM": [VAULTBORN, "otp", ITEM, "--vault", "ACL"],
        "run --env K=REF -- true": [VAULTBORN, "run", "--env", f"K={REF}", "--", "true"],
        "runs": [VAULTBORN, "runs"],
        "approvals": [VAULTBORN, "approvals"],
        "runs, no kept view": [VAULTBORN, "runs"],
        "audit verify": [VAULTBORN, "audit", "verify"],
        "--version": [VAULTBORN, "--version"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }


def prepare(home: Path) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home.parent), "VAULTBORN_HOME": str(home)}
    uri = "otpauth://totp/Bench:b?secret=JBSWY3DPEHPK3PXP&issuer=Bench"
    for argv in (
        ["item", "create", "--vault", "ACL", "--title", ITEM, "--category", "login",
         "--username", "b@example.com", "--generate-password"],
        ["item", "edit", ITEM, "--vault", "ACL", f"one-time password[otp]={uri}"],
    ):  # fmt: skip
        subprocess.run([VAULTBORN, *argv], env=env, check=True, capture_output=True)
    waits = subprocess.run([VAULTBORN, "setup", "--json"], env=env, capture_output=True)
    if waits.returncode != 3:
        raise SystemExit(f"setup exited {waits.returncode}: {waits.stderr.decode()}")
    return env


def drop_kept_views(home: Path) -> None:
    """Forget the views moves kept, so the next look works them out with LangGraph."""
    with closing(sqlite3.connect(home / "state.db")) as conn, conn:
        conn.execute("DELETE FROM run_views")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / ".vaultborn"
        env = prepare(home)
        times: dict[str, list[float]] = {name: [] for name in GOALS}
        for _ in range(args.samples + 1):  # the first round warms the file cache, not counted
            for name, argv in commands().items():
                if name == "runs, no kept view":
                    drop_kept_views(home)
                started = time.perf_counter()
                done = subprocess.run(argv, env=env, capture_output=True, check=False)
                elapsed = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(f"{name} exited {done.returncode}: {done.stderr.decode()}")
                times[name].append(elapsed)
    print(f"whole-process wall time, median of {args.samples} (first round not counted)")
    for name, goal in GOALS.items():
        median = statistics.median(times[name][1:])
        spread = f"{min(times[name][1:]):.3f}-{max(times[name][1:]):.3f}"
        verdict = f"goal {goal:.1f} s, ratio {median / goal:.2f}" if goal else "(reference)"
        print(f"  {name:<26} {median:6.3f} s  [{spread}]  {verdict}")


if __name__ == "__main__":
    main()
