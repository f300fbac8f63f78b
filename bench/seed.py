"""Seed benchmark: vault calls per seed, and the time of a seed (created, unchanged, updated).

Run: ``.venv/bin/python bench/seed.py [--samples 30]``

A local vault in a temporary VAULTBORN_HOME and moto's server on loopback (the embedded
default), for each AWS store (Secrets Manager, SSM Parameter Store). Prints counts and ratios
only: the machine is shared, so there is no pass/fail.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from vaultborn.stores.registry import open_stores
from vaultborn.stores.seed import seed
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category

TITLE = "bench — api"
REF = f"op://ACL/{TITLE}/credential"


class Counting:
    """The vault, counting the calls each seed makes to it."""

    def __init__(self, vault: LocalVault) -> None:
        self.vault = vault
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.vault, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted


def timed(samples: int, action: Any) -> float:
    times = []
    for i in range(samples):
        start = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


TARGETS = {
    "aws-secretsmanager": "aws-secretsmanager://us-east-1/bench/{}",
    "aws-ssm": "aws-ssm://us-east-1/bench/{}",
}
"""One target template per store; ``{}`` is the sample."""


def bench_store(
    vault: LocalVault, store_for: Any, target: str, samples: int
) -> tuple[float, float, float]:
    """Print and return the medians (created, unchanged, updated) of seeds into one store."""
    store = store_for(target.format("first"))
    counting = Counting(vault)
    receipt = seed(counting, REF, store, target.format("first"))  # type: ignore[arg-type]
    per_seed = sum(counting.calls.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counting.calls.items()))
    print(f"{store.scheme}: vault calls per seed: {per_seed} ({detail}); value reads: 1")
    created = timed(samples, lambda i: seed(vault, REF, store, target.format(i)))
    unchanged = timed(samples, lambda i: seed(vault, REF, store, target.format(i)))

    def bump(i: int) -> None:
        edit = ItemEdit(assignments=(parse_assignment(f"credential={secrets.token_urlsafe(32)}"),))
        vault.edit_item("ACL", TITLE, edit)
        seed(vault, REF, store, target.format("first"))

    bumped = timed(samples, bump)
    repeat = seed(vault, REF, store, target.format("first"))
    print(f"  seed, median of {samples} ({receipt.outcome} → {repeat.outcome} on repeat):")
    print(f"    created:   {created * 1e3:8.2f} ms")
    print(f"    unchanged: {unchanged * 1e3:8.2f} ms (no store write)")
    print(f"    updated:   {bumped * 1e3:8.2f} ms (vault edit + the store's writes)")
    print(f"    ratio created/unchanged: {created / unchanged:.2f}x")
    return created, unchanged, bumped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vaultborn-bench-") as tmp:
        root = Path(tmp)
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            del os.environ[name]
        os.environ["HOME"] = str(root)  # no ~/.aws: the embedded default serves
        vault = LocalVault(root / "home")
        value = f"credential={secrets.token_urlsafe(32)}"
        spec = ItemSpec(
            title=TITLE, category=Category.PASSWORD, assignments=(parse_assignment(value),)
        )
        vault.create_item("ACL", spec)
        with open_stores(notice=lambda line: print(line, file=sys.stderr)) as stores:
            medians = {
                scheme: bench_store(vault, stores.store_for, target, args.samples)
                for scheme, target in TARGETS.items()
            }
        sm, ssm = medians["aws-secretsmanager"], medians["aws-ssm"]
        print("ratios, Parameter Store / Secrets Manager (same run):")
        for i, label in enumerate(("created", "unchanged", "updated")):
            print(f"  {label + ':':<11}{ssm[i] / sm[i]:6.2f}x")
        vault.close()


if __name__ == "__main__":
    main()
