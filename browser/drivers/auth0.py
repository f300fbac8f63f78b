"""Auth0 Universal Login (and the dev IdP, which renders its screens with the same names).

Screens are named by Auth0's prompt/screen identifiers (``mfa-otp-enrollment-qr`` …); the dev
IdP exposes them as ``data-screen``. Without that hook the generic rules apply.
"""

from __future__ import annotations

from vaultborn.browser.drivers.base import Driver
from vaultborn.browser.drivers.generic import GenericDriver
from vaultborn.browser.screens import Screen, ScreenKind
from vaultborn.browser.snapshot import PageSnapshot

__all__ = ["Auth0Driver"]

SCREENS = {
    "login": ScreenKind.LOGIN,
    "login-id": ScreenKind.LOGIN,
    "login-password": ScreenKind.LOGIN,
    "mfa-otp-enrollment-qr": ScreenKind.QR,
    "mfa-otp-enrollment-code": ScreenKind.MANUAL,
    "mfa-otp-challenge": ScreenKind.CODE,
    "login-success": ScreenKind.SUCCESS,
    "human-check": ScreenKind.HUMAN,
    "captcha": ScreenKind.HUMAN,
}
SUCCESS_RESULTS = frozenset({"enrolled", "logged-in"})


class Auth0Driver(Driver):
    """Auth0's Universal Login screens."""

    name = "auth0"
    code_inputs = ("input#code", "input[name=code]")
    username_inputs = ("input#username", "input[name=username]", *Driver.username_inputs)
    password_inputs = ("input#password", "input[name=password]")
    submits = ("button[name=action][value=default]", "button#continue", *Driver.submits)

    def recognizes(self, snap: PageSnapshot) -> bool:
        """A screen hook, or Auth0's element ids (``error-element-*``, ``ulp-*``)."""
        return bool(snap.screen) or any(i.startswith(("error-element-", "ulp-")) for i in snap.ids)

    def classify(self, snap: PageSnapshot) -> Screen:
        """By screen name; result screens by their result; anything else by the generic rules."""
        if snap.screen == "mfa-enroll-result":
            kind = ScreenKind.SUCCESS if snap.result in SUCCESS_RESULTS else ScreenKind.ERROR
            return self.screen(snap, kind, name=snap.heading or snap.screen)
        known = SCREENS.get(snap.screen)
        return self.screen(snap, known or GenericDriver().classify(snap).kind)
