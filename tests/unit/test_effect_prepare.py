"""An effect's ``prepare`` runs off the event loop that the other runs of the process share.

The setup's drill is prepared by marking the enrollment's code steps in the run database
(``runner.used_steps``). On SQLite, a checkpoint write of another run on the same loop holds
the write lock until the loop runs its commit; a ``prepare`` waiting for that lock on the loop
stalled every run for the busy timeout, gave up, and left the mark in memory only. CI saw one
of three runs of ``setup --plan-dir`` fail after such a stall.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text

from vaultborn.approvals.policy import Policy
from vaultborn.browser.totp_steps import StepLedger
from vaultborn.core.database import make_engine
from vaultborn.nodes.deps import BrowserChoice, Deps
from vaultborn.nodes.gating import action_for, effect_node
from vaultborn.nodes.steps import GatedStep
from vaultborn.runner.used_steps import SharedStepLedger, create_used_steps_table
from vaultborn.vault.local import LocalVault

KEY = "vault:ACL/Auth0 — admin@example.com"


class _AuditedAlready:
    """An audit log that holds every approval asked about (the effect's precondition)."""

    def has_decision(self, run_id: str, key: str, digest: str) -> bool:
        return True

    def append(self, *event: object) -> None:
        pass


def _deps(ledger: SharedStepLedger, vault: LocalVault) -> Deps:
    return Deps(
        vault=vault, management=None, tokens=None, store_for=None,  # type: ignore[arg-type]
        idp_base_url="", protected_api="", policy=Policy.default(),
        audit=_AuditedAlready(),  # type: ignore[arg-type]
        browser=BrowserChoice(steps=ledger),
    )  # fmt: skip


def _step() -> GatedStep:
    def mark_steps(state: Any, deps: Deps) -> None:
        deps.browser.steps.mark(KEY, 7)

    def effect(args: dict[str, Any], deps: Deps) -> Any:
        return {"login_drill": "skipped"}

    return GatedStep(
        name="verify", effects=(), state_key="verify", args=lambda state: {},
        summary=lambda args: "verify", effect=effect,
        prepare=mark_steps,
    )  # fmt: skip


def test_a_prepare_waiting_for_the_database_lets_the_loop_commit_what_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULTBORN_DB_BUSY_TIMEOUT", "3")
    url = f"sqlite:///{tmp_path / 'state.db'}"
    create_used_steps_table(url)
    ledger = SharedStepLedger(StepLedger(), url)
    vault = LocalVault(tmp_path / "home")
    step = _step()
    state: Any = {"run_id": "run-one", "plan": {}}
    state["approvals"] = {"verify": {"digest": action_for(step, state).digest, "approver": "me"}}

    async def race() -> None:
        # Another run's checkpoint write: the lock is taken, and the commit waits for the loop.
        async with aiosqlite.connect(tmp_path / "state.db", isolation_level=None) as writer:
            await writer.execute("BEGIN IMMEDIATE")

            async def commit_soon() -> None:
                await asyncio.sleep(0.3)
                await writer.execute("COMMIT")

            effect = effect_node(step)(state, SimpleNamespace(context=_deps(ledger, vault)))
            await asyncio.gather(effect, commit_soon())

    try:
        asyncio.run(race())
    finally:
        ledger.close()
        vault.close()
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT item, step FROM totp_used_steps")).all()
    engine.dispose()
    assert rows == [(KEY, 7)], "the mark waited on the loop, gave up, and stayed in memory"
