"""The generic driver: classify any IdP's page by what it contains and the words it uses.

Used when no IdP-specific driver recognizes the page, and by those drivers for pages their
markers do not settle. The word lists are English; tenants that customize texts are still
recognized by structure (QR image, secret marker, code and password inputs, CAPTCHA widget).
"""

from __future__ import annotations

from vaultborn.browser.capture import FALLBACK_WORDINGS
from vaultborn.browser.drivers.base import Driver
from vaultborn.browser.screens import Screen, ScreenKind
from vaultborn.browser.snapshot import PageSnapshot

__all__ = ["GenericDriver", "says_human_check"]

HUMAN_WORDS = (
    "verify you are human",
    "i'm not a robot",
    "i am not a robot",
    "are you a robot",
    "complete the captcha",
    "security check",
)
ENROLL_WORDS = (
    "scan the qr",
    "scan this qr",
    "scan the barcode",
    "setup key",
    "secret key",
    "enter the key",
    "enter this key",
    "manually enter",
    *(w.lower().rstrip("?") for w in FALLBACK_WORDINGS),
)
"""Words only an enrollment uses (a QR to scan, a key to type in)."""
APP_WORDS = ("authenticator app", "add an authenticator")
"""Words enrollments use, and login prompts too ("the code from your authenticator app")."""
SUCCESS_WORDS = (
    "enrolled",
    "activated",
    "is now enabled",
    "has been activated",
    "successfully changed your two-factor",
    "two-factor authentication is enabled",
    "recovery codes have been generated",
    "you're all set",
    "you are all set",
    "successfully",
    "has been set up",
    "is now set up",
    "has been enabled",
    "login successful",
    "logged in",
)
ERROR_WORDS = (
    "expired",
    "invalid link",
    "already used",
    "something went wrong",
    "error",
    "locked",
    "not allowed",
)


def says_human_check(snap: PageSnapshot) -> bool:
    """A CAPTCHA widget, or the words of a "verify you are human" box."""
    return snap.has_captcha or any(w in snap.text for w in HUMAN_WORDS)


def _says(snap: PageSnapshot, words: tuple[str, ...]) -> bool:
    head = f"{snap.heading} {snap.title}".lower()
    return any(w in head for w in words) or any(w in snap.text[:600] for w in words)


class GenericDriver(Driver):
    """Any enrollment or login page, recognized by structure and common wording."""

    name = "generic"

    def recognizes(self, snap: PageSnapshot) -> bool:
        """Always: this is the driver of last resort."""
        return True

    def classify(self, snap: PageSnapshot) -> Screen:
        """Evidence first, words last.

        A human check; a secret or QR code on the page (enrollment); password inputs (sign-up
        when there are two or one marked ``new-password``, else login or re-authentication);
        words only an enrollment uses; a code input; then what the words say: success
        ("Authenticator app activated" talks of an authenticator app, but it is a success
        page), a choice of MFA methods, an authenticator app, an error; else unknown.
        """
        if says_human_check(snap):
            return self.screen(snap, ScreenKind.HUMAN)
        if snap.has_secret or snap.has_qr:
            kind = ScreenKind.QR if snap.has_qr and not snap.has_secret else ScreenKind.MANUAL
            return self.screen(snap, kind)
        if snap.password_inputs >= 2 or (snap.has_new_password and snap.has_username):
            return self.screen(snap, ScreenKind.SIGNUP)
        if snap.has_password or (snap.has_username and not snap.has_code_input):
            return self.screen(snap, ScreenKind.LOGIN)
        if any(w in snap.text for w in ENROLL_WORDS):
            return self.screen(snap, ScreenKind.MANUAL)  # the key may sit behind "can't scan"
        if snap.has_code_input:
            return self.screen(snap, ScreenKind.CODE)
        if _says(snap, SUCCESS_WORDS):
            return self.screen(snap, ScreenKind.SUCCESS)
        if snap.has_method_choice:
            return self.screen(snap, ScreenKind.METHOD)
        if any(w in snap.text for w in APP_WORDS):
            return self.screen(snap, ScreenKind.MANUAL)
        if snap.error or _says(snap, ERROR_WORDS):
            return self.screen(snap, ScreenKind.ERROR)
        return self.screen(snap, ScreenKind.UNKNOWN)
