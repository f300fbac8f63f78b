"""Playwright's driver runs in a session of its own, so a terminal's Ctrl-C reaches only vaultborn.

Otherwise the terminal's SIGINT would kill the driver (and its Chromium) mid-step while
vaultborn is still closing them; whether that shows as noise depends on a race, so this checks
the cause: the driver's session.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from vaultborn.browser.chromium import find_chromium
from vaultborn.browser.session import BrowserSession

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_driver_and_its_chromium_are_out_of_the_terminals_reach() -> None:
    async def sessions() -> list[int]:
        async with BrowserSession():
            return [os.getsid(pid) for pid in _children(os.getpid())]

    found = asyncio.run(sessions())
    assert found, "the driver process was not found"
    assert os.getsid(0) not in found


def test_other_subprocesses_keep_this_session() -> None:
    async def spawn() -> int:
        async with BrowserSession():
            pass
        child = await asyncio.create_subprocess_exec("sleep", "5")
        try:
            return os.getsid(child.pid)
        finally:
            child.kill()
            await child.wait()

    assert asyncio.run(spawn()) == os.getsid(0)
