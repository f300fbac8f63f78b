"""The decisions of a screen-driven flow, as a pure function of the screen and the progress.

``decide(goal, screen, progress)`` says what to do next; ``browser.runner`` does it, observes
the page again and asks again. Because the decision depends only on what the page shows now
and what this run has done, re-entering after a resume or a crash continues from whatever
screen is open: an enrollment page is captured (the IdP shows the same pending secret), a
success page ends the flow, a login page is filled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from browser.errors import BrowserError, CodeRefused, LoginRefused, PageError
from browser.screens import Screen, ScreenKind

__all__ = [
    "MAX_CODES",
    "Capture",
    "EnterCode",
    "Finish",
    "Goal",
    "HandOff",
    "LogIn",
    "Move",
    "Progress",
    "Stop",
    "decide",
]

MAX_CODES = 2
"""Codes sent per flow: the first, and one retry in the next time step."""
MAX_LOGINS = 2
"""Login submissions per flow (identifier-first pages take two)."""
_TOO_MANY = ("too-many", "too_many", "rate", "locked")


class Goal(StrEnum):
    """What the flow is for."""

    ENROLL = "enroll"
    """Capture the TOTP secret into the vault and confirm it with a code from the vault."""
    LOGIN = "login"
    """Log in with the password and a code, both from the vault (the break-glass drill)."""


@dataclass(frozen=True)
class Progress:
    """What this run of the flow has done so far (never a secret).

    Attributes:
        captured: The secret was captured and stored in the vault.
        codes_sent: One-time codes submitted.
        logins_sent: Login forms submitted.
        can_log_in: Credentials were given for a login screen.
    """

    captured: bool = False
    codes_sent: int = 0
    logins_sent: int = 0
    can_log_in: bool = False

    def after(self, move: Move) -> Progress:
        """The progress once ``move`` was done."""
        if isinstance(move, Capture):
            return replace(self, captured=True)
        if isinstance(move, EnterCode):
            return replace(self, codes_sent=self.codes_sent + 1)
        if isinstance(move, LogIn):
            return replace(self, logins_sent=self.logins_sent + 1)
        return self


@dataclass(frozen=True)
class Capture:
    """Capture the secret the page shows and store it in the vault."""


@dataclass(frozen=True)
class EnterCode:
    """Submit a code from the vault; ``next_step``: wait for the next TOTP time step first."""

    next_step: bool = False


@dataclass(frozen=True)
class LogIn:
    """Fill the login form with the user name and the password from the vault."""


@dataclass(frozen=True)
class Finish:
    """The flow is done; ``how`` says what showed it."""

    how: str


@dataclass(frozen=True)
class HandOff:
    """A person must act on the page; ``instructions`` says what to do."""

    instructions: str


@dataclass(frozen=True)
class Stop:
    """The flow cannot go on."""

    error: BrowserError


Move = Capture | EnterCode | LogIn | Finish | HandOff | Stop


def decide(goal: Goal, screen: Screen, progress: Progress) -> Move:
    """The next move on ``screen`` for ``goal``, given ``progress``."""
    kind = screen.kind
    if kind is ScreenKind.HUMAN:
        return HandOff(f"complete the human check on {screen.name!r} in the browser window")
    if kind is ScreenKind.SUCCESS:
        return Finish("success-screen" if progress.codes_sent else "already-done")
    if kind is ScreenKind.ERROR:
        detail = f": {screen.error}" if screen.error else ""
        return Stop(PageError(f"{screen.url} says {screen.name!r}{detail}"))
    if kind is ScreenKind.LOGIN:
        return _on_login(screen, progress)
    if screen.enrolling:
        if goal is Goal.LOGIN:
            return Stop(
                PageError(
                    f"{screen.url} asks to enroll a new authenticator: the account has no "
                    "confirmed TOTP to log in with"
                )
            )
        if progress.codes_sent:
            return _after_refusal(screen, progress)
        return EnterCode() if progress.captured else Capture()
    if kind is ScreenKind.CODE:
        if goal is Goal.ENROLL and not progress.captured:
            return Stop(
                PageError(
                    f"{screen.url} asks for a one-time code but shows no secret to enroll; "
                    "is the user enrolled already?"
                )
            )
        return _after_refusal(screen, progress) if progress.codes_sent else EnterCode()
    if goal is Goal.ENROLL and progress.codes_sent and not screen.error:
        return Finish("left-enrollment")  # e.g. Keycloak redirects to the application
    return HandOff(
        f"vaultborn does not know the page {screen.name!r}; finish this step in the browser window"
    )


def _on_login(screen: Screen, progress: Progress) -> Move:
    if not progress.can_log_in:
        return HandOff("log in on the page in the browser window")
    if progress.logins_sent and screen.error:
        return Stop(LoginRefused(f"{screen.url} refused the login: {screen.error}"))
    if progress.logins_sent >= MAX_LOGINS:
        return Stop(LoginRefused(f"{screen.url} still asks to log in after {MAX_LOGINS} tries"))
    return LogIn()


def _after_refusal(screen: Screen, progress: Progress) -> Move:
    """The page is still asking for a code after one was sent: the code was refused."""
    reason = screen.error or "the page asks for the code again"
    if any(mark in screen.error_code for mark in _TOO_MANY):
        return Stop(CodeRefused(f"{screen.url} refused the one-time code: {reason}"))
    if progress.codes_sent >= MAX_CODES:
        return Stop(
            CodeRefused(
                f"{screen.url} refused the one-time code, also in the next time step: {reason}"
            )
        )
    return EnterCode(next_step=True)
