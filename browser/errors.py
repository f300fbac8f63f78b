"""Errors of the browser layer, in the tree of ``vaultborn.core.errors``.

The branch::

    ServiceError
    └── BrowserError
        ├── BrowserUnavailable        no Chromium, or it would not start
        │   └── BrowserCrashed (transient)  Chromium exited (crashed, was killed) mid-flow
        ├── PageTimeout (transient)   a page did not load or an element did not appear in time
        ├── CaptureFailed             no TOTP secret could be found on the page
        │   └── ConflictingSecrets    the page shows two different secrets: refuse, never guess
        ├── CodeRefused               the IdP refused the confirmation code twice
        ├── LoginRefused              the IdP refused the user name or password
        ├── SignUpRefused             the application refused the sign-up (weak password …)
        ├── PageError                 the page says the flow cannot go on (expired link …)
        └── NeedsHuman                a CAPTCHA, a "verify you are human" box or an unknown
                                      screen: ``url`` and ``instructions`` for the person

Messages name the page (URL without query) and what was looked for, never a secret.
"""

from __future__ import annotations

import re

from vaultborn.core.errors import ServiceError, TransientError

__all__ = [
    "BrowserCrashed",
    "BrowserError",
    "BrowserUnavailable",
    "CaptureFailed",
    "CodeRefused",
    "ConflictingSecrets",
    "LoginRefused",
    "NeedsHuman",
    "PageError",
    "PageTimeout",
    "SignUpRefused",
    "crash_or",
    "one_line",
]


class BrowserError(ServiceError):
    """The browser or the page did not do what the step needed."""


class BrowserUnavailable(BrowserError):
    """No usable Chromium: not found, would not start (or, as ``BrowserCrashed``, died)."""


class BrowserCrashed(BrowserUnavailable, TransientError):
    """Chromium exited while a flow was using it; a retry launches a new one."""


class PageTimeout(BrowserError, TransientError):
    """A page or an element did not arrive in time."""


class CaptureFailed(BrowserError):
    """No TOTP secret could be found on the enrollment page."""


class ConflictingSecrets(CaptureFailed):
    """The page shows two different TOTP secrets; nothing is captured."""


class CodeRefused(BrowserError):
    """The IdP refused the confirmation code, also on the retry in the next time step."""


class LoginRefused(BrowserError):
    """The IdP refused the user name or password on its login page."""


class SignUpRefused(BrowserError):
    """The application's sign-up page refused the new account (a weak password, a bad e-mail)."""


class PageError(BrowserError):
    """The page says the flow cannot go on: an expired or used link, a locked account."""


class NeedsHuman(BrowserError):
    """A person must act on the page (CAPTCHA, human check, unknown screen).

    Args:
        url: Where the person should look (the page's URL).
        instructions: One line saying what to do.

    The CLI exits 3 for it, as for any step that waits for a person.
    """

    exit_code = 3

    def __init__(self, url: str, instructions: str) -> None:
        super().__init__(f"a person is needed at {url}: {instructions}")
        self.url = url
        self.instructions = instructions


def crash_or(error: Exception, *, alive: bool) -> Exception:
    """What a failure of a browser step is: ``error`` itself, or a crash if the browser died.

    A dead browser makes every page call fail, and the layer that caught the failure may have
    read it as its own (no secret on the page, a page that would not load, a person needed);
    whatever it says, a browser that is gone means the flow must run again in a new one.

    Args:
        error: What the step raised (a ``BrowserError``, or Playwright's own ``Error``).
        alive: Whether the browser was still connected after it.
    """
    if alive or isinstance(error, BrowserCrashed):
        return error
    return BrowserCrashed(f"Chromium exited during the browser step ({one_line(error)})")


def one_line(error: Exception) -> str:
    """The first line of ``error``'s message, URLs in it cut before their query (tickets)."""
    first = next((line for line in str(error).splitlines() if line.strip()), "")
    first = first.strip() or type(error).__name__
    return _QUERY.sub(r"\1", first)


_QUERY = re.compile(r"(https?://[^\s?#'\"]*)[?#][^\s'\"]*")
