"""The authorization plane: Auth0 client, TokenSource, JWT verification and the embedded dev IdP.

Arrives with the authorization plane.
"""

from __future__ import annotations

from idp.auth0 import Auth0ManagementClient
from idp.jwks import CallableJwks, HttpJwks, KeySource
from idp.tokens import TokenSource, client_id_for
from idp.verify import JwtVerifier

__all__ = [
    "Auth0ManagementClient",
    "CallableJwks",
    "HttpJwks",
    "JwtVerifier",
    "KeySource",
    "TokenSource",
    "client_id_for",
]
