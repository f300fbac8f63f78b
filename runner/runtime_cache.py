"""Runtimes shared by many runs in one process (``setup --plan-dir``, ``worker``).

Runs whose plans name the same systems (vault, IdP, agent client) share one ``Deps``: one
vault client, one token cache, one embedded dev IdP and store emulator, and — across every
runtime — one Chromium (a context per flow) and one audit log. A runtime is opened on the first
run that needs it and closed with the cache.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path

from vaultborn.approvals.action import canonical_json
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import PlanData
from vaultborn.runner.runtime import RunOptions, ensure_demo_secrets, open_runtime
from vaultborn.runner.wiring import Settings, open_vault

__all__ = ["RuntimeCache", "systems_of"]


def systems_of(plan: PlanData) -> str:
    """What a runtime is shared by: the plan's vault, IdP and agent client."""
    return canonical_json({"vault": plan["vault"], "idp": plan["idp"], "agent": plan["agent"]})


class RuntimeCache:
    """One ``Deps`` per set of systems, opened on first use.

    Args:
        settings: The invocation's settings (a plan's vault backend chooses the vault).
        home: ``$VAULTBORN_HOME`` (the embedded dev IdP's database lives there).
        opts: Policy, audit log, approver and browser, shared by every runtime.
    """

    def __init__(self, settings: Settings, home: Path, opts: RunOptions) -> None:
        self.settings, self.home, self.opts = settings, home, opts
        self._stack = ExitStack()
        self._runtimes: dict[str, Deps] = {}
        # Runs ask from worker threads at once: one of them opens a runtime, the rest wait.
        self._lock = threading.Lock()

    def deps_for(self, plan: PlanData) -> Deps:
        """The runtime of ``plan``'s systems (its demo secrets made first, if embedded)."""
        key = systems_of(plan)
        with self._lock:
            deps = self._runtimes.get(key)
            if deps is None:
                vault = open_vault(self.settings.for_plan(plan["vault"]["backend"]))
                deps = self._stack.enter_context(open_runtime(vault, plan, self.home, self.opts))
                self._runtimes[key] = deps
            elif not plan["idp"].get("domain"):
                ensure_demo_secrets(deps.vault, plan)  # this plan may seed from other items
        return deps

    def close(self) -> None:
        """Stop every runtime's services."""
        self._runtimes.clear()
        self._stack.close()

    def __enter__(self) -> RuntimeCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
