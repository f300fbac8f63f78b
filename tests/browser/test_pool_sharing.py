"""Flows of one process share one Chromium, each in a context of its own, and the flags it got.

Several flows at once (as ``setup --plan-dir`` runs them) launch Chromium once, get a fresh
context each, closed when the flow ends, and see none of each other's cookies, all open at the
same time. The launched Chromium runs without the omnibox's WebUI popups (a renderer per
context that a headless capture never shows), and with Playwright's own disabled features
still disabled: Chromium keeps only the last ``--disable-features``.
"""

from __future__ import annotations

import asyncio
import os

from playwright.async_api import BrowserContext, Route

from tests.browser.kit import needs_chromium
from tests.graph.kit import descendants
from vaultborn.browser.chromium import DISABLED_FEATURES
from vaultborn.browser.pool import BrowserPool

pytestmark = needs_chromium

BASE = "http://fixture.test/"
FLOWS = 4


PAGE = "<!doctype html><title>flow</title><p>flow</p>"


async def _blank(route: Route) -> None:
    await route.fulfill(body=PAGE, content_type="text/html")


async def _flow(pool: BrowserPool, index: int, together: asyncio.Barrier) -> dict[str, object]:
    closed: list[bool] = []
    async with pool.context() as context:
        context.on("close", lambda _: closed.append(True))
        await context.route(f"{BASE}**", _blank)
        page = await context.new_page()
        await page.goto(BASE + "page")
        before = await page.evaluate("document.cookie")
        await page.evaluate(f"document.cookie = 'flow={index}; path=/'")
        await together.wait()  # every flow has set its cookie; all contexts are open
        after = await page.evaluate("document.cookie")
        cookies = [c["value"] for c in await context.cookies() if c["name"] == "flow"]
        seen = {"context": context, "before": before, "after": after, "cookies": cookies}
    return {**seen, "closed": closed == [True]}


def test_flows_share_one_launch_with_a_closed_context_each_and_no_cookie_shared() -> None:
    async def main() -> tuple[BrowserPool, list[dict[str, object]]]:
        pool = BrowserPool()
        try:
            together = asyncio.Barrier(FLOWS)
            flows = await asyncio.gather(*(_flow(pool, i, together) for i in range(FLOWS)))
        finally:
            await pool.close()
        return pool, flows

    pool, flows = asyncio.run(main())

    assert pool.launches == 1
    assert pool.contexts == FLOWS
    assert len({id(f["context"]) for f in flows}) == FLOWS
    assert all(f["closed"] for f in flows)
    assert [f["before"] for f in flows] == [""] * FLOWS
    assert [f["after"] for f in flows] == [f"flow={i}" for i in range(FLOWS)]
    assert [f["cookies"] for f in flows] == [[str(i)] for i in range(FLOWS)]


def _command_line(before: set[int]) -> list[str]:
    """The command line of the browser process launched since ``before`` (the pids then), from
    /proc: the headless shell, which serves headless sessions where it is installed, has no
    chrome://version page. Another test's browser may still be up in this worker, and Debian's
    wrapper scripts run Chromium from a shell whose line is not the one Chromium parsed."""
    lines = [
        line.split(b"\0") for pid, line in descendants(os.getpid()).items() if pid not in before
    ]
    (browser,) = [
        line for line in lines
        if b"--remote-debugging-pipe" in line and not any(a.startswith(b"--type=") for a in line)
        and not line[0].endswith(b"sh")
    ]  # fmt: skip
    return [argument.decode() for argument in browser if argument]


async def _browser_ui_urls(context: BrowserContext) -> list[str]:
    page = await context.new_page()
    await page.goto(BASE + "page")
    cdp = await context.browser.new_browser_cdp_session()  # type: ignore[union-attr]
    targets = (await cdp.send("Target.getTargets"))["targetInfos"]
    await cdp.detach()
    return [t["url"] for t in targets if t["url"].startswith("chrome://omnibox-popup")]


def test_chromium_runs_without_the_omnibox_popups_and_keeps_playwrights_features_off() -> None:
    async def main() -> tuple[list[str], list[str]]:
        before = set(descendants(os.getpid()))
        pool = BrowserPool()
        try:
            async with pool.context() as context:
                await context.route(f"{BASE}**", _blank)
                command = _command_line(before)
                popups = await _browser_ui_urls(context)
        finally:
            await pool.close()
        return command, popups

    command, popups = asyncio.run(main())

    assert popups == []
    lists = [a.removeprefix("--disable-features=").split(",") for a in command
             if a.startswith("--disable-features=")]  # fmt: skip
    effective = set(lists[-1])  # Chromium keeps the last one
    dropped = {feature for earlier in lists[:-1] for feature in earlier} - effective
    assert not dropped, f"Playwright disables {sorted(dropped)} too: add them to chromium.py"
    assert set(DISABLED_FEATURES) <= effective


async def _strict_page(route: Route) -> None:
    await route.fulfill(
        body="<!doctype html><title>sign in</title><input id=email autofocus>",
        content_type="text/html",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'none'"},
    )


def test_a_headless_context_keeps_the_caret_still_under_a_strict_csp() -> None:
    async def main() -> tuple[str, str]:
        pool = BrowserPool()
        try:
            async with pool.context() as context:
                await context.route(f"{BASE}**", _strict_page)
                page = await context.new_page()
                await page.goto(BASE + "login")
                caret = await page.evaluate("getComputedStyle(email).caretAnimation")
                focused = await page.evaluate("document.activeElement.id")
        finally:
            await pool.close()
        return caret, focused

    caret, focused = asyncio.run(main())

    assert (caret, focused) == ("manual", "email")
