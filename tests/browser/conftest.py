"""Fixtures of the browser tests: one Chromium for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.kit import Pages
from vaultborn.browser.chromium import find_chromium


@pytest.fixture(scope="session")
def pages() -> Iterator[Pages]:
    """The session's shared Chromium (skips when there is none)."""
    if find_chromium() is None:
        pytest.skip("no Chromium found (VAULTBORN_CHROMIUM, Playwright's cache, or PATH)")
    shared = Pages()
    try:
        yield shared
    finally:
        shared.close()
