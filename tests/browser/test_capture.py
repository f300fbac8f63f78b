"""``capture_totp()`` against a real Chromium: the dev IdP's ticket page and IdP-like fixtures."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pyotp
import pytest
import segno
from playwright.async_api import Page, expect

from tests.browser.kit import BASE, Pages, needs_chromium
from tests.idp.devkit import ENV, bearer, client, create_ticket, create_user, mgmt_token
from vaultborn.browser.capture import CapturedTotp, capture_totp
from vaultborn.browser.errors import (
    BrowserUnavailable,
    CaptureFailed,
    ConflictingSecrets,
    PageTimeout,
)
from vaultborn.browser.qr import decode_qr_texts
from vaultborn.browser.session import BrowserSession
from vaultborn.idp.devserver.server import start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.vault.otp import parse_otpauth_uri

pytestmark = needs_chromium


def _capture(pages: Pages, name: str) -> CapturedTotp:
    async def action(page: Page) -> CapturedTotp:
        await page.goto(BASE + name)
        return await capture_totp(page, timeout=5.0)

    return pages.run(action)


def test_keycloak_unable_to_scan_follows_mode_manual(pages: Pages) -> None:
    captured = _capture(pages, "keycloak.html")
    assert captured.source == "manual"
    assert captured.params.seed.reveal() == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_okta_cant_scan_reveals_secret_key(pages: Pages) -> None:
    captured = _capture(pages, "okta.html")
    assert captured.source == "manual"
    assert captured.params.seed.reveal() == "GEZDGNBVGY3TQOJQGEZDGNBV"


def test_secret_in_read_only_input_is_normalized(pages: Pages) -> None:
    captured = _capture(pages, "readonly-input.html")
    assert captured.source == "manual"
    assert captured.params.seed.reveal() == "MFZW63DPEBZW45DTMFZW63DP"


def test_otpauth_uri_in_data_attribute(pages: Pages) -> None:
    captured = _capture(pages, "data-attribute.html")
    assert captured.source == "uri"
    assert captured.params.issuer == "Example"
    assert captured.params.seed.reveal() == "KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ"
    assert parse_otpauth_uri(captured.uri).seed == captured.params.seed


def test_two_different_secrets_are_refused(pages: Pages) -> None:
    with pytest.raises(ConflictingSecrets) as caught:
        _capture(pages, "conflicting.html")
    assert "JBSWY3DP" not in str(caught.value)
    assert "GEZDGNBV" not in str(caught.value)


def test_no_secret_fails(pages: Pages) -> None:
    with pytest.raises(CaptureFailed) as caught:
        _capture(pages, "no-secret.html")
    assert not isinstance(caught.value, ConflictingSecrets)


def test_qr_only_page_is_decoded(pages: Pages) -> None:
    uri = "otpauth://totp/Acme:bob?secret=ONSWG4TFOQYTEMZUGU3DOOBZ&issuer=Acme"
    image = segno.make(uri, error="m").png_data_uri(scale=5, border=4)

    async def action(page: Page) -> CapturedTotp:
        await page.set_content(f'<h1>Scan me</h1><img alt="QR" src="{image}">')
        return await capture_totp(page, timeout=5.0)

    captured = pages.run(action)
    assert captured.source == "qr"
    assert captured.params.seed.reveal() == "ONSWG4TFOQYTEMZUGU3DOOBZ"
    assert captured.params.issuer == "Acme"


def test_page_that_never_loads_times_out(pages: Pages) -> None:
    async def action(page: Page) -> CapturedTotp:
        await page.goto(BASE + "no-secret.html")
        await page.set_content(
            f'<p>loading</p><img src="{BASE}never.png">', wait_until="domcontentloaded"
        )
        return await capture_totp(page, timeout=0.5)

    with pytest.raises(PageTimeout):
        pages.run(action)


def test_dev_idp_ticket_trouble_scanning(pages: Pages, tmp_path: Path) -> None:
    with start_dev_idp(demo_tenant(), db=tmp_path / "devidp.db", env=ENV) as idp:
        token = mgmt_token(idp)
        with client(idp.base_url) as http:
            user = create_user(http, token, f"capture-{secrets.token_hex(4)}@example.com")
            ticket_url = create_ticket(http, token, user["user_id"])["ticket_url"]

            async def action(page: Page) -> tuple[CapturedTotp, str, list[str]]:
                await page.goto(ticket_url)
                qr_png = await page.get_by_alt_text("QR code").screenshot()
                captured = await capture_totp(page, timeout=10.0)
                shown = (await page.locator("#totp-secret").inner_text()).strip()
                code = pyotp.TOTP(captured.params.seed.reveal()).now()
                await page.get_by_placeholder("Enter your one-time code").fill(code)
                await page.get_by_role("button", name="Continue").click()
                await expect(page.get_by_role("heading", name="Enrolled")).to_be_visible()
                return captured, shown, decode_qr_texts(qr_png)

            captured, shown, qr_texts = pages.run(action)
            methods = http.get(
                f"api/v2/users/{user['user_id']}/authentication-methods", headers=bearer(token)
            ).json()

    assert captured.source == "manual"
    assert captured.params.seed.reveal() == shown
    assert [parse_otpauth_uri(text).seed for text in qr_texts] == [captured.params.seed]
    assert [(m["type"], m["confirmed"]) for m in methods] == [("totp", True)]


def test_session_without_chromium_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vaultborn.browser.session.chromium_for", lambda **_: None)

    async def main() -> None:
        async with BrowserSession():
            pass

    with pytest.raises(BrowserUnavailable, match="no Chromium found"):
        asyncio.run(main())


def test_debug_dir_is_private(tmp_path: Path) -> None:
    debug = tmp_path / "debug"

    async def main() -> None:
        async with BrowserSession(debug_dir=debug) as session, session.new_context() as context:
            page = await context.new_page()
            await page.set_content("<p>hello</p>")

    asyncio.run(main())
    assert debug.stat().st_mode & 0o777 == 0o700
    traces = list(debug.iterdir())
    assert len(traces) == 1
    assert traces[0].stat().st_mode & 0o777 == 0o600


# -- prose is never a seed ---------------------------------------------------------------------

_DOWNLOAD_QR = segno.make("https://apps.example.com/download/authenticator", error="m")

PROSE_PAGES = {
    "a QR of an app link and a sentence of four-letter words": (
        "<h1>Protect your account</h1><p>Scan this code with your phone</p>"
        f'<img alt="QR code" src="{_DOWNLOAD_QR.png_data_uri(scale=5, border=4)}">'
        '<label for="c">Code</label><input id="c" name="code">'
    ),
    "the sentence in capitals beside a label": (
        "<h1>Authenticator</h1><p>Your secret key is shown after you SCAN THIS CODE WITH YOUR "
        "PHONE CAMERA</p><p>Secret key: SCAN THIS CODE WITH YOUR PHONE</p>"
    ),
    "a marked element holding a sentence": (
        '<h1>Set up</h1><p class="secret-key-help">Keep this page open while you scan.</p>'
        '<code>Then type the code</code><input readonly value="Open your app first">'
    ),
    "mixed-case words in groups of four in a code element": (
        "<h1>Set up</h1><code>Scan This Code With Your Cell</code>"
    ),
    "a base32-looking run too short for a key": "<p>Setup key: ABCDEF234567</p>",
}


@pytest.mark.robustness("hostile input: pages whose words look like a seed")
@pytest.mark.parametrize("html", PROSE_PAGES.values(), ids=PROSE_PAGES.keys())
def test_words_that_merely_look_like_letters_are_never_a_seed(pages: Pages, html: str) -> None:
    async def action(page: Page) -> CapturedTotp:
        await page.set_content(html)
        return await capture_totp(page, timeout=5.0)

    with pytest.raises(CaptureFailed):
        pages.run(action)


KEY_PAGES = {
    "beside its label on the same line": "<p>Secret key: JBSW Y3DP EHPK 3PXP</p>",
    "on the line after a label that names it": (
        "<p>Enter this key in your authenticator app:</p><p>jbsw y3dp ehpk 3pxp</p>"
    ),
    "in a monospace element": (
        "<p>Then</p><span style='font-family: monospace'>JBSWY3DPEHPK3PXP</span>"
    ),
    "in a read-only input": (
        '<label>Authenticator secret</label><input readonly value="JBSWY3DPEHPK3PXP">'
    ),
}


@pytest.mark.parametrize("html", KEY_PAGES.values(), ids=KEY_PAGES.keys())
def test_a_key_the_page_presents_as_one_is_taken(pages: Pages, html: str) -> None:
    async def action(page: Page) -> CapturedTotp:
        await page.set_content(f"<h1>Two-factor</h1>{html}")
        return await capture_totp(page, timeout=5.0)

    captured = pages.run(action)
    assert captured.source == "manual"
    assert captured.params.seed.reveal() == "JBSWY3DPEHPK3PXP"


def test_capture_totp_is_public_on_the_browser_package() -> None:
    import vaultborn.browser as browser

    assert browser.capture_totp is capture_totp
    assert browser.CapturedTotp is CapturedTotp
