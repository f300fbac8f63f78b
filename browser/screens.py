"""The screens an enrollment or login can show, as drivers classify them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Screen", "ScreenKind"]


class ScreenKind(StrEnum):
    """What the page asks for, whatever IdP renders it."""

    LOGIN = "login"
    """User name and/or password."""
    QR = "qr"
    """TOTP enrollment showing a QR code (the secret may sit behind a "can't scan" link)."""
    MANUAL = "manual"
    """TOTP enrollment showing the secret as text."""
    CODE = "code"
    """A one-time code prompt without a secret (a login's MFA challenge)."""
    SUCCESS = "success"
    """The enrollment or login is done."""
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
    """

    kind: ScreenKind
    driver: str
    name: str
    url: str
    error: str = ""
    error_code: str = ""

    @property
    def enrolling(self) -> bool:
        """Whether the page shows a TOTP secret to enroll (as QR code or text)."""
        return self.kind in (ScreenKind.QR, ScreenKind.MANUAL)
