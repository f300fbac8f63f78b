"""From op's stderr to a typed vaultborn error (reference/credentials.md §1.1).

op has no exit-code taxonomy: every failure is status 1 plus one ``[ERROR]`` line, optionally
timestamped. The message is matched by substring, in the order of ``_RULES``, after removing
the names and references that op echoes back in quotes, so that an item called
``"timed out"`` cannot pass for an authorization timeout.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from vaultborn.core.errors import ConfigurationError, VaultbornError
from vaultborn.vault.errors import (
    AmbiguousReference,
    AuthorizationDismissed,
    AuthorizationTimeout,
    FieldNotFound,
    ItemNotFound,
    NotSignedIn,
    PermissionDenied,
    RateLimited,
    VaultConflict,
    VaultError,
    VaultNotFound,
)
from vaultborn.vault.secret import REDACTED, Secret

__all__ = ["MAX_MESSAGE", "classify", "error_message"]

MAX_MESSAGE = 300
ERROR_LINE = re.compile(r"^\[ERROR\](?: \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})? (.+)$", re.M)
_CANDIDATE = re.compile(r'^\t\* for the \w+ ".*?"(?: in vault .*?)?: (\S+)\s*$', re.M)
_MORE_THAN_ONE = re.compile(r'More than one (\w+) matches "([^"]*)"')
_ECHOED = re.compile(r"\"[^\"]*\"|'op://[^']*'")


def _not_signed_in(message: str) -> VaultbornError:
    return NotSignedIn(
        f"1Password CLI is not signed in ({message}); run `op signin` for the desktop app "
        "or set OP_SERVICE_ACCOUNT_TOKEN for a service account"
    )


def _misconfigured(message: str) -> VaultbornError:
    return ConfigurationError(
        f"1Password CLI sign-in is misconfigured ({message}); "
        "check OP_SERVICE_ACCOUNT_TOKEN and OP_ACCOUNT"
    )


def _dismissed(message: str) -> VaultbornError:
    return AuthorizationDismissed(
        f"1Password's authorization prompt was dismissed ({message}); approve it when asked"
    )


def _prompt_timed_out(message: str) -> VaultbornError:
    return AuthorizationTimeout(
        f"nobody answered 1Password's authorization prompt in time ({message}); "
        "unlock 1Password and approve it"
    )


def _rate_limited(message: str) -> VaultbornError:
    return RateLimited(f"1Password is rate-limiting this account ({message}); wait a minute")


_RULES: tuple[tuple[tuple[str, ...], Callable[[str], VaultbornError]], ...] = (
    (("isn't a vault",), VaultNotFound),
    (("isn't an item",), ItemNotFound),
    (("does not have a field",), FieldNotFound),
    (
        ("not signed in", "not currently signed in", "could not find session token"),
        _not_signed_in,
    ),
    (("found no accounts", "decodesacredentials", "unrecognized auth type"), _misconfigured),
    (("prompt dismissed",), _dismissed),
    (("authorization timeout", "timed out"), _prompt_timed_out),
    (("(403)", "(401)", "aren't authorized"), PermissionDenied),
    (("(429)", "rate limit"), _rate_limited),
    (("(409)",), VaultConflict),
)


def error_message(stderr: str, returncode: int = 1) -> str:
    """The message op printed: its first ``[ERROR]`` line, else its last line."""
    match = ERROR_LINE.search(stderr)
    if match is not None:
        message = match.group(1).strip()
    else:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        message = lines[-1] if lines else f"op exited with status {returncode} and no message"
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def classify(stderr: str, returncode: int = 1, *, redact: Sequence[Secret] = ()) -> VaultbornError:
    """The error that op's stderr describes, with a one-line message.

    Args:
        stderr: Everything op wrote to stderr.
        returncode: Its exit status (only used when it printed nothing useful).
        redact: Values replaced by ``<redacted>`` before anything is read, in case op echoed
            part of its input.
    """
    for secret in redact:
        stderr = stderr.replace(secret.reveal(), REDACTED)
    message = error_message(stderr, returncode)
    ambiguous = _MORE_THAN_ONE.search(message)
    if ambiguous is not None:
        kind, name = ambiguous.groups()
        return AmbiguousReference(kind, name, _CANDIDATE.findall(stderr))
    text = _ECHOED.sub('""', message).lower()
    for needles, make in _RULES:
        if any(needle in text for needle in needles):
            return make(message)
    return VaultError(f"op failed: {message}")
