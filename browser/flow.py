"""The decisions of a screen-driven flow, as a pure function of the screen and the progress.

``decide(goal, screen, progress)`` says what to do next; ``browser.runner`` does it, observes
the page again and asks again. Because the decision depends only on what the page shows now
and what this run has done, re-entering after a resume or a crash continues from whatever
screen is open: an enrollment page is captured (the IdP shows the same pending secret), a
success page ends the flow, a login page is filled. An enrollment whose login asks for a code
and takes the one the vault makes from the seed it holds is done already.

The TOTP rules: a seed goes into the vault before any code is typed; a code is sent at most
``MAX_CODES`` times per flow; after a refusal the page is read again (an application may
have drawn a new secret, as Flask-Security does after a wrong code) and the next code waits
for the next time step. An enrollment is done when a code was accepted and the page left the
enrollment, whether it says so ("Authenticator app activated", recovery codes) or just moves
on to the application. A login page shown again with an error after its form was sent is a
refused password; a different login page (a "confirm your password" re-authentication) is
the next step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from vaultborn.browser.errors import (
    BrowserError,
    CodeRefused,
    LoginRefused,
    PageError,
    SignUpRefused,
)
from vaultborn.browser.screens import Screen, ScreenKind

__all__ = [
    "MAX_CODES",
    "MAX_LOGINS",
    "Capture",
    "ChooseMethod",
    "EnterCode",
    "Finish",
    "Goal",
    "HandOff",
    "KeepRecoveryCodes",
    "LogIn",
    "Move",
    "Progress",
    "Reopen",
    "SignUp",
    "Stop",
    "decide",
]

MAX_CODES = 2
"""Codes sent per flow: the first, and one retry in the next time step."""
MAX_LOGINS = 3
"""Login submissions per flow (identifier-first pages take two, a re-authentication one)."""
MAX_METHOD_CHOICES = 3
"""Times the authenticator method is chosen per flow (again after a refused code)."""
_TOO_MANY = ("too-many", "too_many", "rate", "locked")
_TAKEN = ("already", "exists", "taken", "in use")
"""What a sign-up page says of an account that exists (allauth, Flask-Security, Django)."""


class Goal(StrEnum):
    """What the flow is for."""

    ENROLL = "enroll"
    """Capture the TOTP secret into the vault and confirm it with a code from the vault."""
    LOGIN = "login"
    """Log in with the password and a code, both from the vault (the break-glass drill)."""
    SIGNUP = "signup"
    """Create the account on an application's sign-up page with the vault's password."""


@dataclass(frozen=True)
class Progress:
    """What this run of the flow has done so far (never a secret).

    Attributes:
        captures: Times the page's secret was read and stored in the vault.
        codes_sent: One-time codes submitted.
        logins_sent: Login forms submitted.
        last_login: The ``Screen.key`` of the last login page filled.
        last_code: The ``Screen.key`` of the last page a code was typed into.
        challenge_codes: Codes typed into a login's challenge (before any capture).
        signups_sent: Sign-up forms submitted.
        methods_chosen: Times the authenticator method was chosen.
        recovery_codes_kept: The page's recovery codes went into the vault.
        reopens: Times the flow's first page was opened again.
        can_log_in: Credentials were given for login and sign-up screens.
        can_reopen: The flow knows the page it started at (to return to after a login).
        seed_known: The vault holds a seed from an earlier run (asked only where it matters).
    """

    captures: int = 0
    codes_sent: int = 0
    logins_sent: int = 0
    last_login: str = ""
    last_code: str = ""
    challenge_codes: int = 0
    signups_sent: int = 0
    methods_chosen: int = 0
    recovery_codes_kept: bool = False
    reopens: int = 0
    can_log_in: bool = False
    can_reopen: bool = False
    seed_known: bool = False

    @property
    def captured(self) -> bool:
        """A secret of this flow is in the vault."""
        return self.captures > 0

    def after(self, move: Move) -> Progress:
        """The progress once ``move`` was done."""
        if isinstance(move, Capture):
            return replace(self, captures=self.captures + 1)
        if isinstance(move, EnterCode):
            return replace(
                self,
                codes_sent=self.codes_sent + 1,
                last_code=move.screen,
                challenge_codes=self.challenge_codes + move.challenge,
            )
        if isinstance(move, LogIn):
            return replace(self, logins_sent=self.logins_sent + 1, last_login=move.screen)
        if isinstance(move, SignUp):
            return replace(self, signups_sent=self.signups_sent + 1)
        if isinstance(move, ChooseMethod):
            return replace(self, methods_chosen=self.methods_chosen + 1)
        if isinstance(move, KeepRecoveryCodes):
            return replace(self, recovery_codes_kept=True)
        if isinstance(move, Reopen):
            return replace(self, reopens=self.reopens + 1)
        return self


@dataclass(frozen=True)
class Capture:
    """Capture the secret the page shows and store it in the vault."""


@dataclass(frozen=True)
class EnterCode:
    """Submit a code from the vault; ``next_step``: wait for the next TOTP time step first.

    Attributes:
        next_step: Wait for the next time step first (the last code was refused).
        screen: The ``Screen.key`` of the page typed into.
        challenge: The page is a login's challenge, not an enrollment's confirmation.
    """

    next_step: bool = False
    screen: str = field(default="", compare=False)
    challenge: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class LogIn:
    """Fill the login form with the user name and the password from the vault.

    Attributes:
        screen: The ``Screen.key`` of the page filled (to tell a refusal from a next step).
    """

    screen: str = ""


@dataclass(frozen=True)
class SignUp:
    """Fill the sign-up form: the user name, and the vault's password in every password box."""


@dataclass(frozen=True)
class ChooseMethod:
    """Pick the authenticator app among the page's MFA methods and go on."""


@dataclass(frozen=True)
class KeepRecoveryCodes:
    """Read the recovery codes the page lists into the vault item (never shown anywhere)."""


@dataclass(frozen=True)
class Reopen:
    """Open the flow's first page again (an application that logged in went home instead)."""


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


Move = (
    Capture
    | EnterCode
    | LogIn
    | SignUp
    | ChooseMethod
    | KeepRecoveryCodes
    | Reopen
    | Finish
    | HandOff
    | Stop
)


def decide(goal: Goal, screen: Screen, progress: Progress) -> Move:
    """The next move on ``screen`` for ``goal``, given ``progress``."""
    kind = screen.kind
    if kind is ScreenKind.HUMAN:
        return HandOff(f"complete the human check on {screen.name!r} in the browser window")
    if goal is Goal.SIGNUP:
        return _signing_up(screen, progress)
    if goal is Goal.ENROLL and progress.challenge_codes and not progress.captured:
        if kind is ScreenKind.CODE and screen.key == progress.last_code:
            return _refused(screen, progress, challenge=True)
        # The application asked for a code to log in and took the vault's: enrolled already.
        return Finish("already-enrolled")
    if kind is ScreenKind.ERROR:
        detail = f": {screen.error}" if screen.error else ""
        return Stop(PageError(f"{screen.url} says {screen.name!r}{detail}"))
    if kind is ScreenKind.LOGIN:
        return _on_login(screen, progress)
    if kind is ScreenKind.SIGNUP:
        return Stop(
            PageError(f"{screen.url} asks to sign up: the account does not exist (yet) there")
        )
    if goal is Goal.ENROLL:
        return _enrolling(screen, progress)
    return _logging_in(screen, progress)


def _enrolling(screen: Screen, progress: Progress) -> Move:
    kind = screen.kind
    if screen.enrolling:
        return _on_enrollment_page(screen, progress)
    if kind is ScreenKind.CODE:
        return _on_code_prompt(screen, progress)
    if kind is ScreenKind.METHOD and (screen.error or not progress.codes_sent):
        return _on_method_choice(screen, progress)
    if progress.codes_sent and not screen.error:
        # The code was taken and the page moved on: done, whatever it says.
        if screen.recovery_codes and not progress.recovery_codes_kept:
            return KeepRecoveryCodes()
        return Finish("success-screen" if kind is ScreenKind.SUCCESS else "left-enrollment")
    if _went_elsewhere_after_login(screen, progress):
        return Reopen()
    if kind is ScreenKind.SUCCESS:
        return Finish("already-done")
    return HandOff(
        f"vaultborn does not know the page {screen.name!r}; finish this step in the browser window"
    )


def _on_enrollment_page(screen: Screen, progress: Progress) -> Move:
    """A secret to capture, a code to confirm it with, or the page again after a refusal."""
    if not progress.codes_sent:
        return EnterCode(screen=screen.key) if progress.captured else Capture()
    if progress.captures <= progress.codes_sent:
        refused = _refused(screen, progress)
        return refused if isinstance(refused, Stop) else Capture()  # read it again
    return EnterCode(next_step=True, screen=screen.key)


def _on_code_prompt(screen: Screen, progress: Progress) -> Move:
    """A code field without a secret: the confirmation after a capture, or a login's challenge."""
    if progress.codes_sent:
        return _refused(screen, progress)
    if progress.captured:
        return EnterCode(screen=screen.key)
    if progress.seed_known:  # a login's challenge, with the seed an earlier run stored
        return EnterCode(screen=screen.key, challenge=True)
    return Stop(
        PageError(
            f"{screen.url} asks for a one-time code but shows no secret to enroll; "
            "is the user enrolled already?"
        )
    )


def _on_method_choice(screen: Screen, progress: Progress) -> Move:
    """Choose the authenticator app; back here with an error after a code, it was refused."""
    if progress.codes_sent:
        refused = _refused(screen, progress)
        if isinstance(refused, Stop):
            return refused
    if progress.methods_chosen >= MAX_METHOD_CHOICES:
        return Stop(PageError(f"{screen.url} keeps asking which MFA method to set up"))
    return ChooseMethod()


def _went_elsewhere_after_login(screen: Screen, progress: Progress) -> bool:
    """A login that landed on the application's home rather than back at the enrollment.

    Flask-Security forgets where a login was asked for; a person would open the set-up page
    again, and so does the flow, once per login.
    """
    return (
        progress.can_reopen
        and progress.logins_sent > progress.reopens
        and not progress.captured
        and screen.kind in (ScreenKind.UNKNOWN, ScreenKind.SUCCESS)
        and not screen.error
    )


def _logging_in(screen: Screen, progress: Progress) -> Move:
    kind = screen.kind
    if screen.enrolling:
        return Stop(
            PageError(
                f"{screen.url} asks to enroll a new authenticator: the account has no "
                "confirmed TOTP to log in with"
            )
        )
    if kind is ScreenKind.CODE:
        return _refused(screen, progress) if progress.codes_sent else EnterCode(screen=screen.key)
    if kind is ScreenKind.SUCCESS:
        return Finish("success-screen" if progress.codes_sent else "already-done")
    if progress.codes_sent and not screen.error:
        return Finish("left-login")  # the application's own page after the code
    return HandOff(
        f"vaultborn does not know the page {screen.name!r}; finish this step in the browser window"
    )


def _signing_up(screen: Screen, progress: Progress) -> Move:
    if screen.kind is ScreenKind.SIGNUP:
        if not progress.can_log_in:
            return HandOff("sign up on the page in the browser window")
        if not progress.signups_sent:
            return SignUp()
        if screen.error and any(word in screen.error.lower() for word in _TAKEN):
            return Finish("already-registered")
        reason = screen.error or "the page shows the sign-up form again"
        return Stop(SignUpRefused(f"{screen.url} refused the sign-up: {reason}"))
    if progress.signups_sent:
        if screen.kind is ScreenKind.ERROR:
            return Stop(SignUpRefused(f"{screen.url} says {screen.name!r}: {screen.error}"))
        return Finish("signed-up")
    return Stop(PageError(f"{screen.url} shows no sign-up form (it shows a {screen.kind} page)"))


def _on_login(screen: Screen, progress: Progress) -> Move:
    if not progress.can_log_in:
        return HandOff("log in on the page in the browser window")
    if progress.logins_sent and screen.error and screen.key == progress.last_login:
        return Stop(LoginRefused(f"{screen.url} refused the login: {screen.error}"))
    if progress.logins_sent >= MAX_LOGINS:
        return Stop(LoginRefused(f"{screen.url} still asks to log in after {MAX_LOGINS} tries"))
    return LogIn(screen.key)


def _refused(screen: Screen, progress: Progress, *, challenge: bool = False) -> Move:
    """The page asks for a code again (or went back) after one was sent: it was refused."""
    reason = screen.error or "the page asks for the code again"
    if any(mark in screen.error_code for mark in _TOO_MANY):
        return Stop(CodeRefused(f"{screen.url} refused the one-time code: {reason}"))
    if progress.codes_sent >= MAX_CODES:
        return Stop(
            CodeRefused(
                f"{screen.url} refused the one-time code, also in the next time step: {reason}"
            )
        )
    return EnterCode(next_step=True, screen=screen.key, challenge=challenge)
