"""One real Chromium shared by the browser tests, and the ``http://fixture.test/`` pages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.async_api import Page, Route

from vaultborn.browser.chromium import find_chromium
from vaultborn.browser.session import BrowserSession

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "http://fixture.test/"
T = TypeVar("T")
Handler = Callable[[Route], Awaitable[None]]

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no Chromium found (VAULTBORN_CHROMIUM, Playwright's cache, or PATH)",
)


def fixture_name(route: Route) -> str:
    """The fixture a ``http://fixture.test/<name>`` request names."""
    return route.request.url.removeprefix(BASE).split("?", 1)[0]


async def serve_fixture(route: Route) -> None:
    """Serve ``fixtures/<name>``; never answer ``/never…``; 404 for anything else."""
    name = fixture_name(route)
    if name.startswith("never"):
        return  # the request stays pending forever
    path = FIXTURES / name
    if path.is_file():
        await route.fulfill(body=path.read_bytes(), content_type="text/html")
    else:
        await route.fulfill(status=404, body="not found")


class Pages:
    """One Chromium on one event loop; a fresh context per ``run``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.session = BrowserSession()
        self.loop.run_until_complete(self.session.__aenter__())

    def run(self, action: Callable[[Page], Awaitable[T]], serve: Handler = serve_fixture) -> T:
        """Run ``action`` on a fresh page whose ``http://fixture.test/`` requests ``serve``."""

        async def main() -> T:
            async with self.session.new_context() as context:
                await context.route(f"{BASE}**", serve)
                page = await context.new_page()
                page.set_default_timeout(5_000)
                return await action(page)

        return self.loop.run_until_complete(main())

    def close(self) -> None:
        """Close Chromium and the loop."""
        self.loop.run_until_complete(self.session.__aexit__(None, None, None))
        self.loop.close()
