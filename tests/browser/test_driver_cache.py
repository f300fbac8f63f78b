"""Playwright's driver keeps Node.js's compile cache under the scratch root, for the next one.

Every process that launches a browser starts a driver, and Node.js compiles Playwright's
JavaScript afresh each time unless a compile cache is named; the cache holds bytecode of that
JavaScript only. The unit tests (``tests/unit/test_browser_scratch.py``) check the environment
the driver gets; this one that a real driver fills the folder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.browser.kit import needs_chromium
from vaultborn.browser.scratch import COMPILE_CACHE_FOLDER
from vaultborn.browser.session import BrowserSession

pytestmark = needs_chromium


def test_a_closed_session_leaves_the_drivers_compile_cache_behind(tmp_path: Path) -> None:
    async def one_session() -> None:
        session = BrowserSession(scratch=tmp_path / "root")
        async with session, session.new_context() as context:
            page = await context.new_page()
            await page.goto("data:text/html,<p>cached</p>")

    asyncio.run(one_session())

    cache = tmp_path / "root" / COMPILE_CACHE_FOLDER
    written = [path for path in cache.rglob("*") if path.is_file()]
    assert written, f"Node.js wrote no compile cache to {cache}"
    assert sum(path.stat().st_size for path in written) > 100_000  # Playwright's modules
    # The profile folder went with the session; the cache is all that stays.
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == [COMPILE_CACHE_FOLDER]
