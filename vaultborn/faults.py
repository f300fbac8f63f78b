"""A test-only crash switch: ``VAULTBORN_TEST_CRASH_AT=<step>:<before|after>`` kills the process.

Effect nodes call ``Deps.fault`` on both sides of every external call; with the variable set,
the process ends at once at that point (no cleanup, no checkpoint), as a power cut would. The
crash-safety tests then ``resume`` the run in a new process and count the effects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from nodes.deps import FaultHook

__all__ = ["CRASH_ENV", "CRASH_EXIT", "fault_from_env"]

CRASH_ENV = "VAULTBORN_TEST_CRASH_AT"
CRASH_EXIT = 86


def _no_fault(point: str) -> None:
    return None


def fault_from_env(env: Mapping[str, str] = os.environ) -> FaultHook:
    """The hook ``env`` asks for (a no-op unless the crash variable is set)."""
    target = env.get(CRASH_ENV, "")
    if not target:
        return _no_fault

    def crash(point: str) -> None:
        if point == target:
            os._exit(CRASH_EXIT)

    return crash
