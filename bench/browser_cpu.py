"""Chromium's CPU per enrollment, and the floor it puts under N enrollments at once.

Run: ``.venv/bin/python bench/browser_cpu.py [--sizes 1,5,20] [--samples 3] [--before]``

Starts the embedded dev IdP on loopback and a local vault in a temporary directory. For each
size N: a fresh ``BrowserPool`` (one Chromium, as a fleet has), N flows at once, each an
enrollment (ticket page → "can't scan" → seed into the vault → code from the vault →
confirmed) and a login drill (password and code from the vault) in the page the enrollment
handed on, wiped (as the setup graph runs them); then the pool is closed. Measured per size,
the median of ``--samples`` tries:

- CPU seconds of the browser's process tree (Playwright's driver, Chromium and every
  renderer), by process kind, read from /proc every 0.2 s: a lower bound (a renderer's last
  moments, or a whole one shorter than 0.2 s, are not seen). ``getrusage(RUSAGE_CHILDREN)``
  sees far less: Chromium's renderers are not reaped up into this process;
- CPU seconds of this process (the flows, the vault and the dev IdP in it);
- wall time, and the load average before it (the machine is shared).

The floor: N flows need N times the CPU of one beyond the launch; on C cores no overlap gets
them done in less than ``1 + (N-1)·cpu_per_extra/(C·wall_one)`` times the wall time of one.
``--before`` launches Chromium with Playwright's flags and vaultborn's older ones only
(without ``chromium.DISABLED_FEATURES``), for a before/after comparison on the same machine.
Headless sessions launch Chromium's headless shell where it is installed
(``chromium.chromium_for``); ``VAULTBORN_CHROMIUM=chromium`` measures the full browser instead.
Prints figures and ratios only, no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.graph.kit import cpu_seconds
from tests.idp.devkit import ENV, PASSWORD, client, create_ticket, create_user, mgmt_token
from vaultborn.browser import session
from vaultborn.browser.chromium import (
    DISABLED_FEATURES,
    LAUNCH_ARGS,
    PLAYWRIGHT_DISABLED_FEATURES,
    chromium_for,
)
from vaultborn.browser.enroll import VaultPassword, VaultTotpTarget, enroll_totp, login_drill
from vaultborn.browser.pool import BrowserPool
from vaultborn.browser.runner import FlowOptions
from vaultborn.browser.totp_steps import StepLedger
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault

KINDS = ("driver", "main", "gpu", "renderer", "utility", "zygote", "other")


@dataclass(frozen=True)
class Flow:
    """One enrollment to run: its user, ticket and vault item."""

    email: str
    ticket_url: str
    item: str


def _kind(cmdline: bytes) -> str:
    """Which of Chromium's processes (or Playwright's driver) a command line is."""
    if b"run-driver" in cmdline:
        return "driver"
    if b"chrom" not in cmdline.lower():
        return "other"
    for kind in ("gpu", "renderer", "utility", "zygote"):
        if f"--type={kind}".encode() in cmdline:
            return kind
    return "main" if b"--type=" not in cmdline else "other"


def _tree() -> dict[int, bytes]:
    """Every live process below this one, with its command line.

    Unlike ``tests.graph.kit.descendants`` it keeps exited, unreaped ones: their CPU counts.
    """
    parents: dict[int, int] = {}
    commands: dict[int, bytes] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parents[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                commands[int(entry)] = cmdline.read()
        except (OSError, IndexError, ValueError):
            continue
    found, todo = {}, [os.getpid()]
    while todo:
        parent = todo.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = commands.get(pid, b"")
                todo.append(pid)
    return found


@contextmanager
def _by_kind() -> Iterator[dict[str, float]]:
    """CPU seconds of the browser's processes by kind, and how many of each there were."""
    seen: dict[int, tuple[str, float]] = {}
    split = dict.fromkeys(KINDS, 0.0)
    stop = threading.Event()

    def sample() -> None:
        while True:
            for pid, cmdline in _tree().items():
                kind = seen[pid][0] if pid in seen else _kind(cmdline)
                seen[pid] = (kind, max(seen.get(pid, (kind, 0.0))[1], cpu_seconds(pid)))
            if stop.wait(0.2):
                break

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield split
    finally:
        stop.set()
        thread.join()
        for kind, seconds in seen.values():
            split[kind] += seconds
            split[f"{kind}#"] = split.get(f"{kind}#", 0) + 1


def _flows(idp: RunningDevIdP, vault: LocalVault, count: int) -> list[Flow]:
    flows = []
    with client(idp.base_url) as http:
        token = mgmt_token(idp)
        for _ in range(count):
            tag = secrets.token_hex(4)
            email, item = f"bench-{tag}@example.com", f"bench-{tag}"
            vault.create_item(
                "ACL",
                ItemSpec(
                    title=item,
                    assignments=(
                        parse_assignment(f"username={email}"),
                        parse_assignment(f"password={PASSWORD}"),
                    ),
                ),
            )
            user = create_user(http, token, email)
            ticket = create_ticket(http, token, user["user_id"])
            flows.append(Flow(email, ticket["ticket_url"], item))
    return flows


async def _one(pool: BrowserPool, idp: RunningDevIdP, vault: LocalVault, flow: Flow) -> None:
    target = VaultTotpTarget(vault, "ACL", flow.item)
    options = FlowOptions(steps=_LEDGER, timeout=60.0)
    async with pool.page(hand_on=flow.item) as lent:  # as the setup graph does
        await enroll_totp(lent.page, target, url=flow.ticket_url, options=options)
    async with pool.page(take=flow.item) as lent:
        password = VaultPassword(vault, f"op://ACL/{flow.item}/password")
        await login_drill(
            lent.page, idp.base_url + "login", target, username=flow.email, password=password,
            options=options,
        )  # fmt: skip


_LEDGER = StepLedger()


async def _size(idp: RunningDevIdP, vault: LocalVault, count: int) -> dict[str, float]:
    flows = _flows(idp, vault, count)
    load = os.getloadavg()[0]
    own = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with _by_kind() as split:
        pool = BrowserPool()
        try:
            await asyncio.gather(*(_one(pool, idp, vault, f) for f in flows))
        finally:
            await pool.close()
    wall = time.perf_counter() - started
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    browser_cpu = sum(split[kind] for kind in KINDS)
    own_cpu = (own_after.ru_utime + own_after.ru_stime) - (own.ru_utime + own.ru_stime)
    return {**split, "wall": wall, "browser": browser_cpu, "own": own_cpu, "load": load}


def _median(tries: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(t.get(key, 0.0) for t in tries) for key in tries[0]}


async def bench(sizes: list[int], samples: int, root: Path) -> None:
    """Measure and print."""
    vault = LocalVault(root / "home")
    cores = os.cpu_count() or 1
    results: dict[int, dict[str, float]] = {}
    with start_dev_idp(demo_tenant(), db=root / "devidp.db", env=ENV) as idp:
        await _size(idp, vault, 1)  # warm: page caches, imports, the IdP's first requests
        for size in sizes:
            r = results[size] = _median([await _size(idp, vault, size) for _ in range(samples)])
            split = ", ".join(
                f"{k} {r[k]:.2f} s/{r.get(k + '#', 0):.0f}" for k in KINDS if r.get(k + "#")
            )
            print(
                f"{size:>3} at once: wall {r['wall']:5.1f} s (load {r['load']:.1f}), CPU: "
                f"browser tree {r['browser']:5.2f} s, this process {r['own']:5.2f} s"
            )
            print(f"      browser CPU by process kind, seconds/processes (sampled): {split}")
    vault.close()
    one = results.get(1)
    if one is None:
        return
    print(f"one enrollment: {one['browser']:.2f} s browser CPU (launch included), "
          f"{one['own']:.2f} s in this process")  # fmt: skip
    for size, r in results.items():
        if size == 1:
            continue
        per_browser = (r["browser"] - one["browser"]) / (size - 1)
        per_total = (r["browser"] + r["own"] - one["browser"] - one["own"]) / (size - 1)
        floor = 1 + (size - 1) * per_total / (cores * one["wall"])
        print(f"{size} at once: {r['wall'] / one['wall']:.2f}x the wall of one; per extra "
              f"enrollment {per_browser:.2f} s browser CPU, {per_total:.2f} s in all; "
              f"floor on {cores} cores {floor:.2f}x")  # fmt: skip


def main() -> None:
    """Parse arguments and run the benchmark in a temporary directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,20")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--before", action="store_true", help="without DISABLED_FEATURES")
    args = parser.parse_args()
    if args.before:
        playwrights = "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES)
        # The session reads the flags it imported: replaced there, for this process only.
        session.LAUNCH_ARGS = tuple(  # type: ignore[attr-defined]
            playwrights if a.startswith("--disable-features=") else a for a in LAUNCH_ARGS
        )
    chosen = chromium_for(headed=False)
    print(f"{chosen.path if chosen else 'no Chromium'} ({chosen.version if chosen else '-'}), "
          f"without {', '.join(DISABLED_FEATURES) if not args.before else 'nothing'} "
          f"beside Playwright's features")  # fmt: skip
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VAULTBORN_HOME"] = str(Path(tmp) / "home")
        asyncio.run(bench(sizes, args.samples, Path(tmp)))


if __name__ == "__main__":
    main()
