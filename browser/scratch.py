"""Where Chromium's profile folders go, and the sweep of those a dead process left behind.

Playwright makes a fresh profile folder for every browser it launches (and an artifacts folder
beside it) in the temporary directory of its driver, and deletes them when the browser is
closed. A process killed before that (a crash, ``kill -9``, a power cut) leaves them behind:
cookies, local storage and caches of the pages it had open, enrollment pages included.

So each ``BrowserSession`` gives its driver a temporary directory of its own, named after the
process: ``<root>/<pid>-<random>/`` (0700, under ``$TMPDIR/vaultborn-chromium-<uid>/``, 0700),
where the profile and artifacts folders land (Chromium itself keeps the usual temporary
directory, for its socket's short path). Before a browser is
launched, the folders of processes that are no longer running are removed. A folder whose
process is alive is left alone, whoever it is (a pid reused by another program keeps its
folder until that program ends too: a sweep is never a guess).

The driver reads ``TMPDIR`` when it starts (Playwright offers no other way to name it), so it
is set in this process's environment only while a driver is being started, one start at a
time. ``NODE_COMPILE_CACHE`` is set the same way, to ``<root>/node-compile-cache``, unless the
user set one: Node.js keeps there the bytecode it compiled from Playwright's JavaScript (no
page, cookie or value of ours), and the next driver starts from it instead of compiling again,
about 0.2 s of CPU less for every process that launches a browser (``NODE_DISABLE_COMPILE_CACHE``
turns it off, as in Node.js). Sweeps leave that folder alone: its name is not a pid's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

__all__ = ["COMPILE_CACHE_FOLDER", "ScratchRoot", "default_root"]

_log = logging.getLogger(__name__)
_env_lock = threading.Lock()
_TMP_NAMES = ("TMPDIR", "TMP", "TEMP")
_COMPILE_CACHE = "NODE_COMPILE_CACHE"
COMPILE_CACHE_FOLDER = "node-compile-cache"
"""The folder under the root where the drivers' Node.js keeps its compile cache."""


def default_root() -> Path:
    """``$TMPDIR/vaultborn-chromium-<uid>``: one per user, so users never share or sweep."""
    return Path(tempfile.gettempdir()) / f"vaultborn-chromium-{os.getuid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class ScratchRoot:
    """The folder under which each browser of this user gets its driver's temporary directory.

    Args:
        path: The root (made 0700; refused if it is a symlink or another user's).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _ready(self) -> bool:
        """Make the root if missing; whether it is a private folder of this user."""
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            found = os.lstat(self.path)
        except OSError as error:
            _log.warning("cannot use %s for Chromium's profiles: %s", self.path, error.strerror)
            return False
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
            _log.warning("%s is not a folder of this user: Chromium's profiles go elsewhere",
                         self.path)  # fmt: skip
            return False
        if stat.S_IMODE(found.st_mode) & 0o077:
            os.chmod(self.path, 0o700)
        return True

    def sweep(self) -> list[Path]:
        """Remove the folders of processes that are no longer running; those removed."""
        if not self.path.is_dir():
            return []
        removed: list[Path] = []
        for entry in sorted(self.path.iterdir()):
            pid_text = entry.name.partition("-")[0]
            if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
                continue
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                removed.append(entry)
        if removed:
            _log.info("removed %d Chromium folder(s) left by processes that died", len(removed))
        return removed

    @asynccontextmanager
    async def driver_tmpdir(self) -> AsyncIterator[Path | None]:
        """A fresh folder of this process, set as ``TMPDIR`` while the block starts a driver.

        ``NODE_COMPILE_CACHE`` names the root's shared compile cache meanwhile, unless it is
        set already. Yields None (and changes nothing) where the root cannot be used.
        """
        if not self._ready():
            yield None
            return
        self.sweep()
        folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.path))
        # Another start (another loop, another thread) holds the environment: wait without
        # blocking this loop, whose tasks may be what that start waits for.
        while not _env_lock.acquire(blocking=False):
            await asyncio.sleep(0.01)
        saved = {name: os.environ.get(name) for name in (*_TMP_NAMES, _COMPILE_CACHE)}
        try:
            for name in _TMP_NAMES:
                os.environ[name] = str(folder)
            if saved[_COMPILE_CACHE] is None:
                os.environ[_COMPILE_CACHE] = str(self.path / COMPILE_CACHE_FOLDER)
            yield folder
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            _env_lock.release()

    @staticmethod
    def remove(folder: Path | None) -> None:
        """Remove a folder this process used (its browser is closed)."""
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
