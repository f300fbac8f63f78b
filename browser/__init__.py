"""Playwright (async): Chromium discovery, sessions, IdP drivers and ``capture_totp()``.

Screen-driven drivers per IdP and the "can't scan" capture. Arrives with the browser
enrollment.
"""
