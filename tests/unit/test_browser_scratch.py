"""Chromium's profile folders: one per process under a private root, dead processes' swept."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vaultborn.browser.scratch import COMPILE_CACHE_FOLDER, ScratchRoot

pytestmark = pytest.mark.robustness("fault: Chromium crash and hanging pages")


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    root = ScratchRoot(tmp_path / "root")
    dead = tmp_path / "root" / f"{_dead_pid()}-abcd1234"
    live = tmp_path / "root" / f"{os.getppid()}-efgh5678"
    mine = tmp_path / "root" / f"{os.getpid()}-ijkl9012"
    other = tmp_path / "root" / "not-a-pid"
    for folder in (dead, live, mine, other):
        (folder / "playwright_chromiumdev_profile-x" / "Default").mkdir(parents=True)

    assert root.sweep() == [dead]
    assert not dead.exists() and live.exists() and mine.exists() and other.exists()


def test_the_driver_gets_a_folder_of_its_own_only_while_it_starts(tmp_path: Path) -> None:
    root = ScratchRoot(tmp_path / "root")
    before = os.environ.get("TMPDIR")

    async def start() -> Path | None:
        async with root.driver_tmpdir() as folder:
            assert folder is not None and os.environ["TMPDIR"] == str(folder)
            return folder

    folder = asyncio.run(start())
    assert folder is not None and folder.parent == tmp_path / "root"
    assert folder.name.startswith(f"{os.getpid()}-")
    assert os.environ.get("TMPDIR") == before
    assert ((tmp_path / "root").stat().st_mode & 0o777) == 0o700
    ScratchRoot.remove(folder)
    assert not folder.exists()


def test_a_root_that_is_not_a_private_folder_is_not_used(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "root").symlink_to(elsewhere)  # someone else's link in a shared /tmp
    root = ScratchRoot(tmp_path / "root")

    async def start() -> Path | None:
        async with root.driver_tmpdir() as folder:
            return folder

    assert asyncio.run(start()) is None
    assert list(elsewhere.iterdir()) == []


def test_the_driver_gets_the_roots_compile_cache_unless_one_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = ScratchRoot(tmp_path / "root")

    async def seen() -> str | None:
        async with root.driver_tmpdir():
            return os.environ.get("NODE_COMPILE_CACHE")

    monkeypatch.delenv("NODE_COMPILE_CACHE", raising=False)
    assert asyncio.run(seen()) == str(tmp_path / "root" / COMPILE_CACHE_FOLDER)
    assert "NODE_COMPILE_CACHE" not in os.environ

    monkeypatch.setenv("NODE_COMPILE_CACHE", str(tmp_path / "mine"))
    assert asyncio.run(seen()) == str(tmp_path / "mine")
    assert os.environ["NODE_COMPILE_CACHE"] == str(tmp_path / "mine")


def test_a_sweep_keeps_the_compile_cache(tmp_path: Path) -> None:
    root = ScratchRoot(tmp_path / "root")
    cache = tmp_path / "root" / COMPILE_CACHE_FOLDER / "v26"
    cache.mkdir(parents=True)
    (cache / "entry").write_bytes(b"bytecode")

    assert root.sweep() == []
    assert (cache / "entry").exists()
