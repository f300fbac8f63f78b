"""Browser benchmark: Chromium launch, capture and a whole enrollment (medians), peak memory.

Run: ``.venv/bin/python bench/browser_enrollment.py [--samples 5]``

Starts the embedded dev IdP on loopback (temporary database) and a local vault in a temporary
directory. Per sample: launch Chromium and close it; on one shared Chromium, capture the seed
of a fresh enrollment ticket ("Trouble Scanning?" included); and run a whole enrollment
(capture → vault → code from the vault → confirmed). Peak memory is the high-water resident
set of this process and, separately, the sum over Chromium's processes (read from /proc).
Prints medians and ratios only: the machine is shared, so there is no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from vaultborn.browser.capture import capture_totp
from vaultborn.browser.enroll import VaultTotpTarget, enroll_totp
from vaultborn.browser.session import BrowserSession
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.secret import Secret

MGMT = Secret("bench-mgmt-secret-" + secrets.token_hex(8))
AGENT = Secret("bench-agent-secret-" + secrets.token_hex(8))


def ticket(idp: RunningDevIdP, http: httpx.Client) -> str:
    """A fresh user and its enrollment ticket URL."""
    token = http.post(
        "oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "mgmt",
            "client_secret": MGMT.reveal(),
            "audience": idp.management_audience,
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    user = http.post(
        "api/v2/users",
        json={
            "email": f"bench-{secrets.token_hex(4)}@example.com",
            "password": "Bench-" + secrets.token_urlsafe(12),
            "connection": "Username-Password-Authentication",
        },
        headers=headers,
    ).json()
    answer = http.post(
        "api/v2/guardian/enrollments/ticket", json={"user_id": user["user_id"]}, headers=headers
    )
    return str(answer.json()["ticket_url"])


def chromium_peak_kib() -> int:
    """Sum of the high-water RSS (VmHWM) of this process's Chromium descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"chrom" not in cmd.lower():
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total


async def bench(samples: int, root: Path) -> None:
    """Measure and print."""
    launches = []
    for _ in range(samples):
        started = time.perf_counter()
        async with BrowserSession():
            launches.append(time.perf_counter() - started)

    vault = LocalVault(root / "home")
    tenant = demo_tenant(mgmt_secret=MGMT, agent_secret=AGENT)
    captures, enrollments, chromium_kib = [], [], 0
    with (
        start_dev_idp(tenant, db=root / "devidp.db") as idp,
        httpx.Client(base_url=idp.base_url, timeout=10) as http,
    ):
        async with BrowserSession() as session:
            for index in range(samples):
                async with session.new_context() as context:
                    page = await context.new_page()
                    await page.goto(ticket(idp, http))
                    started = time.perf_counter()
                    await capture_totp(page)
                    captures.append(time.perf_counter() - started)
                title = f"bench-{index}"
                vault.create_item("ACL", ItemSpec(title=title))
                async with session.new_context() as context:
                    page = await context.new_page()
                    url = ticket(idp, http)
                    started = time.perf_counter()
                    await enroll_totp(page, VaultTotpTarget(vault, "ACL", title), url=url)
                    enrollments.append(time.perf_counter() - started)
                chromium_kib = max(chromium_kib, chromium_peak_kib())
    vault.close()

    launch, capture, enroll = (statistics.median(x) for x in (launches, captures, enrollments))
    python_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"samples: {samples}")
    print(f"chromium launch+close, median: {launch * 1000:.0f} ms")
    print(f"capture_totp on the ticket page, median: {capture * 1000:.0f} ms")
    print(f"enrollment (goto → capture → vault → code → confirmed), median: {enroll * 1000:.0f} ms")
    print(f"enrollment / launch: {enroll / launch:.2f}x; capture share of enrollment: "
          f"{capture / enroll:.0%}")  # fmt: skip
    print(
        f"peak RSS: python {python_mib:.0f} MiB, chromium processes {chromium_kib / 1024:.0f} MiB"
    )


def main() -> None:
    """Parse arguments and run the benchmark in a temporary directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VAULTBORN_HOME"] = str(Path(tmp) / "home")
        asyncio.run(bench(args.samples, Path(tmp)))


if __name__ == "__main__":
    main()
