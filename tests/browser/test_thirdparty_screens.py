"""Every screen django-allauth and Flask-Security-Too showed, classified in a real Chromium.

The pages were saved from the live applications (tests/thirdparty/screens/, written by
``python -m tests.thirdparty.capture_screens``); this pins what the generic driver makes of
each, fast and without the servers. The live flows are in tests/thirdparty/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.browser.kit import Pages, needs_chromium
from vaultborn.browser.drivers import pick_driver
from vaultborn.browser.screens import Screen, ScreenKind
from vaultborn.browser.snapshot import take_snapshot

pytestmark = needs_chromium

SCREENS = Path(__file__).parents[1] / "thirdparty" / "screens"
K = ScreenKind

EXPECTED: dict[str, ScreenKind] = {
    "allauth/01-home-anonymous": K.UNKNOWN,
    "allauth/02-signup": K.SIGNUP,
    "allauth/03-signup-error-weak-password": K.SIGNUP,
    "allauth/04-home-after-signup": K.SUCCESS,
    "allauth/06-reauthenticate": K.LOGIN,
    "allauth/07-reauthenticate-error-wrong-password": K.LOGIN,
    "allauth/08-totp-activate": K.MANUAL,
    "allauth/09-totp-activate-error-wrong-code": K.MANUAL,
    # "Authenticator app activated." talks of an authenticator app: still a success.
    "allauth/10-recovery-codes-after-activation": K.SUCCESS,
    "allauth/12-logout-confirm": K.UNKNOWN,
    "allauth/14-login": K.LOGIN,
    "allauth/15-login-error-wrong-password": K.LOGIN,
    "allauth/16-login-code-prompt": K.CODE,
    "allauth/17-login-code-prompt-error-wrong-code": K.CODE,
    "allauth/18-home-after-login-with-code": K.SUCCESS,
    "allauth/19-totp-activate-when-enrolled-asks-reauthentication": K.LOGIN,
    "flask_security/02-tf-setup-anonymous-redirects-to-login": K.LOGIN,
    "flask_security/03-register": K.SIGNUP,
    "flask_security/04-register-error-passwords-differ": K.SIGNUP,
    "flask_security/05-home-after-register": K.UNKNOWN,
    "flask_security/06-verify": K.LOGIN,
    "flask_security/07-verify-error-wrong-password": K.LOGIN,
    "flask_security/08-tf-setup": K.METHOD,
    "flask_security/09-tf-setup-authenticator-chosen": K.QR,
    "flask_security/10-tf-setup-error-wrong-code": K.METHOD,
    "flask_security/11-tf-setup-authenticator-chosen-again-new-secret": K.QR,
    "flask_security/12-tf-setup-done": K.SUCCESS,
    "flask_security/18-login": K.LOGIN,
    "flask_security/19-login-error-wrong-password": K.LOGIN,
    "flask_security/20-tf-validate-code-prompt": K.CODE,
    "flask_security/21-tf-validate-error-wrong-code": K.CODE,
    "flask_security/22-home-after-login-with-code": K.UNKNOWN,
    "flask_security/23-tf-setup-when-enrolled": K.METHOD,
}
"""The screens of the flows vaultborn runs. Pages no flow reaches (allauth's MFA index, which
offers "Activate" by a link whose text names no method; Flask-Security's recovery-code
pages, which it links from nowhere) are left out rather than pinned to a guess."""

ERRORS = {
    "allauth/03-signup-error-weak-password": "This password is too common.",
    "allauth/07-reauthenticate-error-wrong-password": "Incorrect password.",
    "allauth/09-totp-activate-error-wrong-code": "Incorrect code.",
    "allauth/15-login-error-wrong-password": "The email address and/or password you specified",
    "allauth/17-login-code-prompt-error-wrong-code": "Incorrect code.",
    "flask_security/04-register-error-passwords-differ": "Passwords do not match",
    "flask_security/07-verify-error-wrong-password": "Invalid password",
    "flask_security/10-tf-setup-error-wrong-code": "Invalid code",
    "flask_security/21-tf-validate-error-wrong-code": "Invalid code",
}


@pytest.fixture(scope="module")
def classified(pages: Pages) -> dict[str, Screen]:
    """Every saved screen, classified in one page (one Chromium context for the module)."""

    async def action(page: Page) -> dict[str, Screen]:
        out = {}
        for name in EXPECTED:
            await page.set_content((SCREENS / f"{name}.html").read_text())
            snap = await take_snapshot(page, timeout=5.0)
            out[name] = pick_driver(snap).classify(snap)
        return out

    return pages.run(action)


@pytest.mark.parametrize("name", EXPECTED)
def test_each_screen_is_what_a_person_sees_it_is(classified: dict[str, Screen], name: str) -> None:
    screen = classified[name]
    assert screen.kind is EXPECTED[name], screen
    expected_error = ERRORS.get(name)
    if expected_error is None:
        assert not screen.error or screen.kind is K.LOGIN, screen.error  # notices on logins
    else:
        assert screen.error.startswith(expected_error), screen.error


def test_only_the_page_that_lists_recovery_codes_says_so(classified: dict[str, Screen]) -> None:
    listing = [name for name, screen in classified.items() if screen.recovery_codes]
    assert listing == ["allauth/10-recovery-codes-after-activation"]
