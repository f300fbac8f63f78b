"""Playwright (async): Chromium discovery, sessions, IdP drivers and ``capture_totp()``.

``capture_totp(page)`` reads the TOTP secret an enrollment page shows (its "can't scan"
fallback followed where needed); ``browser.enroll`` and ``browser.runner`` drive whole
enrollments and login drills screen by screen. Importing this package loads no Playwright:
the names below are imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaultborn.browser.capture import CapturedTotp, capture_totp

__all__ = ["CapturedTotp", "capture_totp"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vaultborn.browser import capture

        return getattr(capture, name)
    raise AttributeError(f"module 'browser' has no attribute {name!r}")
