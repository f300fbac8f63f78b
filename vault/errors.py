"""Errors of the vault layer, one class per thing that went wrong (``vaultborn.core.errors``)."""

from __future__ import annotations

from collections.abc import Sequence

from vaultborn.core.errors import ServiceError, TransientError, UsageError

__all__ = [
    "AmbiguousReference",
    "AuthorizationDismissed",
    "AuthorizationTimeout",
    "FieldNotFound",
    "InvalidOtpUri",
    "InvalidRecipe",
    "InvalidReference",
    "ItemNotFound",
    "KeyGenerationUnsupported",
    "NotFound",
    "NotSignedIn",
    "PermissionDenied",
    "RateLimited",
    "VaultConflict",
    "VaultError",
    "VaultLocked",
    "VaultNotFound",
    "VaultUnavailable",
]


class InvalidReference(UsageError):
    """An ``op://`` reference that does not parse; the message names what is wrong."""


class InvalidOtpUri(UsageError):
    """An ``otpauth://`` URI or base32 seed that does not parse or validate.

    The message names the problem, never the URI or the seed.
    """


class InvalidRecipe(UsageError):
    """A password recipe such as ``letters,digits,symbols,32`` that does not parse."""


class VaultError(ServiceError):
    """The vault refused or failed a request."""


class NotFound(VaultError):
    """A vault, item or field named by the request does not exist."""


class VaultNotFound(NotFound):
    """No vault has that name or id."""


class ItemNotFound(NotFound):
    """No item in the vault has that title or id."""


class FieldNotFound(NotFound):
    """The item has no field with that label or id (or no OTP field for ``attribute=otp``)."""


class AmbiguousReference(VaultError):
    """A name matches several vaults, items or fields; use one of ``candidates`` (ids)."""

    def __init__(self, kind: str, name: str, candidates: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.candidates = tuple(candidates)
        super().__init__(
            f"more than one {kind} matches {name!r}; use its id instead: "
            + ", ".join(self.candidates)
        )


class NotSignedIn(VaultError):
    """The vault needs a sign-in first (``op signin`` or a service-account token)."""


class KeyGenerationUnsupported(VaultError):
    """This backend cannot generate a key pair inside the vault (and will not make one outside)."""


class PermissionDenied(VaultError):
    """The signed-in account may not do this."""


class AuthorizationTimeout(VaultError, TransientError):
    """Nobody answered the vault's authorization (biometric) prompt in time."""


class AuthorizationDismissed(VaultError):
    """The person dismissed the vault's authorization prompt."""


class VaultLocked(VaultError):
    """The local vault's key does not open it; nothing is read or written (fails closed)."""


class RateLimited(VaultError, TransientError):
    """The vault is rate-limiting this account; retry later."""


class VaultConflict(VaultError, TransientError):
    """The item changed underneath the request (HTTP 409); retrying converges."""


class VaultUnavailable(VaultError, TransientError):
    """The vault could not be reached or answered garbage; retrying may help."""
