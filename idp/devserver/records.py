"""What the dev IdP's store hands out: frozen rows, and their Auth0 JSON shapes.

No record carries a client secret or a password, not even hashed; an authenticator carries its
TOTP seed as a ``Secret`` because verifying codes needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vaultborn.vault.secret import Secret

__all__ = [
    "AuthenticatorRecord",
    "ClientRecord",
    "CredentialRecord",
    "GrantRecord",
    "TicketRecord",
    "UserRecord",
    "iso",
]


def iso(ts: float) -> str:
    """A UNIX time as Auth0 writes it: ``2024-05-01T12:34:56.789Z``."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class ClientRecord:
    """An M2M application."""

    client_id: str
    name: str
    app_type: str
    claims: dict[str, Any]
    """Custom claims added to its tokens."""
    source: str
    """``tenant`` (declared in the tenant file) or ``api`` (created by the Management API)."""
    created_at: float
    key_credentials: tuple[str, ...] = ()
    """Ids of its enabled public-key credentials: with any, it authenticates by
    ``private_key_jwt`` only."""

    def as_auth0(self) -> dict[str, Any]:
        """The Management API's client object, without any secret."""
        out: dict[str, Any] = {
            "client_id": self.client_id,
            "name": self.name,
            "app_type": self.app_type,
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
            "is_first_party": True,
            "oidc_conformant": True,
            "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000},
        }
        if self.key_credentials:
            # Auth0's shape for a client converted to Private Key JWT.
            out["token_endpoint_auth_method"] = None
            credentials = [{"id": c} for c in self.key_credentials]
            out["client_authentication_methods"] = {"private_key_jwt": {"credentials": credentials}}
        return out


@dataclass(frozen=True)
class CredentialRecord:
    """A public key a client may sign client assertions with (RFC 7523)."""

    id: str
    client_id: str
    name: str
    kid: str
    alg: str
    jwk: dict[str, Any]
    """The public JWK (never a private member)."""
    enabled: bool
    created_at: float
    updated_at: float
    expires_at: float | None = None

    def as_auth0(self) -> dict[str, Any]:
        """The Management API's client credential object."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kid": self.kid,
            "alg": self.alg,
            "credential_type": "public_key",
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
        if self.expires_at is not None:
            out["expires_at"] = iso(self.expires_at)
        return out


@dataclass(frozen=True)
class GrantRecord:
    """A client's permission to get tokens for one audience, with these scopes."""

    id: str
    client_id: str
    audience: str
    """As stored: ``"management"`` stands for this server's Management API."""
    scopes: tuple[str, ...]

    def as_auth0(self, audience_url: str) -> dict[str, Any]:
        """The Management API's client-grant object (``audience_url`` is the resolved one)."""
        return {
            "id": self.id,
            "client_id": self.client_id,
            "audience": audience_url,
            "scope": list(self.scopes),
        }


@dataclass(frozen=True)
class UserRecord:
    """A database-connection user (the password hash stays in the store)."""

    user_id: str
    email: str
    connection: str
    email_verified: bool
    blocked: bool
    profile: dict[str, Any]
    """``name``, ``nickname``, ``given_name``, ``family_name``, ``user_metadata`` …"""
    created_at: float
    updated_at: float
    last_login: float | None = None
    logins_count: int = 0
    mfa_enrolled: bool = False
    """Whether the user has a confirmed authenticator."""

    def as_auth0(self) -> dict[str, Any]:
        """The Management API's user object; never a password."""
        local = self.user_id.split("|", 1)[-1]
        out: dict[str, Any] = {
            "user_id": self.user_id,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.email,
            "nickname": self.email.split("@", 1)[0],
            "identities": [
                {
                    "connection": self.connection,
                    "user_id": local,
                    "provider": "auth0",
                    "isSocial": False,
                }
            ],
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
        out.update(self.profile)
        if self.blocked:
            out["blocked"] = True
        if self.mfa_enrolled:
            out["multifactor"] = ["guardian"]
        if self.last_login is not None:
            out["last_login"] = iso(self.last_login)
            out["logins_count"] = self.logins_count
        return out


@dataclass(frozen=True)
class TicketRecord:
    """A Guardian enrollment ticket (its id is stored hashed, so it is not in the record)."""

    user_id: str
    created: float
    expires: float
    used: float | None
    allow_multiple: bool

    def usable(self, now: float) -> bool:
        """Neither used nor expired at ``now``."""
        return self.used is None and now < self.expires


@dataclass(frozen=True)
class AuthenticatorRecord:
    """A TOTP authenticator of a user."""

    id: str
    user_id: str
    type: str
    seed: Secret
    """The base32 TOTP seed."""
    confirmed: bool
    created_at: float
    name: str

    def as_method(self) -> dict[str, Any]:
        """The ``/users/{id}/authentication-methods`` item."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "confirmed": self.confirmed,
            "created_at": iso(self.created_at),
        }
        if self.name:
            out["name"] = self.name
        return out

    def as_created(self) -> dict[str, Any]:
        """``POST /users/{id}/authentication-methods``'s answer.

        Auth0's schema there has no ``confirmed``; it allows ``totp_secret``, which is never sent.
        """
        out = self.as_method()
        del out["confirmed"]
        return out

    def as_enrollment(self) -> dict[str, Any]:
        """The ``/users/{id}/enrollments`` item (Guardian's view of a confirmed TOTP)."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": "confirmed",
            "type": "authenticator",
            "auth_method": "authenticator",
            "enrolled_at": iso(self.created_at),
        }
        if self.name:
            out["name"] = self.name
        return out
