"""The screen-driven flow on pages written from Keycloak's, Okta's and other IdPs' markup.

A route handler plays the IdP: it serves the fixture pages and checks each posted code
against the fixture's secret, answering with the IdP's next page or its error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pyotp
import pytest
from playwright.async_api import Page, Route

from tests.browser.kit import BASE, FIXTURES, Pages, fixture_name, needs_chromium
from vaultborn.browser.capture import CapturedTotp
from vaultborn.browser.enroll import enroll_totp
from vaultborn.browser.errors import CodeRefused, ConflictingSecrets, NeedsHuman
from vaultborn.browser.runner import FlowOptions, FlowReport
from vaultborn.vault.secret import Secret

pytestmark = [needs_chromium, pytest.mark.robustness("hostile input: enrollment pages")]

APP_PAGE = "<!DOCTYPE html><title>Inventory</title><h1>Inventory</h1><p>Hello, admin.</p>"
DONE_PAGE = "<!DOCTYPE html><title>Done</title><h1>Two-factor authentication is now set up</h1>"


@dataclass
class FakeIdP:
    """Serves the fixtures; a POST of a right code gets ``success``, a wrong one the error."""

    seed: str
    code_field: str
    error_html: str
    success: str = APP_PAGE
    posted: list[str] = field(default_factory=list)

    async def __call__(self, route: Route) -> None:
        name = fixture_name(route)
        page = (FIXTURES / name).read_text() if (FIXTURES / name).is_file() else ""
        if route.request.method != "POST":
            await route.fulfill(body=page or "not found", status=200 if page else 404)
            return
        code = parse_qs(route.request.post_data or "").get(self.code_field, [""])[0]
        self.posted.append(code)
        if pyotp.TOTP(self.seed).verify(code, valid_window=1):
            await route.fulfill(body=self.success, content_type="text/html")
        else:
            body = page.replace("<form", self.error_html + "<form", 1)
            await route.fulfill(body=body, content_type="text/html")


class MemoryTarget:
    """Keeps the captured secret in memory (the vault-backed target has its own tests)."""

    def __init__(self, *, wrong_codes: bool = False) -> None:
        self.captured: CapturedTotp | None = None
        self.wrong_codes = wrong_codes
        self.key = f"memory:{id(self)}"

    def store(self, captured: CapturedTotp) -> None:
        self.captured = captured

    def code(self, at: float) -> Secret:
        assert self.captured is not None
        if self.wrong_codes:
            return Secret("000000")
        return self.captured.params.code(at)

    def has_seed(self) -> bool:
        return self.captured is not None

    def store_recovery_codes(self, codes: Secret) -> None:
        raise AssertionError("these fixtures list no recovery codes")


async def _no_sleep(seconds: float) -> None:
    return None


def _run(pages: Pages, idp: FakeIdP, name: str, target: MemoryTarget) -> FlowReport:
    async def action(page: Page) -> FlowReport:
        options = FlowOptions(timeout=5.0, sleep=_no_sleep)
        return await enroll_totp(page, target, url=BASE + name, options=options)

    return pages.run(action, serve=idp)


KEYCLOAK_ERROR = (
    '<span id="input-error-otp-code" class="kc-feedback-text">Invalid authenticator code.</span>'
)


def test_keycloak_unable_to_scan_then_redirect_to_the_application(pages: Pages) -> None:
    idp = FakeIdP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "totp", KEYCLOAK_ERROR)
    target = MemoryTarget()
    report = _run(pages, idp, "keycloak.html", target)

    assert target.captured is not None
    assert target.captured.params.seed.reveal() == idp.seed
    assert report.screens == ("keycloak:qr", "keycloak:manual", "generic:unknown")
    assert report.outcome == "left-enrollment"
    assert len(idp.posted) == 1


def test_keycloak_refusing_both_codes_is_code_refused(pages: Pages) -> None:
    idp = FakeIdP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "totp", KEYCLOAK_ERROR)
    with pytest.raises(CodeRefused, match="Invalid authenticator code"):
        _run(pages, idp, "keycloak.html", MemoryTarget(wrong_codes=True))
    assert idp.posted == ["000000", "000000"]


def test_okta_cant_scan_then_verify(pages: Pages) -> None:
    error = '<div class="o-form-error-container">Your code doesn\'t match our records.</div>'
    idp = FakeIdP("GEZDGNBVGY3TQOJQGEZDGNBV", "credentials.passcode", error)
    target = MemoryTarget()
    report = _run(pages, idp, "okta.html", target)

    assert target.captured is not None
    assert target.captured.params.seed.reveal() == idp.seed
    assert report.screens[0] == "okta:qr"
    assert report.outcome == "left-enrollment"


def test_generic_page_with_a_read_only_key(pages: Pages) -> None:
    idp = FakeIdP("MFZW63DPEBZW45DTMFZW63DP", "otp", '<p role="alert">Wrong code</p>', DONE_PAGE)
    target = MemoryTarget()
    report = _run(pages, idp, "readonly-input.html", target)

    assert report.screens == (
        "generic:manual",
        "generic:manual",
        "generic:success",
    )  # capture, code
    assert report.outcome == "success-screen"
    assert report.source == "manual"


def test_page_without_a_secret_needs_a_person(pages: Pages) -> None:
    idp = FakeIdP("JBSWY3DPEHPK3PXP", "otp", "")
    with pytest.raises(NeedsHuman) as caught:
        _run(pages, idp, "no-secret.html", MemoryTarget())
    assert caught.value.url == BASE + "no-secret.html"
    assert "does not know the page 'Welcome back'" in caught.value.instructions


def test_two_secrets_are_refused_not_handed_off(pages: Pages) -> None:
    idp = FakeIdP("JBSWY3DPEHPK3PXP", "otp", "")
    target = MemoryTarget()
    with pytest.raises(ConflictingSecrets):
        _run(pages, idp, "conflicting.html", target)
    assert target.captured is None
    assert idp.posted == []
