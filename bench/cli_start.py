"""CLI start-up benchmark: whole-process wall time of the commands people run most, beside goals.

Run: ``.venv/bin/python bench/cli_start.py [--samples 7]``

Each command is a fresh ``vaultborn`` process against a fresh data directory with one item (a
password and an OTP field) and one finished-looking run database, so start-up, imports and the
command's own work are all in the figure; ``python -c pass`` is timed beside them as the floor
of any Python CLI on this machine. The commands alternate within each sample, so a drift of the
machine's speed affects all of them alike. Prints medians and the ratio to the goal only: the
machine is shared, so there is no pass/fail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
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
        ["runs"],  # creates the run database the way a first setup would find it
    ):  # fmt: skip
        subprocess.run([VAULTBORN, *argv], env=env, check=True, capture_output=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp) / ".vaultborn")
        times: dict[str, list[float]] = {name: [] for name in GOALS}
        for _ in range(args.samples + 1):  # the first round warms the file cache, not counted
            for name, argv in commands().items():
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
