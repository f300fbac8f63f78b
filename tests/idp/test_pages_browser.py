"""A real Chromium through the dev IdP's enrollment ticket: "Trouble Scanning?" → code → done."""

from __future__ import annotations

import re
import secrets

import httpx
import pyotp
import pytest
from playwright.sync_api import ConsoleMessage, expect, sync_playwright

from tests.idp.devkit import bearer, create_ticket, create_user
from vaultborn.browser.chromium import LAUNCH_ARGS, find_chromium
from vaultborn.idp.devserver.server import RunningDevIdP


def test_chromium_enrolls_through_trouble_scanning(
    dev_idp: RunningDevIdP, http: httpx.Client, mgmt: str
) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found (VAULTBORN_CHROMIUM, Playwright's cache, or PATH)")
    user = create_user(http, mgmt, f"browser-{secrets.token_hex(4)}@example.com")
    ticket_url = create_ticket(http, mgmt, user["user_id"])["ticket_url"]
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium.path), headless=True, args=list(LAUNCH_ARGS)
        )
        try:
            context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on("console", on_console)
            page.on("pageerror", lambda error: problems.append(str(error)))

            page.goto(ticket_url)
            expect(page.get_by_role("heading", name="Secure Your Account")).to_be_visible()
            qr = page.get_by_alt_text("QR code")
            expect(qr).to_be_visible()
            assert qr.evaluate("img => img.naturalWidth") > 0  # the data: image passed the CSP
            continue_button = page.get_by_role("button", name="Continue")
            color = continue_button.evaluate("b => getComputedStyle(b).backgroundColor")
            assert color == "rgb(99, 93, 255)"  # the inline style passed the CSP

            page.get_by_text("Trouble Scanning?").click()
            expect(page.get_by_text("Manually enter the following code")).to_be_visible()
            secret = page.locator("#totp-secret").inner_text().strip()
            assert re.fullmatch(r"[A-Z2-7]{32}", secret)
            page.get_by_role("button", name="Copy code").click()
            expect(page.locator("#copy-code")).to_have_attribute("data-copied", "true")
            assert page.evaluate("navigator.clipboard.readText()") == secret

            page.get_by_placeholder("Enter your one-time code").fill(pyotp.TOTP(secret).now())
            page.get_by_role("button", name="Continue").click()
            expect(page.get_by_role("heading", name="Enrolled")).to_be_visible()
            expect(
                page.get_by_text("You are now enrolled in Multifactor Authentication")
            ).to_be_visible()
            assert secret not in page.url
            context.close()
        finally:
            browser.close()

    assert problems == []
    methods = http.get(
        f"api/v2/users/{user['user_id']}/authentication-methods", headers=bearer(mgmt)
    ).json()
    assert [(m["type"], m["confirmed"]) for m in methods] == [("totp", True)]
