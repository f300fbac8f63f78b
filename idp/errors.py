"""Errors of the authorization plane, in the tree of ``vaultborn.core.errors``.

The branch::

    ServiceError
    └── IdPError                      the IdP refused or failed a request
        ├── IdPRequestError           a 4xx the caller can act on; ``.status``, ``.error``
        │   ├── IdPAuthenticationFailed   bad client credentials (401 access_denied …)
        │   ├── IdPForbidden              a scope or audience the client may not use (403)
        │   ├── IdPNotFound               404
        │   └── IdPConflict               409, e.g. "The user already exists."
        ├── DiscoveryFailed           no usable discovery document (or another issuer's)
        ├── IdPRateLimited (transient)    429; ``.retry_after`` seconds
        └── IdPUnavailable (transient)    5xx, timeouts, connection failures, garbage bodies
    UsageError
    └── InvalidToken                  a JWT failed one check; ``.code`` for WWW-Authenticate
        ├── TokenMalformed            not three base64url parts, bad JSON, oversized
        ├── TokenAlgorithmRefused     ``alg`` outside the allow-list (``none``, HS256 …)
        ├── TokenKeyUnknown           no JWKS key with that ``kid``
        ├── TokenSignatureInvalid
        ├── TokenExpired
        ├── TokenNotYetValid          ``nbf`` in the future
        ├── TokenIssuerInvalid
        ├── TokenAudienceInvalid
        └── TokenClaimMissing         ``.claim`` names it

Messages never hold a token, a client secret or a password.
"""

from __future__ import annotations

from vaultborn.core.errors import ServiceError, TransientError, UsageError

__all__ = [
    "DiscoveryFailed",
    "IdPAuthenticationFailed",
    "IdPConflict",
    "IdPError",
    "IdPForbidden",
    "IdPNotFound",
    "IdPRateLimited",
    "IdPRequestError",
    "IdPUnavailable",
    "InvalidToken",
    "TokenAlgorithmRefused",
    "TokenAudienceInvalid",
    "TokenClaimMissing",
    "TokenExpired",
    "TokenIssuerInvalid",
    "TokenKeyUnknown",
    "TokenMalformed",
    "TokenNotYetValid",
    "TokenSignatureInvalid",
]


class IdPError(ServiceError):
    """The identity provider refused or failed a request."""


class IdPRequestError(IdPError):
    """A 4xx answer; ``status`` and Auth0's ``error`` code (e.g. ``access_denied``)."""

    def __init__(self, message: str, *, status: int, error: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class IdPAuthenticationFailed(IdPRequestError):
    """The client credentials were refused."""


class IdPForbidden(IdPRequestError):
    """The client may not use that audience or scope."""


class IdPNotFound(IdPRequestError):
    """The user, ticket or client does not exist."""


class IdPConflict(IdPRequestError):
    """The resource exists already (409), e.g. a user with that email."""


class IdPRateLimited(IdPError, TransientError):
    """429: wait ``retry_after`` seconds (from ``x-ratelimit-reset`` or ``Retry-After``)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IdPUnavailable(IdPError, TransientError):
    """5xx, a timeout, a refused connection or a body that is not what Auth0 sends."""


class InvalidToken(UsageError):
    """A bearer token failed verification; ``code`` goes into ``WWW-Authenticate``."""

    code = "invalid_token"


class TokenMalformed(InvalidToken):
    """Not a well-formed JWT (or larger than the verifier accepts)."""


class TokenAlgorithmRefused(InvalidToken):
    """The header's ``alg`` is not in the verifier's allow-list."""


class TokenKeyUnknown(InvalidToken):
    """No key in the JWKS has the token's ``kid``, even after a refresh."""


class TokenSignatureInvalid(InvalidToken):
    """The signature does not verify."""


class TokenExpired(InvalidToken):
    """``exp`` is in the past (beyond the leeway)."""


class TokenNotYetValid(InvalidToken):
    """``nbf`` (or ``iat``) is in the future (beyond the leeway)."""


class TokenIssuerInvalid(InvalidToken):
    """``iss`` is not the expected issuer."""


class TokenAudienceInvalid(InvalidToken):
    """``aud`` does not include the expected audience."""


class TokenClaimMissing(InvalidToken):
    """A required claim is absent; ``claim`` names it."""

    def __init__(self, claim: str) -> None:
        super().__init__(f"the token has no {claim!r} claim")
        self.claim = claim


class DiscoveryFailed(IdPError):
    """The provider's discovery document is missing, malformed, or names another issuer."""
