"""One Chromium per ``BrowserSession``; a fresh, isolated context per ``new_context()``.

Nothing reaches the disk (no trace, screenshot, video or HAR) unless ``debug_dir`` is given;
then each context's Playwright trace is written there, 0700 directory and 0600 files, and a
warning says the trace may hold secrets. A Chromium that died (``connected`` is False) makes
``new_context`` raise ``BrowserCrashed``, and closing what it took along is not an error.

Chromium's profile folder is made in a folder of this process under ``scratch``
(``browser.scratch``), removed when the session closes; launching one first removes the folders
that processes killed before they could close theirs left behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from vaultborn.browser.chromium import LAUNCH_ARGS, chromium_for
from vaultborn.browser.errors import BrowserUnavailable, crash_or
from vaultborn.browser.scratch import ScratchRoot, default_root

__all__ = ["STILL_CARET_SCRIPT", "BrowserSession"]

_log = logging.getLogger(__name__)

STILL_CARET_SCRIPT = """(() => {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync("*{caret-animation:manual !important}");
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
})();"""
"""Run in every document of a headless context: a text caret that does not blink.

A focused field (sign-in pages autofocus one) otherwise repaints its caret twice a second until
the page is left, on frames nobody sees: a focused page idle for 2 s took 37 ms of CPU, 18 ms
with a still caret (7 ms with nothing focused), and the more flows share the cores the longer
each page waits with its caret blinking. CSS ``caret-animation: manual``
stops the blink and nothing else; a constructed style sheet is not inline style, so the
page's Content-Security-Policy lets it through. A headed window keeps its blinking caret.
"""


class BrowserSession:
    """An async context manager that launches Chromium once and hands out fresh contexts.

    Args:
        headed: Show the browser window (headless by default).
        debug_dir: Where to write one Playwright trace per context; None (the default) writes
            nothing to disk.
        scratch: Where the profile folders of this user's browsers go (default
            ``$TMPDIR/vaultborn-chromium-<uid>``).
    """

    def __init__(
        self, *, headed: bool = False, debug_dir: Path | None = None, scratch: Path | None = None
    ) -> None:
        self._headed = headed
        self._debug_dir = debug_dir
        self._scratch = ScratchRoot(scratch or default_root())
        self._folder: Path | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    async def __aenter__(self) -> BrowserSession:
        """Launch Chromium.

        Raises:
            BrowserUnavailable: No Chromium was found, or it would not start.
        """
        chromium = chromium_for(headed=self._headed)
        if chromium is None:
            raise BrowserUnavailable(
                "no Chromium found; install one (apt install chromium) or set VAULTBORN_CHROMIUM"
            )
        if self._debug_dir is not None:
            self._debug_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._debug_dir.chmod(0o700)
            _log.warning("browser traces go to %s and may hold secrets", self._debug_dir)
        # Chromium itself keeps this process's temporary directory: its socket's path must
        # stay short (a Unix socket path has ~100 bytes), the profile folder need not.
        browser_env: dict[str, str | float | bool] = dict(os.environ)
        async with self._scratch.driver_tmpdir() as folder:
            self._folder = folder
            with _driver_in_its_own_session():
                self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=str(chromium.path),
                headless=not self._headed,
                args=list(LAUNCH_ARGS),
                env=browser_env,
            )
        except PlaywrightError as error:
            await self._playwright.stop()
            self._playwright = None
            self._scratch.remove(self._folder)
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise BrowserUnavailable(
                f"Chromium at {chromium.path} would not start: {first_line}"
            ) from None
        return self

    @property
    def connected(self) -> bool:
        """Whether Chromium is running and connected (False once it crashed or was killed)."""
        return self._browser is not None and self._browser.is_connected()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close Chromium and stop Playwright (a Chromium that died needs no closing)."""
        if self._browser is not None:
            browser, self._browser = self._browser, None
            try:
                await browser.close()
            except PlaywrightError:
                if browser.is_connected():
                    raise
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None
        self._scratch.remove(self._folder)
        self._folder = None

    @asynccontextmanager
    async def new_context(self) -> AsyncIterator[BrowserContext]:
        """Yield a fresh browser context (no cookies shared with any other), closed on exit.

        Raises:
            BrowserUnavailable: The session is not open.
            BrowserCrashed: Chromium died before the context was made.
        """
        context = await self.open_context()
        try:
            yield context
        finally:
            await self.close_context(context)

    async def open_context(self) -> BrowserContext:
        """A fresh browser context (no cookies shared with any other); ``close_context`` it.

        Raises:
            BrowserUnavailable: The session is not open.
            BrowserCrashed: Chromium died before the context was made.
        """
        if self._browser is None:
            raise BrowserUnavailable("the browser session is not open (use `async with`)")
        try:
            context = await self._browser.new_context()
            if not self._headed:
                await context.add_init_script(STILL_CARET_SCRIPT)
            if self._debug_dir is not None:
                await context.tracing.start(screenshots=True, snapshots=True)
        except PlaywrightError as error:
            raise crash_or(error, alive=self.connected) from None
        return context

    async def close_context(self, context: BrowserContext) -> None:
        """Write the context's trace (if asked) and close it; a dead Chromium took both along."""
        try:
            if self._debug_dir is not None:
                path = self._debug_dir / f"trace-{secrets.token_hex(4)}.zip"
                await context.tracing.stop(path=str(path))
                if path.exists():
                    os.chmod(path, 0o600)
            await context.close()
        except PlaywrightError:
            if self.connected:
                raise


@contextmanager
def _driver_in_its_own_session() -> Iterator[None]:
    """Start Playwright's driver (Node.js) in a session of its own, away from the terminal.

    A Ctrl-C at the terminal goes to every process of its foreground group: the driver would
    die with it (Node.js resets an inherited ignored or blocked SIGINT) and take its Chromium
    along, mid-step, while vaultborn is still closing them ("Connection closed while reading
    from the driver"). In a session of its own only vaultborn gets the Ctrl-C, and it closes the
    browser itself; the driver still ends when its stdin closes, vaultborn killed or not.
    Playwright has no option for it (microsoft/playwright-python#1170), so the subprocess call
    it makes is given ``start_new_session`` while it starts.
    """
    spawn = asyncio.create_subprocess_exec

    async def in_new_session(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        return await spawn(*args, **{**kwargs, "start_new_session": True})

    asyncio.create_subprocess_exec = in_new_session
    try:
        yield
    finally:
        asyncio.create_subprocess_exec = spawn
