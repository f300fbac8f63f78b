"""Okta's Sign-In Widget (Identity Engine and Classic): Google Authenticator enrollment.

The widget lives in ``#okta-sign-in``; its forms carry ``data-se`` hooks and the passcode input
is ``credentials.passcode`` (Identity Engine) or ``answer``/``passCode`` (Classic). "Can't
scan?" reveals the secret key; the code is entered on the same or the next view.
"""

from __future__ import annotations

from vaultborn.browser.drivers.base import Driver
from vaultborn.browser.drivers.generic import GenericDriver
from vaultborn.browser.screens import Screen
from vaultborn.browser.snapshot import PageSnapshot

__all__ = ["OktaDriver"]


class OktaDriver(Driver):
    """Okta's Sign-In Widget."""

    name = "okta"
    code_inputs = (
        "input[name='credentials.passcode']:not([type=password])",
        "input[name=answer]",
        "input[name=passCode]",
    )
    username_inputs = ("input[name=identifier]", "input[name=username]")
    password_inputs = ("input[name='credentials.passcode'][type=password]", "input[type=password]")
    submits = ("input[type=submit][data-type=save]", ".o-form-button-bar [type=submit]")

    def recognizes(self, snap: PageSnapshot) -> bool:
        """The widget's container id."""
        return "okta-sign-in" in snap.ids

    def classify(self, snap: PageSnapshot) -> Screen:
        """The widget's views map onto the generic rules; only the driver name differs."""
        return self.screen(snap, GenericDriver().classify(snap).kind)
