"""From the 1Password SDK's exceptions to typed vaultborn errors (credentials.md §1.9).

The SDK raises ``RateLimitExceededException`` and ``DesktopSessionExpiredException`` by type
and everything else as a plain ``Exception(message)``; a secret reference that cannot be
resolved comes back typed instead (``ResolveReferenceError``: ``itemNotFound``,
``tooManyItems`` …). Plain messages are classified by substrings, as the op backend does with
op's stderr. Texts recorded from the real SDK 0.4.2 (offline, in a network namespace):

- ``invalid user input: encountered the following errors: service account token was not
  specified`` (empty token) and ``… service account token had invalid format``;
- ``invalid service account token, please make sure you provide a valid service account token
  as parameter: service account deserialization failed, please create another token``;
- ``the secret reference could not be parsed: invalid character in secret reference: …``;
- ``invalid user input: encountered the following errors: Password length must be between 8
  and 100`` (``PIN length must be between 4 and 12``) from the password generator.

The rest (permission, 401, 409, "not found" wording) are assumptions made plausible by
1Password's HTTP API; unknown texts become a plain ``VaultError`` naming the message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from vaultborn.core.errors import ConfigurationError, VaultbornError
from vaultborn.vault.errors import (
    AmbiguousReference,
    FieldNotFound,
    InvalidRecipe,
    InvalidReference,
    ItemNotFound,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    RateLimited,
    VaultConflict,
    VaultError,
    VaultNotFound,
    VaultUnavailable,
)
from vaultborn.vault.secret import REDACTED, Secret

__all__ = ["MAX_MESSAGE", "from_exception", "from_resolve_error"]

MAX_MESSAGE = 300


def _bad_token(message: str) -> VaultbornError:
    return ConfigurationError(
        f"OP_SERVICE_ACCOUNT_TOKEN does not sign in to 1Password ({message}); "
        "set it to a service account token (ops_…)"
    )


def _rate_limited(message: str) -> VaultbornError:
    return RateLimited(f"1Password is rate-limiting this service account ({message}); wait")


def _expired(message: str) -> VaultbornError:
    return NotSignedIn(f"the 1Password session expired ({message}); sign in again")


def _bad_recipe(message: str) -> VaultbornError:
    return InvalidRecipe(f"1Password's password generator refuses this recipe ({message})")


_RULES: tuple[tuple[tuple[str, ...], Callable[[str], VaultbornError]], ...] = (
    (("length must be between",), _bad_recipe),
    (("service account token", "serviceaccounttoken"), _bad_token),
    (("rate limit", "ratelimit", "too many requests", "(429)"), _rate_limited),
    (("(403)", "forbidden", "not authorized", "permission", "access denied"), PermissionDenied),
    (("(401)", "unauthorized", "unauthenticated", "session expired"), NotSignedIn),
    (("(409)", "conflict", "outdated version"), VaultConflict),
    (("vault not found", "no vault", "isn't a vault"), VaultNotFound),
    (("item not found", "no item", "isn't an item"), ItemNotFound),
    (("field not found", "no field"), FieldNotFound),
    (("not found",), NotFound),
    (("timed out", "timeout", "connection", "network", "dns"), VaultUnavailable),
    (("could not be parsed",), InvalidReference),
)


def _message(exc: BaseException, redact: Sequence[Secret]) -> str:
    text = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    for secret in redact:
        if secret.reveal():
            text = text.replace(secret.reveal(), REDACTED)
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def from_exception(exc: BaseException, *, redact: Sequence[Secret] = ()) -> VaultbornError:
    """The vaultborn error an SDK exception means, in one line with no secret value.

    Args:
        exc: What the SDK raised.
        redact: Values replaced by ``<redacted>`` first (the token; values just sent).
    """
    if isinstance(exc, VaultbornError):
        return exc
    message = _message(exc, redact)
    kind = type(exc).__name__
    if kind == "RateLimitExceededException":
        return _rate_limited(message)
    if kind == "DesktopSessionExpiredException":
        return _expired(message)
    lowered = message.lower()
    for needles, make in _RULES:
        if any(needle in lowered for needle in needles):
            return make(message)
    return VaultError(f"1Password SDK failed: {message}")


def from_resolve_error(error: Any, reference: str) -> VaultbornError:
    """The vaultborn error of one ``ResolveReferenceError`` for ``reference`` (names only)."""
    kind = str(getattr(getattr(error, "type", None), "value", getattr(error, "type", "other")))
    detail = str(getattr(error, "message", "") or "")
    where = f"could not read {reference}"
    made: dict[str, Callable[[], VaultbornError]] = {
        "parsing": lambda: InvalidReference(f"{where}: {detail or 'it does not parse'}"),
        "vaultNotFound": lambda: VaultNotFound(f"{where}: no such vault"),
        "itemNotFound": lambda: ItemNotFound(f"{where}: no such item"),
        "fieldNotFound": lambda: FieldNotFound(f"{where}: no such field"),
        "noMatchingSections": lambda: FieldNotFound(f"{where}: no such section"),
        "incompatibleTOTPQueryParameterField": lambda: FieldNotFound(
            f"{where}: the field is not a one-time password"
        ),
        "tooManyVaults": lambda: AmbiguousReference("vault", reference, ()),
        "tooManyItems": lambda: AmbiguousReference("item", reference, ()),
        "tooManyMatchingFields": lambda: AmbiguousReference("field", reference, ()),
    }
    if kind in made:
        return made[kind]()
    return VaultError(f"{where}: {kind}{': ' + detail if detail else ''}")
