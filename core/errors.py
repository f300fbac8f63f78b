"""The one error tree of vaultborn.

Every error that crosses a package boundary is one of these. Backend errors (``op`` stderr
text, SQLite, httpx, boto3, Playwright) are translated where they are caught, into the most
specific class below, with structured fields and never a secret value in the message::

    VaultbornError
    ├── UsageError                  the user asked for something malformed (exit code 2)
    │   ├── InvalidReference        an op:// reference that does not parse
    │   ├── InvalidOtpUri           an otpauth:// URI or base32 seed that does not parse
    │   └── InvalidRecipe           a password recipe that does not parse
    ├── ConfigurationError          the environment is set up wrongly (missing binary, key …)
    ├── RunStateError               a run is not where the command needs it (nothing waits,
    │                               an unfinished setup for the account): exit code 1
    ├── Interrupted                 a person pressed Ctrl-C; says where the run stands (130)
    └── ServiceError                an external system refused or failed (exit code 1)
        ├── VaultError
        │   ├── NotFound            VaultNotFound, ItemNotFound, FieldNotFound
        │   ├── AmbiguousReference  several candidates; ``.candidates`` lists their ids
        │   ├── NotSignedIn
        │   ├── PermissionDenied
        │   ├── AuthorizationTimeout / AuthorizationDismissed   a biometric prompt
        │   ├── VaultLocked         the local vault's key does not open it (fails closed)
        │   └── VaultUnavailable    (transient)
        └── (idp, stores, browser errors arrive with their packages)

``TransientError`` is a mixin: anything that is worth retrying carries it, and retry policies
test ``isinstance(exc, TransientError)`` only.

This module imports nothing from the project, so every layer may import it.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "Interrupted",
    "RunStateError",
    "ServiceError",
    "TransientError",
    "UsageError",
    "VaultbornError",
]


class VaultbornError(Exception):
    """Root of every error vaultborn raises on purpose.

    The message is one line a user can act on; it never contains a secret value.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def with_hint(self, hint: str) -> VaultbornError:
        """This error, its message followed by ``; hint`` (what the user can do next)."""
        self.message = f"{self.message}; {hint}"
        return self


class UsageError(VaultbornError):
    """The input was malformed: a reference, URI, recipe, flag or file the user gave."""

    exit_code = 2


class ConfigurationError(VaultbornError):
    """The environment is not set up for the request: a missing binary, key or setting."""


class RunStateError(VaultbornError):
    """A run is not in the state the command needs (nothing waits, a setup is unfinished).

    Not a usage mistake: the command was well formed, the runs are elsewhere.
    """


class Interrupted(VaultbornError):
    """A person stopped the command (Ctrl-C); the message says where the work stands."""

    exit_code = 130


class ServiceError(VaultbornError):
    """An external system (vault, IdP, store, browser) refused or failed the request."""


class TransientError(VaultbornError):
    """Mixin for failures that may succeed when retried (timeouts, rate limits, conflicts)."""
