"""Keycloak's login theme: ``CONFIGURE_TOTP`` (``login-config-totp.ftl``), login, OTP login.

Markers from the base theme: the enrollment form ``#kc-totp-settings-form`` with the QR image
``#kc-totp-secret-qr-code`` or, in manual mode, the key ``#kc-totp-secret-key``; the login form
``#kc-form-login``; the OTP form ``#kc-otp-login-form``; ``#kc-error-message`` and
``#kc-info-message`` pages. After a confirmed code Keycloak redirects to the application, so
a non-Keycloak page after a submitted code is success (the flow decides that).
"""

from __future__ import annotations

from vaultborn.browser.drivers.base import Driver
from vaultborn.browser.drivers.generic import GenericDriver, says_human_check
from vaultborn.browser.screens import Screen, ScreenKind
from vaultborn.browser.snapshot import PageSnapshot

__all__ = ["KeycloakDriver"]


class KeycloakDriver(Driver):
    """Keycloak's base login theme and themes derived from it."""

    name = "keycloak"
    code_inputs = ("input#totp", "input[name=totp]", "input#otp", "input[name=otp]")
    username_inputs = ("input#username", "input[name=username]")
    password_inputs = ("input#password", "input[name=password]")
    submits = ("#saveTOTPBtn", "#kc-login", *Driver.submits)

    def recognizes(self, snap: PageSnapshot) -> bool:
        """Any ``kc-`` element id."""
        return any(i.startswith("kc-") for i in snap.ids)

    def classify(self, snap: PageSnapshot) -> Screen:
        """By the theme's form and message ids."""
        ids = snap.ids
        if says_human_check(snap):
            kind = ScreenKind.HUMAN
        elif "kc-totp-settings-form" in ids:
            kind = ScreenKind.MANUAL if "kc-totp-secret-key" in ids else ScreenKind.QR
        elif "kc-otp-login-form" in ids:
            kind = ScreenKind.CODE
        elif "kc-form-login" in ids:
            kind = ScreenKind.LOGIN
        elif "kc-error-message" in ids:
            kind = ScreenKind.ERROR
        elif "kc-info-message" in ids:
            kind = ScreenKind.SUCCESS
        else:
            kind = GenericDriver().classify(snap).kind
        return self.screen(snap, kind)
