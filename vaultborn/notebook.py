"""``DemoSession``: the embedded setup, driven from a notebook one cell (one gate) at a time.

A notebook kernel runs its own event loop, so ``asyncio.run`` fails there; everything here is
awaited at the top level of a cell::

    demo = await DemoSession(demo_home()).open()
    view = await demo.start()        # waits at the vault-session gate
    view = await demo.approve()      # … and at each gate after it
    await demo.close()               # Chromium, the dev IdP, the emulated AWS

The session opens what ``vaultborn setup`` opens (``vaultborn.runner.runtime.open_runtime``: local
vault, dev IdP, AWS store, one Chromium) with the run database in its home, so the CLI sees
the same runs (``VAULTBORN_HOME=HOME vaultborn runs``). What it returns is references, ids and
metadata; a secret value never leaves the vault through it. As with the CLI, the run
database's keys are born in the local vault when the session first opens: they seal the
checkpoints and key the audit chain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from vaultborn.approvals.audit import AuditEvent, AuditLog
from vaultborn.approvals.policy import Policy
from vaultborn.approvals.request import answer_for
from vaultborn.browser.pool import BrowserPool
from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import prepare_database
from vaultborn.graphs.setup import build_graph
from vaultborn.nodes.deps import BrowserChoice, Deps
from vaultborn.runner.leases import hold_run
from vaultborn.runner.plan import Plan, default_plan
from vaultborn.runner.runs import (
    RunView,
    StateDb,
    advance,
    history,
    list_runs,
    new_run_id,
    view_run,
)
from vaultborn.runner.runtime import RunOptions, open_runtime
from vaultborn.runner.state_db import keys_home, state_db
from vaultborn.runner.wiring import Settings, open_vault
from vaultborn.vault.model import Item

__all__ = ["CliRun", "DemoSession", "demo_home", "run_cli"]


def demo_home(env: Mapping[str, str] = os.environ) -> Path:
    """``VAULTBORN_HOME`` if set, else a fresh private temporary directory (never ~/.vaultborn)."""
    given = env.get("VAULTBORN_HOME")
    if given:
        return Path(given).expanduser()
    return Path(tempfile.mkdtemp(prefix="vaultborn-demo-"))


@dataclass(frozen=True)
class CliRun:
    """One ``vaultborn`` command in its own process: what ran, its exit code and output."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """The command's ``--json`` output, parsed."""
        return json.loads(self.out)

    def __str__(self) -> str:
        lines = [f"$ vaultborn {' '.join(self.args)}  →  exit {self.code}"]
        lines += [f"  {line}" for line in self.out.strip().splitlines()]
        if self.code not in (0, 3) and self.err.strip():  # 3: waiting, said on stdout
            lines.append(f"  stderr: {self.err.strip().splitlines()[-1]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def run_cli(home: Path, *args: str, env: Mapping[str, str] | None = None) -> CliRun:
    """``python -m vaultborn ARGS`` in a new process on ``home`` (this environment, plus ``env``).

    With no terminal attached the command does not ask: a run that reaches a gate exits 3.
    """
    done = subprocess.run(  # noqa: S603 - this interpreter, this package, arguments as given
        [sys.executable, "-m", "vaultborn", *args],
        env={**os.environ, "VAULTBORN_HOME": str(home), **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return CliRun(tuple(args), done.returncode, done.stdout, done.stderr)


class DemoSession:
    """One embedded runtime, and the setup runs driven through it.

    Args:
        home: The data directory: local vault, run database, audit log, dev IdP database.
        plan: The setup plan; None is the embedded default.
        policy: Which actions are asked; None asks before every side effect.
        approver: The name recorded with each answer (and with ``auto_approve``).
        auto_approve: Approve what the policy would ask, as ``approver``.
        approval_ttl: Seconds a request stays answerable.
    """

    def __init__(
        self,
        home: Path,
        *,
        plan: Plan | None = None,
        policy: Policy | None = None,
        approver: str = "notebook",
        auto_approve: bool = False,
        approval_ttl: float = 3600.0,
    ) -> None:
        self.home = Path(home)
        self.plan = plan or default_plan()
        self.policy = policy or Policy.default_policy()
        self.approver, self.auto_approve, self.approval_ttl = approver, auto_approve, approval_ttl
        self.db = StateDb(f"sqlite:///{self.home / 'state.db'}")
        """The run database (checkpoints, audit log, leases), as ``vaultborn`` finds it."""
        self.run_id: str | None = None
        """The run the last call moved (``start``, ``answer``, ``resume``, ``fork``)."""
        self.view: RunView | None = None
        """Where that run was left."""
        self._stack: ExitStack | None = None
        self._deps: Deps | None = None
        self._audit: AuditLog | None = None

    @property
    def deps(self) -> Deps:
        """The runtime's clients (vault, IdP, stores, browser pool)."""
        if self._deps is None:
            raise UsageError("the demo session is not open: await session.open() first")
        return self._deps

    @property
    def audit(self) -> AuditLog:
        """The hash-chained audit log of the run database."""
        if self._audit is None:
            raise UsageError("the demo session is not open: await session.open() first")
        return self._audit

    async def open(self) -> DemoSession:
        """Start the embedded services (the vault's demo secrets generated on first use)."""
        if self._stack is not None:
            return self
        # As a setup does: the run database gets its keys (in the plan's vault) on first use.
        settings = Settings(home=self.home)
        keys_in = keys_home(settings, self.plan.vault.backend, self.plan.vault.name)
        self.db = state_db(settings, self.db.url.text, make_keys_in=keys_in)
        prepare_database(self.db.url)
        stack = ExitStack()
        try:
            self._audit = self.db.audit_log()
            stack.callback(self._audit.close)
            vault = open_vault(Settings(home=self.home).for_plan(self.plan.vault.backend))
            close = getattr(vault, "close", None)  # the local vault holds a database
            if close is not None:
                stack.callback(close)
            opts = RunOptions(
                policy=self.policy,
                audit=self._audit,
                auto_approver=self.approver if self.auto_approve else None,
                approval_ttl=self.approval_ttl,
                browser=BrowserChoice(pool=BrowserPool()),
            )
            plan = self.plan.to_dict()
            self._deps = stack.enter_context(open_runtime(vault, plan, self.home, opts))
        except BaseException:
            stack.close()
            self._deps = self._audit = None
            raise
        self._stack = stack
        return self

    async def close(self) -> None:
        """Close Chromium (on this event loop), then the dev IdP, the AWS store and the vault."""
        stack, deps = self._stack, self._deps
        self._stack = self._deps = self._audit = None
        try:
            if deps is not None:
                await deps.browser.pool.close()
        finally:
            if stack is not None:
                stack.close()

    async def __aenter__(self) -> DemoSession:
        return await self.open()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- moving runs on -------------------------------------------------------------------------
    async def start(self, run_id: str | None = None) -> RunView:
        """Start a setup run of the plan; it runs until done or a gate."""
        run_id = run_id or new_run_id()
        first = {
            "run_id": run_id,
            "plan": self.plan.to_dict(),
            "plan_digest": self.plan.digest,
            "started_at": time.time(),
            "session_ttl": self.approval_ttl,
            "status": "running",
        }
        return await self._advance(run_id, start=first)

    async def answer(
        self,
        decision: str = "approve",
        *,
        reason: str = "",
        args: Mapping[str, Any] | None = None,
        digest: str | None = None,
        run_id: str | None = None,
    ) -> RunView:
        """Answer what the run waits for, as the CLI's ``approve``/``reject``/``edit`` do.

        Args:
            decision: ``approve``, ``reject`` (needs ``reason``) or ``edit`` (needs ``args``).
            reason: Why (recorded in the audit log).
            args: For an edit: the argument values to change.
            digest: The digest reviewed; None answers the waiting request's own (an empty
                one is refused).
            run_id: The run; None is the one this session moved last.
        """
        run_id = self._run(run_id)
        waiting = self.current(run_id).waiting
        if waiting is None:
            raise UsageError(f"run {run_id} waits for nothing")
        # Bound to what waits (run, request, digest); an empty digest is refused, not filled.
        reply = answer_for(waiting, decision, approver=self.approver, reason=reason,
                           digest=digest, args=args)  # fmt: skip
        return await self._advance(run_id, answer=reply)

    async def approve(self, reason: str = "", *, run_id: str | None = None) -> RunView:
        """Approve what the run waits for."""
        return await self.answer("approve", reason=reason, run_id=run_id)

    async def reject(self, reason: str, *, run_id: str | None = None) -> RunView:
        """Reject what the run waits for; the run ends and says why."""
        return await self.answer("reject", reason=reason, run_id=run_id)

    async def edit(self, reason: str = "", *, run_id: str | None = None, **args: Any) -> RunView:
        """Change argument values of the waiting action; it is asked again (a new digest)."""
        return await self.answer("edit", reason=reason, args=args, run_id=run_id)

    async def resume(self, run_id: str | None = None) -> RunView:
        """Run again what a stopped or crashed run has pending."""
        return await self._advance(self._run(run_id))

    async def fork(self, run_id: str, checkpoint_id: str, new_id: str | None = None) -> RunView:
        """A new run that goes on from ``run_id``'s state at ``checkpoint_id``.

        LangGraph's time travel on a new thread: the old checkpoint's values are written to the
        new thread as if the node that produced them had just run (``update_state`` with
        ``as_node``), so the new run's next step is the old checkpoint's. The old run keeps its
        history. The new run only goes as far as its first gate (or the end).
        """
        fork_id = new_id or new_run_id()
        async with self.db.open_async() as saver:
            graph = build_graph(saver)
            old = await graph.aget_state(_config(run_id, checkpoint_id))
            if not old.values or old.parent_config is None:
                raise UsageError(f"checkpoint {checkpoint_id} of {run_id} has nothing to fork")
            parent = await graph.aget_state(old.parent_config)
            if not parent.next:
                raise UsageError(f"checkpoint {checkpoint_id} of {run_id} is not after a step")
            values = {**old.values, "run_id": fork_id}
            await graph.aupdate_state(_config(fork_id), values, as_node=parent.next[0])
        self.deps.audit.append(fork_id, "fork", run_id, {"checkpoint": checkpoint_id})
        return await self._advance(fork_id)

    async def _advance(self, run_id: str, **kwargs: Any) -> RunView:
        with hold_run(self.db.url, run_id):
            view = await advance(self.db, self.deps, run_id, **kwargs)
        self.run_id, self.view = run_id, view
        return view

    def _run(self, run_id: str | None) -> str:
        chosen = run_id or self.run_id
        if chosen is None:
            raise UsageError("no run yet: await session.start() first")
        return chosen

    # -- looking ------------------------------------------------------------------------------
    def current(self, run_id: str | None = None) -> RunView:
        """Where the run is now (read from the run database)."""
        with self.db.open() as saver:
            return view_run(saver, self._run(run_id))

    def runs(self) -> list[RunView]:
        """Every run in the run database, newest first (``vaultborn runs``)."""
        with self.db.open() as saver:
            return list_runs(saver)

    def history(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The run's checkpoint timeline, oldest first (``vaultborn show --history``)."""
        with self.db.open() as saver:
            return history(saver, self._run(run_id))

    def state_at(self, checkpoint_id: str, run_id: str | None = None) -> dict[str, Any]:
        """The run's state as it was at ``checkpoint_id`` (references and ids only)."""
        with self.db.open() as saver:
            snap = build_graph(saver).get_state(_config(self._run(run_id), checkpoint_id))
        return dict(snap.values or {})

    def audit_events(self, run_id: str | None = None) -> list[AuditEvent]:
        """The audit trail of one run (``run_id``), or of every run (``"*"``)."""
        return self.audit.events(run_id=None if run_id == "*" else self._run(run_id))

    def item(self) -> Item:
        """The break-glass item, concealed: ids, version, fields and their references."""
        found = self.deps.vault.find_items(self.plan.vault.name, title=self.plan.break_glass.item)
        if len(found) != 1:
            raise UsageError(f"expected one break-glass item, found {len(found)}")
        return self.deps.vault.get_item(found[0].vault.id, found[0].id)

    def idp_user(self) -> dict[str, Any]:
        """The IdP user as the Management API shows it, with its authentication methods."""
        with self.deps.management() as mgmt:
            users = mgmt.users_by_email(self.plan.break_glass.email)
            if len(users) != 1:
                raise UsageError(f"expected one IdP user, found {len(users)}")
            methods = mgmt.authentication_methods(users[0]["user_id"])
        return {**users[0], "authentication_methods": methods}

    def effects(self, versions: bool = False) -> dict[str, int]:
        """How many of each effect exist now: items, IdP users, confirmed TOTPs, seeds.

        Args:
            versions: Count the versions each seeded target has (``seed_versions``) instead
                of the seeded targets that exist (``seeded_targets``).
        """
        items = self.deps.vault.find_items(self.plan.vault.name, title=self.plan.break_glass.item)
        with self.deps.management() as mgmt:
            users = mgmt.users_by_email(self.plan.break_glass.email)
            confirmed = sum(
                1
                for u in users
                for m in mgmt.authentication_methods(u["user_id"])
                if m.get("type") == "totp" and m.get("confirmed")
            )
        counts = {"items": len(items), "users": len(users), "confirmed_totp": confirmed}
        targets = [s.target for s in self.plan.seeds]
        if versions:
            counts["seed_versions"] = sum(self.deps.store_for(t).versions(t) for t in targets)
        else:
            counts["seeded_targets"] = sum(
                1 for t in targets if self.deps.store_for(t).describe(t).exists
            )
        return counts


def _config(run_id: str, checkpoint_id: str | None = None) -> Any:
    configurable = {"thread_id": run_id}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}
