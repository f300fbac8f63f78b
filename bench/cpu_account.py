"""The exact CPU time of a command and every process it starts, from a cgroup of its own.

Sampling ``/proc`` misses a process that exits between two samples (Chromium's renderers live
for one page), and the sampling itself takes CPU from the run it watches. The kernel's cgroup
accounting does neither: every process a child starts stays in the child's cgroup, exited or
not. Making a cgroup needs root and a mounted cgroup hierarchy (v2's ``cpu.stat`` or v1's
``cpuacct``); elsewhere ``CpuAccount.make()`` gives None and the benches fall back to sampling.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuAccount"]

# Where each kind of hierarchy is usually mounted: v2 alone, v2 beside v1, v1's cpuacct.
_ROOTS = (
    (Path("/sys/fs/cgroup"), "v2"),
    (Path("/sys/fs/cgroup/unified"), "v2"),
    (Path("/sys/fs/cgroup/cpuacct"), "v1"),
)


@dataclass(frozen=True)
class CpuAccount:
    """A fresh cgroup that counts the CPU of whatever is started in it.

    Pass ``enter`` as ``subprocess.Popen``'s ``preexec_fn``; read ``seconds()`` once the
    command has exited; ``close()`` removes the cgroup.
    """

    path: Path
    kind: str

    @classmethod
    def make(cls) -> CpuAccount | None:
        """A new account, or None where no cgroup can be made here (not root, none mounted)."""
        for root, kind in _ROOTS:
            marker = "cgroup.controllers" if kind == "v2" else "cpuacct.usage"
            if not (root / marker).exists():
                continue
            path = root / f"vaultborn-bench-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
            except OSError:
                continue
            return cls(path, kind)
        return None

    def enter(self) -> None:
        """Move the calling process into the cgroup (in the child, before it runs anything)."""
        with open(self.path / "cgroup.procs", "w") as procs:
            procs.write(str(os.getpid()))

    def settled(self, timeout: float = 5.0) -> float:
        """CPU seconds once the cgroup's last process has exited (or ``timeout`` has passed).

        A command's own exit does not wait for every process it started (Chromium's last
        renderers may still be going): their CPU counts too.
        """
        deadline = time.monotonic() + timeout
        while (self.path / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.seconds()

    def seconds(self) -> float:
        """CPU seconds used in the cgroup so far, by every process that was ever in it."""
        if self.kind == "v1":
            return int((self.path / "cpuacct.usage").read_text()) / 1e9
        for line in (self.path / "cpu.stat").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "usage_usec":
                return int(value) / 1e6
        raise RuntimeError(f"{self.path}/cpu.stat has no usage_usec")

    def close(self, timeout: float = 2.0) -> None:
        """Remove the cgroup once it can be (a straggler past ``timeout`` is left to the system).

        An exited process whose parent has not reaped it yet still holds the cgroup, though
        ``cgroup.procs`` no longer lists it: removing fails (EBUSY) until it is reaped.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.05)
