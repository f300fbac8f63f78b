"""``doctor``'s check of the data directory: private to its owner, as vaultborn creates it.

The directory must be 0700 and the databases and key file in it 0600 (SQLite's ``-wal`` and
``-shm`` companions too): anything readable by the group or others is a finding, with the
``chmod`` that fixes it.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

__all__ = ["PRIVATE_FILES", "file_mode_findings"]

PRIVATE_FILES = ("vault.db", "vault.key", "state.db", "devidp.db")
"""The files vaultborn keeps in the data directory."""

Finding = tuple[Literal["ok", "fail"], str]


def file_mode_findings(home: Path) -> Iterator[Finding]:
    """One finding per path that exists: ok, or fail with the fix."""
    if not home.exists():
        yield "ok", f"{home} does not exist yet (created 0700 on first use)"
        return
    failed = False
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        failed = True
        yield "fail", f"{home} is {mode:04o}; run: chmod 700 {home}"
    for name in PRIVATE_FILES:
        for path in (home / name, home / f"{name}-wal", home / f"{name}-shm"):
            if not path.exists():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                failed = True
                yield "fail", f"{path} is {mode:04o}; run: chmod 600 {path}"
    if not failed:
        yield "ok", f"{home}: private to its owner"
