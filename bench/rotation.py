"""Rotation benchmark: token requests while the agent's client secret rotates, and their failures.

Run: ``.venv/bin/python bench/rotation.py [--rounds 5] [--threads 4]``

Starts the embedded chain in process (dev IdP on loopback, local vault and moto in a temporary
directory; no setup needed for a client-secret rotation). Per round: ``--threads`` threads keep
asking the agent's ``TokenSource`` for a fresh token (the cache dropped before each request)
while ``rotate --what client-secret`` runs auto-approved to its end. Prints the requests made,
how many failed (the claim: 0) and how many needed the fallback; counts only, no timings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.graph.kit import Harness, embedded_run
from vaultborn.idp.errors import IdPError
from vaultborn.runner.lifecycle import Subject, lifecycle_start
from vaultborn.runner.runs import advance


def one_round(run: Harness, number: int, threads: int) -> tuple[int, int, str]:
    """Requests made, requests failed and the rotation's status."""
    agent = run.plan["agent"]
    stop = threading.Event()
    lock = threading.Lock()
    counts = [0, 0]

    def keep_asking() -> None:
        while True:
            run.deps.tokens.invalidate(agent["client_id"], agent["audience"])
            try:
                run.deps.tokens.token(agent["client_id"], agent["secret"], agent["audience"])
                failed = 0
            except IdPError as error:
                failed = 1
                print(f"  failed: {type(error).__name__}: {error}")
            with lock:
                counts[0] += 1
                counts[1] += failed
            if stop.is_set():
                return

    run_id = f"run-bench-rotation-{number}"
    start = lifecycle_start(Subject(run.plan, "sha256:bench"), run_id, "rotate:client-secret", 60)
    workers = [threading.Thread(target=keep_asking) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        view = asyncio.run(advance(run.db, run.deps, run_id, start=start))
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    return counts[0], counts[1], view.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4)
    options = parser.parse_args()
    total = failed = 0
    with tempfile.TemporaryDirectory() as tmp, embedded_run(Path(tmp)) as run:
        for number in range(options.rounds):
            asked, lost, status = one_round(run, number, options.threads)
            total, failed = total + asked, failed + lost
            print(f"round {number + 1}: rotation {status}, {asked} token requests, {lost} failed")
    print(f"rotations: {options.rounds}; token requests: {total}; failed: {failed}")


if __name__ == "__main__":
    main()
