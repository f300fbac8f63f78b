"""The authorization plane: providers, the Auth0 client, TokenSource, JWT verification, dev IdP.

``Provider`` describes an IdP of either kind (Auth0, or any OpenID Provider by its discovery
document); ``TokenSource`` gets client-credentials tokens from it; ``JwtVerifier`` checks
them; ``Auth0ManagementClient`` speaks Auth0's Management API; ``idp.devserver`` is the
embedded Auth0-compatible dev IdP, which shares nothing with these clients but HTTP.
Importing this package loads none of them: the names below are imported when first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaultborn.idp.auth0 import Auth0ManagementClient
    from vaultborn.idp.jwks import CallableJwks, HttpJwks, KeySource
    from vaultborn.idp.provider import Provider
    from vaultborn.idp.tokens import TokenSource, client_id_for
    from vaultborn.idp.verify import JwtVerifier

_HOMES = {
    "Auth0ManagementClient": "idp.auth0",
    "CallableJwks": "idp.jwks",
    "HttpJwks": "idp.jwks",
    "JwtVerifier": "idp.verify",
    "KeySource": "idp.jwks",
    "Provider": "idp.provider",
    "TokenSource": "idp.tokens",
    "client_id_for": "idp.tokens",
}

__all__ = [
    "Auth0ManagementClient",
    "CallableJwks",
    "HttpJwks",
    "JwtVerifier",
    "KeySource",
    "Provider",
    "TokenSource",
    "client_id_for",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'idp' has no attribute {name!r}")
    return getattr(import_module(home), name)
