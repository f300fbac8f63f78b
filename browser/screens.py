"""The screens an enrollment or login can show, as drivers classify them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Screen", "ScreenKind"]


class ScreenKind(StrEnum):
    """What the page asks for, whatever IdP renders it."""

    LOGIN = "login"
    """User name and/or password (also a "confirm your password" re-authentication)."""
    SIGNUP = "signup"
    """A sign-up form: an identifier and a new password (twice, or marked ``new-password``)."""
    METHOD = "method"
    """A choice among MFA methods offering an authenticator app, before any secret is shown."""
    QR = "qr"
    """TOTP enrollment showing a QR code (the secret may sit behind a "can't scan" link)."""
    MANUAL = "manual"
    """TOTP enrollment showing the secret as text."""
    CODE = "code"
    """A one-time code prompt without a secret (a login's MFA challenge)."""
    SUCCESS = "success"
    """The enrollment or login is done (it may list recovery codes to keep)."""
    ERROR = "error"
    """The IdP says the flow cannot go on (expired link, locked account …)."""
    HUMAN = "human"
    """A CAPTCHA or "verify you are human" box: a person must act."""
    UNKNOWN = "unknown"
    """Nothing the driver recognizes."""


@dataclass(frozen=True)
class Screen:
    """One classified page.

    Attributes:
        kind: What the page asks for.
        driver: The driver that classified it (``auth0``, ``keycloak``, ``okta``, ``generic``).
        name: The IdP's own name of the screen when it has one, else the page's heading.
        url: The page's URL without query or fragment.
        error: The error the page shows (a refused code, wrong password …), or "".
        error_code: The IdP's code for that error, or "".
        recovery_codes: The page lists recovery codes (kept in the vault, never shown).
    """

    kind: ScreenKind
    driver: str
    name: str
    url: str
    error: str = ""
    error_code: str = ""
    recovery_codes: bool = False

    @property
    def key(self) -> str:
        """Which page this is, for telling a page shown again from the next one."""
        return f"{self.url} {self.name}"

    @property
    def enrolling(self) -> bool:
        """Whether the page shows a TOTP secret to enroll (as QR code or text)."""
        return self.kind in (ScreenKind.QR, ScreenKind.MANUAL)
