"""No core dumps from a process that holds secret values.

A crashed ``vaultborn run`` once left a core file (mode 0600, but on disk, outside the vault)
holding the injected value three times. ``disable_core_dumps`` is called where values may be
held: at the start of every CLI command (``vaultborn.cli.main``), by the dev IdP server (client
secrets pass through it) and before ``vaultborn run`` starts its command.

- ``RLIMIT_CORE`` goes to 0, soft and hard: no core file from this process, and none from a
  child it starts afterwards either (limits are inherited and the hard one cannot be raised
  again). So the command of ``vaultborn run``, whose environment holds the values by design,
  cannot dump them either.
- On Linux, ``prctl(PR_SET_DUMPABLE, 0)`` as well: the kernel then dumps nothing even to a core
  handler that ignores the limit (a ``core_pattern`` pipe), and other processes of the same user
  can no longer attach to this one or read its memory. It does not survive ``exec``, so a child
  keeps only the limit.

Elsewhere what exists is done (macOS has the limit, not ``prctl``); Windows has neither.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

__all__ = ["PR_GET_DUMPABLE", "PR_SET_DUMPABLE", "disable_core_dumps", "dumpable"]

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
"""From ``<linux/prctl.h>``."""


def disable_core_dumps() -> None:
    """Turn core dumps off for this process and the children it starts from now on.

    Idempotent and quiet: a step the platform lacks is skipped.
    """
    try:
        import resource
    except ImportError:  # Windows
        return
    # Lowering a limit is always allowed; a platform that refuses it has nothing to lower.
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        _prctl(PR_SET_DUMPABLE, 0)


def dumpable() -> bool | None:
    """Whether the kernel would dump this process's core (Linux); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    return _prctl(PR_GET_DUMPABLE, 0) == 1


def _prctl(option: int, value: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(option, value, 0, 0, 0))
