"""Token cache benchmark: callers per token request, and a cached call against an uncached one.

Run: ``.venv/bin/python bench/token_cache.py [--callers 1000] [--samples 50]``

Starts the embedded dev IdP on loopback (temporary database) and a local vault in a temporary
VAULTBORN_HOME holding the agent's client secret, which the dev IdP also takes from the vault.
Prints counts and ratios only: the machine is shared, so there is no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from vaultborn.idp.tokens import TokenSource
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category

AUDIENCE = "https://api.example.com"
TITLE = "Auth0 M2M — bench-agent"
REF = f"op://ACL/{TITLE}/credential"


@contextmanager
def dev_idp(root: Path, vault: LocalVault) -> Iterator[str]:
    """The dev IdP on 127.0.0.1 with the demo tenant; the agent's secret comes from the vault."""
    from vaultborn.idp.devserver.server import start_dev_idp
    from vaultborn.idp.devserver.tenant import demo_tenant

    with start_dev_idp(
        demo_tenant(agent_secret_ref=REF),
        db=root / "idp.db",
        host="127.0.0.1",
        port=0,
        env={"MGMT_SECRET": secrets.token_urlsafe(32)},
        resolve_secret=vault.read,
        clock=time.time,
    ) as running:
        yield running.base_url


def threads_cold(base: str, vault: LocalVault, callers: int) -> TokenSource:
    with httpx.Client(timeout=30) as http:
        tokens = TokenSource(vault, domain=base, http=http)
        barrier = threading.Barrier(callers)

        def call() -> None:
            barrier.wait()
            tokens.token("agent", REF, AUDIENCE)

        pool = [threading.Thread(target=call) for _ in range(callers)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    return tokens


def tasks_cold(base: str, vault: LocalVault, callers: int) -> TokenSource:
    async def run() -> TokenSource:
        async with httpx.AsyncClient(timeout=30) as http:
            tokens = TokenSource(vault, domain=base, async_http=http)
            await asyncio.gather(*(tokens.atoken("agent", REF, AUDIENCE) for _ in range(callers)))
            return tokens

    return asyncio.run(run())


def latency(base: str, vault: LocalVault, samples: int) -> tuple[float, float, float]:
    """Median seconds of a cached ``token()``, an uncached one (fresh source), a vault read."""
    with httpx.Client(timeout=30) as http:
        warm = TokenSource(vault, domain=base, http=http)
        warm.token("agent", REF, AUDIENCE)
        cached = []
        for _ in range(max(samples * 40, 1000)):
            start = time.perf_counter()
            warm.token("agent", REF, AUDIENCE)
            cached.append(time.perf_counter() - start)
        uncached = []
        for _ in range(samples):
            fresh = TokenSource(vault, domain=base, http=http)
            start = time.perf_counter()
            fresh.token("agent", REF, AUDIENCE)
            uncached.append(time.perf_counter() - start)
    reads = []
    for _ in range(samples):
        start = time.perf_counter()
        vault.read(REF)
        reads.append(time.perf_counter() - start)
    return statistics.median(cached), statistics.median(uncached), statistics.median(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vaultborn-bench-") as tmp:
        root = Path(tmp)
        os.environ["VAULTBORN_HOME"] = str(root / "home")
        vault = LocalVault(root / "home")
        spec = ItemSpec(
            title=TITLE,
            category=Category.API_CREDENTIAL,
            assignments=(
                parse_assignment(f"credential={secrets.token_urlsafe(32)}"),
                parse_assignment("username=agent"),
            ),
        )
        vault.create_item("ACL", spec)
        with dev_idp(root, vault) as base:
            print(f"dev IdP at {base}; {args.callers} callers on a cold cache")
            t = threads_cold(base, vault, args.callers)
            print(f"  threads:       {t.stats.requests} token request(s), {t.stats.hits} hits")
            a = tasks_cold(base, vault, args.callers)
            print(f"  asyncio tasks: {a.stats.requests} token request(s), {a.stats.hits} hits")
            hit, miss, read = latency(base, vault, args.samples)
            print(f"token() latency, median ({args.samples} uncached samples):")
            print(f"  cached:   {hit * 1e6:10.1f} µs")
            print(f"  uncached: {miss * 1e6:10.1f} µs (vault read + POST /oauth/token)")
            print(f"  of which the vault read: {read * 1e6:10.1f} µs")
            print(f"  ratio uncached/cached: {miss / hit:,.0f}x")
        vault.close()


if __name__ == "__main__":
    main()
