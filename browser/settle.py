"""``act_and_settle()``: do something to a page, then wait until the page has reacted.

A submitted form may load a new document (a POST answered with HTML, a redirect) or change
the current one in place (a single-page widget). Playwright's ``click`` does not wait for
either, and ``wait_for_load_state`` right after it still sees the old document as loaded, so
this watches for both: a navigation of the main frame, or a change of the visible text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from vaultborn.browser.errors import PageTimeout
from vaultborn.browser.snapshot import page_location

__all__ = ["act_and_settle"]

_POLL_SECONDS = 0.05
_POLL_MAX_SECONDS = 0.4
_MARK = "() => { window.__vaultbornText = document.body ? document.body.innerText : ''; }"
_CHANGED = (
    "() => window.__vaultbornText === undefined || "
    "(document.body ? document.body.innerText : '') !== window.__vaultbornText"
)


async def act_and_settle(
    page: Page, action: Callable[[], Awaitable[object]], timeout: float
) -> None:
    """Run ``action``, then wait for a navigation or a change of the page's text, then load.

    Raises:
        PageTimeout: The page neither navigated nor changed within ``timeout`` seconds, or the
            new page did not finish loading.
    """
    navigated = asyncio.Event()

    def on_navigation(frame: Frame) -> None:
        if frame == page.main_frame:
            navigated.set()

    where = page_location(page)
    await page.evaluate(_MARK)
    page.on("framenavigated", on_navigation)
    try:
        await action()
        deadline, interval = time.monotonic() + timeout, _POLL_SECONDS
        while True:
            # A navigation wakes this at once, so a posted form is never looked at before its
            # answer; the text is looked at less and less often, so twenty pages settling at
            # once do not flood the browser with evaluations.
            with suppress(TimeoutError):
                await asyncio.wait_for(navigated.wait(), interval)
            if navigated.is_set():
                break
            try:
                if await _changed_unless_navigated(page, navigated, deadline):
                    break
            except PlaywrightError:
                # The old document went away mid-evaluation: a navigation, which commits
                # next. Until it has, the frame still reports the old document as loaded.
                await _committed(navigated, deadline, where, timeout)
                break
            if time.monotonic() > deadline:
                raise PageTimeout(f"{where} did not react within {timeout:g} s")
            interval = min(interval * 2, _POLL_MAX_SECONDS)
        await page.wait_for_load_state("load", timeout=timeout * 1000)
    except PlaywrightTimeout:
        raise PageTimeout(f"{where} did not finish loading within {timeout:g} s") from None
    finally:
        page.remove_listener("framenavigated", on_navigation)


async def _changed_unless_navigated(page: Page, navigated: asyncio.Event, deadline: float) -> bool:
    """Whether the text changed; False once the navigation committed first, or at ``deadline``.

    While a navigation is under way (a form posted, no answer yet) an evaluation waits for
    it, so the navigation, not the evaluation, may be what ends the look.
    """
    look = asyncio.ensure_future(page.evaluate(_CHANGED))
    commit = asyncio.ensure_future(navigated.wait())
    try:
        wait = max(deadline - time.monotonic(), 0.0)
        await asyncio.wait((look, commit), timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    finally:
        commit.cancel()
        if not look.done():
            look.cancel()
            with suppress(asyncio.CancelledError, PlaywrightError):
                await look
    return bool(look.result()) if look.done() and not look.cancelled() else False


async def _committed(navigated: asyncio.Event, deadline: float, where: str, timeout: float) -> None:
    """Wait for the main frame's navigation to commit, or raise PageTimeout at ``deadline``."""
    try:
        await asyncio.wait_for(navigated.wait(), max(deadline - time.monotonic(), 0.0))
    except TimeoutError:
        raise PageTimeout(f"{where} did not finish navigating within {timeout:g} s") from None
