"""``BrowserPool``: one Chromium per process, launched on first use; a fresh context per flow.

The setup graph opens the browser twice (enrollment, login drill) and may run many flows; a
pool launches Chromium once and hands each flow its own context (no cookies shared). It must
be closed on the event loop that used it.

A step can hand its page on to the flow's next step (``page(hand_on=key)``, then
``page(take=key)``): the enrollment's page serves the login drill, wiped of every cookie and of the
page's storage first. A page in a new context costs a renderer process of its own, about
0.2 s of CPU, which twenty flows at once pay on the same cores. A handed-on page is kept for
``HAND_ON_SECONDS`` at most, and never past ``close``; a step that failed hands nothing on.

A Chromium that crashed (or was killed) is noticed: whatever a flow raised while it died
becomes ``BrowserCrashed`` (transient: the step is retried), and the next flow gets a newly
launched Chromium instead of the dead one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from vaultborn.browser.errors import BrowserError, crash_or
from vaultborn.browser.session import BrowserSession

__all__ = ["HAND_ON_SECONDS", "BrowserPool", "LentPage"]

_log = logging.getLogger(__name__)

HAND_ON_SECONDS = 30.0
"""How long a handed-on page waits for the flow's next step before its context is closed."""

# Run in the handed-on page before the next step navigates: the storage of the origin it is
# on (where the last step ended). Cookies, where every sign-in session lives, are cleared for
# all origins by the context itself.
_WIPE_STORAGE = "() => { try { localStorage.clear(); sessionStorage.clear(); } catch (e) {} }"


@dataclass(frozen=True)
class LentPage:
    """A page lent to one step of a flow.

    Attributes:
        page: The page; its context is the flow's alone.
        reused: Handed on by the flow's previous step (wiped), not new.
    """

    page: Page
    reused: bool


@dataclass
class _HandedOn:
    page: Page
    session: BrowserSession
    expiry: asyncio.TimerHandle

    @property
    def context(self) -> BrowserContext:
        """The page's context, the flow's alone (closed with it)."""
        return self.page.context


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
        self.reused = 0
        """Pages handed on from one step of a flow to its next so far."""
        self._handed_on: dict[str, _HandedOn] = {}
        self._closing: set[asyncio.Task[None]] = set()

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

    @asynccontextmanager
    async def page(
        self, *, take: str | None = None, hand_on: str | None = None
    ) -> AsyncIterator[LentPage]:
        """A page for one step of a flow: the one handed on under ``take``, else a fresh one.

        A handed-on page comes wiped: no cookie in its context, no storage left in the origin
        it was on. Leaving the block closes the page's context, unless ``hand_on`` names a key
        and the block raised nothing: then the page waits under that key for the flow's next
        step (replacing any page left there), for ``HAND_ON_SECONDS`` at most.

        Raises:
            BrowserCrashed: Chromium died while the block ran (whatever the block raised).
        """
        taken = await self._take(take) if take is not None else None
        if taken is not None:
            lent, context, session = LentPage(taken.page, reused=True), taken.context, taken.session
        else:
            session = await self._open()
            context = await session.open_context()
            self.contexts += 1
            try:
                lent = LentPage(await context.new_page(), reused=False)
            except PlaywrightError as error:
                await self._quietly_close(session, context)
                raise crash_or(error, alive=session.connected) from None
        try:
            yield lent
        except (BrowserError, PlaywrightError) as error:
            await self._quietly_close(session, context)
            crashed = crash_or(error, alive=session.connected)
            if crashed is error:
                raise
            raise crashed from None
        except BaseException:
            await self._quietly_close(session, context)
            raise
        if hand_on is not None and session.connected and not lent.page.is_closed():
            expiry = self._expire_later(hand_on)
            self._hand_on(hand_on, _HandedOn(lent.page, session, expiry))
        else:
            await session.close_context(context)

    async def _take(self, key: str) -> _HandedOn | None:
        """The page handed on under ``key``, wiped; None when there is none that still works."""
        handed = self._handed_on.pop(key, None)
        if handed is None:
            return None
        handed.expiry.cancel()
        if handed.session is not self._session or not handed.session.connected:
            return None
        try:
            await handed.context.clear_cookies()
            await handed.page.evaluate(_WIPE_STORAGE)
        except PlaywrightError:
            await self._quietly_close(handed.session, handed.context)
            return None
        self.reused += 1
        return handed

    def _hand_on(self, key: str, handed: _HandedOn) -> None:
        earlier = self._handed_on.pop(key, None)
        self._handed_on[key] = handed
        if earlier is not None:
            earlier.expiry.cancel()
            self._close_later(earlier)

    def _expire_later(self, key: str) -> asyncio.TimerHandle:
        def expire() -> None:
            handed = self._handed_on.pop(key, None)
            if handed is not None:
                self._close_later(handed)

        return asyncio.get_running_loop().call_later(HAND_ON_SECONDS, expire)

    def _close_later(self, handed: _HandedOn) -> None:
        task = asyncio.ensure_future(self._quietly_close(handed.session, handed.context))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _quietly_close(self, session: BrowserSession, context: BrowserContext) -> None:
        """Close ``context``; a Chromium that died meanwhile took it along."""
        with suppress(PlaywrightError):
            await session.close_context(context)

    async def _open(self) -> BrowserSession:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop: the old browser is unusable there
            self._session, self._loop, self._lock = None, loop, asyncio.Lock()
            self._handed_on, self._closing = {}, set()
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
        """Close Chromium and the pages handed on (call it on the loop that used the pool)."""
        if self._loop is asyncio.get_running_loop():
            handed, self._handed_on = list(self._handed_on.values()), {}
            for each in handed:
                each.expiry.cancel()
                await self._quietly_close(each.session, each.context)
            if self._closing:
                await asyncio.gather(*self._closing, return_exceptions=True)
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.__aexit__(None, None, None)
        self._session = None
