"""``BrowserPool``: one Chromium per process, launched on first use; a fresh context per flow.

The setup graph opens the browser twice (enrollment, login drill) and may run many flows; a
pool launches Chromium once and hands each flow its own context (no cookies shared). It must
be closed on the event loop that used it.

A Chromium that crashed (or was killed) is noticed: whatever a flow raised while it died
becomes ``BrowserCrashed`` (transient: the step is retried), and the next flow gets a newly
launched Chromium instead of the dead one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from vaultborn.browser.errors import BrowserError, crash_or
from vaultborn.browser.session import BrowserSession

__all__ = ["BrowserPool"]

_log = logging.getLogger(__name__)


class BrowserPool:
    """A lazily launched ``BrowserSession`` shared by the flows of one process.

    Args:
        headed: Show the window.
        debug_dir: Where traces go (see ``BrowserSession``); None writes nothing.
    """

    def __init__(self, *, headed: bool = False, debug_dir: Path | None = None) -> None:
        self.headed, self.debug_dir = headed, debug_dir
        self._session: BrowserSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self.launches = 0
        """Chromium launches so far (one per process unless one died)."""
        self.contexts = 0
        """Contexts handed out so far (one per flow, each closed when its flow ends)."""

    @asynccontextmanager
    async def context(self) -> AsyncIterator[BrowserContext]:
        """A fresh context, Chromium launched first if this loop has none (or a dead one).

        Raises:
            BrowserCrashed: Chromium died while the block ran (whatever the block raised).
        """
        session = await self._open()
        async with session.new_context() as context:
            self.contexts += 1
            try:
                yield context
            except (BrowserError, PlaywrightError) as error:
                crashed = crash_or(error, alive=session.connected)
                if crashed is error:
                    raise
                raise crashed from None

    async def _open(self) -> BrowserSession:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop: the old browser is unusable there
            self._session, self._loop, self._lock = None, loop, asyncio.Lock()
        async with self._lock:
            if self._session is not None and not self._session.connected:
                _log.warning("Chromium exited; launching a new one")
                dead, self._session = self._session, None
                await dead.__aexit__(None, None, None)
            if self._session is None:
                session = BrowserSession(headed=self.headed, debug_dir=self.debug_dir)
                await session.__aenter__()
                self._session = session
                self.launches += 1
            return self._session

    async def close(self) -> None:
        """Close Chromium (call it on the loop that used the pool)."""
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.__aexit__(None, None, None)
        self._session = None
