"""Client assertions for ``private_key_jwt``: a short-lived JWT signed in memory per request.

RFC 7523 §2.2 and §3 (RFC 7521 §4.2) with OpenID Connect Core §9's claims: ``iss`` = ``sub`` =
the client id, ``aud`` = the provider (its token endpoint, or its issuer where the provider
documents that, as Auth0 does), a random ``jti``, ``iat`` and ``exp`` at most
``ASSERTION_LIFETIME`` seconds later. The header carries ``kid``, the key's RFC 7638 thumbprint,
and the algorithm the key signs with (RS256 for RSA, ES256 for P-256).

The private key comes from the vault by reference (``ClientKey``): it is opened for one
signature and dropped; the assertion, a credential for its short life, travels as a
``Secret``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt

from vaultborn.core.errors import ConfigurationError
from vaultborn.vault.keypair import open_private_key
from vaultborn.vault.reference import SecretReference
from vaultborn.vault.secret import Secret

__all__ = [
    "ASSERTION_LIFETIME",
    "ASSERTION_TYPE",
    "ClientKey",
    "assertion_claims",
    "sign_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60
"""Seconds an assertion is valid: one request's worth (Auth0 recommends a minute at most)."""


@dataclass(frozen=True)
class ClientKey:
    """A client that authenticates with ``private_key_jwt``, its private key in the vault."""

    ref: str | SecretReference
    """The ``private key`` field of an SSH Key item (or any field holding a PEM key)."""

    def __str__(self) -> str:
        return str(self.ref)


def assertion_claims(
    client_id: str, audience: str, now: float, *, jti: str | None = None
) -> dict[str, Any]:
    """The claims of one assertion (pure: ``jti`` random unless given)."""
    issued = int(now)
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti or secrets.token_urlsafe(24),
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
    }


def sign_assertion(
    private_key: Secret, client_id: str, audience: str, now: float, *, algorithms: tuple[str, ...]
) -> tuple[Secret, str]:
    """A fresh assertion signed with ``private_key``, and the algorithm used.

    Args:
        private_key: The PEM private key, read from the vault for this one signature.
        client_id: The client id (``iss`` and ``sub``).
        audience: The ``aud``.
        now: UNIX time now.
        algorithms: What the provider accepts (empty: anything).

    Raises:
        UsageError: The field holds no usable private key.
        ConfigurationError: The provider does not accept the key's algorithm.
    """
    key, public = open_private_key(private_key)
    try:
        alg = public.algorithm
        if algorithms and alg not in algorithms:
            raise ConfigurationError(
                f"the provider takes client assertions signed with {', '.join(algorithms)}, "
                f"not {alg}; make a key of another type"
            )
        token = jwt.encode(
            assertion_claims(client_id, audience, now),
            key,
            algorithm=alg,
            headers={"kid": public.kid, "typ": "JWT"},
        )
    finally:
        del key
    return Secret(token, label=f"client assertion of {client_id}"), alg
