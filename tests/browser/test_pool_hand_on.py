"""A flow's step hands its page on to the next step, wiped; a failed step hands nothing on.

The enrollment's page serves the login drill so the drill needs no renderer of its own; what
the drill must not inherit is a sign-in: every cookie of the context and the storage of the
origin the page was on are gone before it gets the page.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import BrowserContext, Route

from tests.browser.kit import needs_chromium
from vaultborn.browser import pool as pool_module
from vaultborn.browser.pool import BrowserPool

pytestmark = needs_chromium

BASE = "http://fixture.test/"
PAGE = "<!doctype html><title>flow</title><p>flow</p>"
_READ = "() => [document.cookie, localStorage.length, sessionStorage.length]"


async def _blank(route: Route) -> None:
    await route.fulfill(body=PAGE, content_type="text/html")


async def _signed_in(context: BrowserContext) -> None:
    await context.route(f"{BASE}**", _blank)
    await context.add_cookies([{"name": "sid", "value": "s", "url": BASE}])


def test_the_next_step_gets_the_same_page_with_no_cookie_and_no_storage_left() -> None:
    async def main() -> dict[str, object]:
        pool = BrowserPool()
        try:
            async with pool.page(hand_on="flow") as first:
                await _signed_in(first.page.context)
                await first.page.goto(BASE + "enroll")
                await first.page.evaluate("localStorage.x = 1; sessionStorage.y = 2")
                before = await first.page.evaluate(_READ)
            async with pool.page(take="flow") as second:
                after = await second.page.evaluate(_READ)
                cookies = await second.page.context.cookies()
                await second.page.goto(BASE + "login")
                reloaded = await second.page.evaluate(_READ)
            return {"same": first.page is second.page, "reused": (first.reused, second.reused),
                    "before": before, "after": after, "cookies": cookies, "reloaded": reloaded,
                    "contexts": pool.contexts, "counted": pool.reused,
                    "closed": second.page.is_closed()}  # fmt: skip
        finally:
            await pool.close()

    seen = asyncio.run(main())

    assert seen["before"] == ["sid=s", 1, 1]
    assert seen["same"] and seen["reused"] == (False, True)
    assert seen["after"] == ["", 0, 0] and seen["cookies"] == []
    assert seen["reloaded"] == ["", 0, 0]
    assert (seen["contexts"], seen["counted"]) == (1, 1)
    assert seen["closed"], "the last step's page is closed with its context"


def test_a_step_that_failed_hands_nothing_on() -> None:
    async def main() -> tuple[bool, bool, int]:
        pool = BrowserPool()
        try:
            with pytest.raises(RuntimeError):
                async with pool.page(hand_on="flow") as failed:
                    raise RuntimeError("the step failed")
            async with pool.page(take="flow") as next_step:
                return failed.page.is_closed(), next_step.reused, pool.contexts
        finally:
            await pool.close()

    failed_closed, reused, contexts = asyncio.run(main())

    assert failed_closed and not reused
    assert contexts == 2


def test_a_page_nobody_takes_in_time_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool_module, "HAND_ON_SECONDS", 0.2)

    async def main() -> tuple[bool, bool, bool]:
        pool = BrowserPool()
        try:
            async with pool.page(hand_on="flow") as late:
                pass
            still_open = not late.page.is_closed()
            await asyncio.sleep(0.6)
            async with pool.page(take="flow") as next_step:
                return still_open, late.page.is_closed(), next_step.reused
        finally:
            await pool.close()

    still_open, closed_in_time, reused = asyncio.run(main())

    assert still_open and closed_in_time and not reused


def test_closing_the_pool_closes_what_was_handed_on() -> None:
    async def main() -> tuple[bool, bool]:
        pool = BrowserPool()
        async with pool.page(hand_on="flow") as lent:
            pass
        open_before = not lent.page.is_closed()
        await pool.close()
        return open_before, lent.page.is_closed()

    open_before, closed_after = asyncio.run(main())

    assert open_before and closed_after
