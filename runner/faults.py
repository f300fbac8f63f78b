"""Test-only fault switch: ``VAULTBORN_TEST_CRASH_AT=<step>:<before|after>[:<fault>]``.

Effect nodes call ``Deps.fault`` on both sides of every external call; with the variable set,
the named point injects the fault:

- ``exit`` (the default): the process ends at once (no cleanup, no checkpoint), as a power
  cut would;
- ``disk-full``: from that point on the kernel refuses every write to a regular file
  (``RLIMIT_FSIZE`` of 0, so writes fail with ``EFBIG`` as they would with ``ENOSPC``) — the
  state database, the audit log and the local vault all stop accepting writes;
- ``sigint``: SIGINT to the process's group, as a person's Ctrl-C at its terminal sends it
  (the pty tests press it at a known point instead of racing the step).

The fault tests then ``resume`` the run in a new process and count the effects.
"""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Callable, Mapping

from vaultborn.nodes.deps import FaultHook

__all__ = ["CRASH_ENV", "CRASH_EXIT", "FAULTS", "fault_from_env"]

CRASH_ENV = "VAULTBORN_TEST_CRASH_AT"
CRASH_EXIT = 86


def _exit() -> None:
    os._exit(CRASH_EXIT)


def _disk_full() -> None:
    # Without this the kernel kills the process (SIGXFSZ) instead of failing the write.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def _sigint() -> None:
    os.killpg(os.getpgrp(), signal.SIGINT)


FAULTS: dict[str, Callable[[], None]] = {
    "exit": _exit,
    "disk-full": _disk_full,
    "sigint": _sigint,
}
"""What can happen at a fault point, by name."""


def _no_fault(point: str) -> None:
    return None


def fault_from_env(env: Mapping[str, str] = os.environ) -> FaultHook:
    """The hook ``env`` asks for (a no-op unless the crash variable is set)."""
    spec = env.get(CRASH_ENV, "")
    if not spec:
        return _no_fault
    step, _, rest = spec.partition(":")
    side, _, name = rest.partition(":")
    target, inject = f"{step}:{side}", FAULTS[name or "exit"]

    def fault(point: str) -> None:
        if point == target:
            inject()

    return fault
