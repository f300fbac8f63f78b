"""A setup run's ``Deps`` on the embedded defaults, built by hand so tests can shape them.

``embedded_run`` starts a dev IdP (optionally with a human check, optionally behind a proxy
such as ``tests.faults.proxy.FaultProxy``), the local vault with the demo's secrets, moto
in process, and yields a ``Harness`` whose ``drive``/``resume`` drive the graph on one event
loop (closing the run's Chromium on it). ``browser_pids`` finds the Chromium browser
processes this test process launched (Playwright has no API for it), to kill one mid-run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.policy import Policy
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.idp.tokens import TokenSource
from vaultborn.nodes.deps import BrowserChoice, Deps
from vaultborn.runner.plan import default_plan
from vaultborn.runner.runs import RunView, StateDb, advance, view_run
from vaultborn.runner.runtime import ensure_demo_secrets
from vaultborn.stores.registry import open_stores
from vaultborn.vault.local import LocalVault


@dataclass
class Harness:
    """The pieces of one embedded run."""

    deps: Deps
    idp: RunningDevIdP
    vault: LocalVault
    audit: AuditLog
    db: StateDb
    plan: dict[str, Any]

    def management(self) -> Auth0ManagementClient:
        """A management client (through the same front as the run's)."""
        return self.deps.management()

    def drive(self, run_id: str, *answers: object) -> list[RunView]:
        """Start ``run_id``, then give each answer in turn; one view per step."""
        start = {"run_id": run_id, "plan": self.plan, "plan_digest": "sha256:test",
                 "started_at": time.time()}  # fmt: skip

        async def go() -> list[RunView]:
            try:
                views = [await advance(self.db, self.deps, run_id, start=start)]
                for answer in answers:
                    views.append(await advance(self.db, self.deps, run_id, answer=answer))
                return views
            finally:
                await self.deps.browser.pool.close()

        return asyncio.run(go())

    def resume(self, run_id: str) -> RunView:
        """Run ``run_id`` again from where it stopped (no answer: a resume after a failure)."""

        async def go() -> RunView:
            try:
                return await advance(self.db, self.deps, run_id)
            finally:
                await self.deps.browser.pool.close()

        return asyncio.run(go())

    def view(self, run_id: str) -> RunView:
        """Where ``run_id`` is now."""
        with self.db.open() as saver:
            return view_run(saver, run_id)


def browser_pids() -> list[int]:
    """The Chromium browser processes (not their renderers …) descending from this process."""
    found = []
    for pid, command in descendants(os.getpid()).items():
        program = command.split(b"\0", 1)[0].split(b" ", 1)[0]
        if program.rsplit(b"/", 1)[-1] in _CHROMIUM_NAMES and b"--type=" not in command:
            found.append(pid)
    return found


def descendants(root: int) -> dict[int, bytes]:
    """Every live process below ``root`` (children, their children …), with its command line."""
    parents: dict[int, int] = {}
    commands: dict[int, bytes] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            if fields[0] == b"Z":
                continue  # exited, not reaped yet
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                commands[int(entry)] = cmdline.read()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    found: dict[int, bytes] = {}
    stack = [root]
    while stack:
        parent = stack.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = commands[pid]
                stack.append(pid)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_CHROMIUM_NAMES = (
    b"chromium", b"chrome", b"chromium-headless-shell", b"chrome-headless-shell", b"headless_shell"
)  # fmt: skip


@contextmanager
def embedded_run(
    tmp_path: Path,
    *,
    human: bool = False,
    front: Callable[[str], str] | None = None,
    browser: BrowserChoice | None = None,
    multiple_enrollments: bool = True,
) -> Iterator[Harness]:
    """Everything a run needs, on loopback; ``front`` maps the IdP's URL to the one to use.

    ``browser`` replaces the default browser choice (a shorter page timeout, say);
    ``multiple_enrollments`` False makes the dev IdP refuse a second TOTP enrollment.
    """
    plan = default_plan().to_dict()
    vault = LocalVault(tmp_path / "home")
    ensure_demo_secrets(vault, plan)
    tenant = dataclasses.replace(
        demo_tenant(
            mgmt_secret=vault.read(plan["idp"]["management_secret"]),
            agent_secret=vault.read(plan["agent"]["secret"]),
        ),
        require_human_check=human,
        multiple_enrollments=multiple_enrollments,
    )
    db = StateDb(f"sqlite:///{tmp_path / 'state.db'}")
    audit = AuditLog(db.url)
    try:
        with start_dev_idp(tenant, db=tmp_path / "devidp.db") as idp:
            base = front(idp.base_url) if front else idp.base_url
            notices: list[str] = []
            with (
                TokenSource(vault, domain=base) as tokens,
                open_stores(notices.append, env={}, home=tmp_path) as stores,
            ):
                for seed in plan["seed"]:  # opens the embedded AWS now, so it can be emptied
                    stores.store_for(seed["to"])
                _reset_embedded_moto(notices)

                def management() -> Auth0ManagementClient:
                    secret = plan["idp"]["management_secret"]
                    return Auth0ManagementClient(base, tokens, client_id="mgmt", secret_ref=secret)

                deps = Deps(
                    vault=vault, management=management, tokens=tokens,
                    store_for=stores.store_for, idp_base_url=base,
                    protected_api=base + "api/protected/whoami", policy=Policy.default_policy(),
                    audit=audit, auto_approver="tester",
                )  # fmt: skip
                if browser is not None:
                    deps = dataclasses.replace(deps, browser=browser)
                yield Harness(deps, idp, vault, audit, db, plan)
    finally:
        audit.close()
        vault.close()


def _reset_embedded_moto(notices: list[str]) -> None:
    """Empty the embedded emulator: moto keeps its secrets per process, not per server, so a
    harness would otherwise see what an earlier test of this process seeded."""
    found = re.search(r"http://127\.0\.0\.1:\d+", " ".join(notices))
    assert found is not None, notices
    httpx.post(found.group(0) + "/moto-api/reset").raise_for_status()
