"""The tenant: the dev IdP's initial clients and settings.

A ``Tenant`` comes from a TOML file (``idp.devserver.tenant_file``, which documents the
format), from ``demo_tenant()`` (the built-in one), or is built in code by an embedding program,
which may hand each client's secret over in memory. ``resolve_client_secrets`` gathers the
secrets at start: from memory, from the environment (``secret_env``) or from the vault
(``secret_ref``, an ``op://`` reference). Errors are one-line ``UsageError``s naming the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultborn.core.errors import UsageError
from vaultborn.idp.devserver.client_keys import parse_public_key
from vaultborn.idp.devserver.hashing import MIN_CLIENT_SECRET_CHARS
from vaultborn.vault.keypair import PublicKey
from vaultborn.vault.secret import Secret

__all__ = [
    "DEFAULT_CONNECTION",
    "MANAGEMENT",
    "RESERVED_CLAIMS",
    "RateLimit",
    "Tenant",
    "TenantClient",
    "demo_tenant",
    "resolve_client_keys",
    "resolve_client_secrets",
]

MANAGEMENT = "management"
"""The audience literal that stands for this server's ``<base URL>api/v2/``."""
DEFAULT_CONNECTION = "Username-Password-Authentication"
RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "azp", "gty", "scope", "permissions"}
)
"""Claims the server sets itself; a tenant's custom ``claims`` may not name them."""


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` requests per window of ``per_seconds`` seconds (per process)."""

    requests: int = 1000
    per_seconds: float = 1.0


@dataclass(frozen=True)
class TenantClient:
    """A machine-to-machine client the tenant declares."""

    client_id: str
    audiences: tuple[str, ...]
    """API identifiers it may get tokens for; ``"management"`` is the Management API."""
    scopes: tuple[str, ...]
    """Scopes granted on each of its audiences."""
    name: str = ""
    """Display name; the client id if empty."""
    claims: Mapping[str, Any] = field(default_factory=dict)
    """Custom claims added to each of its tokens (e.g. ``owner``, ``agent_type``)."""
    secret_env: str | None = None
    """The environment variable holding its secret."""
    secret_ref: str | None = None
    """The ``op://`` reference of its secret, read from the vault at start."""
    secret: Secret | None = None
    """The secret itself, handed over in memory (never from a file)."""
    public_key: str | None = None
    """Instead of a secret: its public key (OpenSSH or PEM); it authenticates by
    ``private_key_jwt`` only."""
    public_key_ref: str | None = None
    """Instead of a secret: the ``op://`` reference of an SSH Key item's ``public key``."""

    @property
    def has_key(self) -> bool:
        """Whether the client authenticates by key (and has no secret)."""
        return self.public_key is not None or self.public_key_ref is not None


@dataclass(frozen=True)
class Tenant:
    """The dev IdP's configuration."""

    protected_audience: str
    """The identifier the protected demo API (``/api/protected/whoami``) accepts."""
    clients: tuple[TenantClient, ...] = ()
    name: str = "vaultborn-dev"
    """Shown on the pages and used as the otpauth issuer."""
    connections: tuple[str, ...] = (DEFAULT_CONNECTION,)
    """Database connections users may be created in."""
    token_lifetime: int = 86400
    """Seconds an access token is valid (``expires_in``)."""
    key_grace_seconds: int | None = None
    """Seconds a retired signing key stays in the JWKS; None means ``token_lifetime``."""
    ticket_lifetime: int = 5 * 86400
    """Seconds a Guardian enrollment ticket is valid."""
    require_human_check: bool = False
    """Whether the pages insert a "verify you are human" step only a person may click."""
    multiple_enrollments: bool = True
    """Whether an enrollment ticket may carry ``allow_multiple_enrollments`` (a second TOTP for
    an enrolled user, as a TOTP rotation needs). False: such a ticket is refused with 400, as a
    tenant whose login cannot offer it (Auth0's Classic Login) would have to be."""
    rate_limit: RateLimit = field(default_factory=RateLimit)

    @property
    def key_grace(self) -> int:
        """Seconds a retired signing key stays published."""
        return self.token_lifetime if self.key_grace_seconds is None else self.key_grace_seconds


def demo_tenant(
    *,
    mgmt_secret_ref: str | None = None,
    agent_secret_ref: str | None = None,
    mgmt_secret: Secret | None = None,
    agent_secret: Secret | None = None,
) -> Tenant:
    """The built-in tenant: ``mgmt`` on the Management API and ``agent`` on the demo API.

    Each secret comes from the in-memory ``Secret`` if given, else from its reference if
    given, else from the environment (``MGMT_SECRET`` / ``AGENT_SECRET``).
    """
    mgmt_scopes = (
        "read:users", "create:users", "create:guardian_enrollment_tickets",
        "create:authentication_methods", "read:authentication_methods",
        "delete:authentication_methods", "read:clients", "create:clients",
        "create:client_grants", "update:signing_keys", "update:clients",
        "create:client_credentials", "read:client_credentials", "delete:client_credentials",
        # The lifecycle (rotate, revoke, drift):
        "update:users", "delete:users", "read:client_grants", "delete:client_grants",
        "delete:clients", "update:client_keys",
    )  # fmt: skip
    mgmt = TenantClient(
        client_id="mgmt",
        name="vaultborn management",
        audiences=(MANAGEMENT,),
        scopes=mgmt_scopes,
        secret=mgmt_secret,
        secret_ref=None if mgmt_secret else mgmt_secret_ref,
        secret_env=None if mgmt_secret or mgmt_secret_ref else "MGMT_SECRET",
    )
    agent = TenantClient(
        client_id="agent",
        name="vaultborn agent",
        audiences=("https://api.example.com",),
        scopes=("read:whoami",),
        claims={"owner": "ops", "agent_type": "ci"},
        secret=agent_secret,
        secret_ref=None if agent_secret else agent_secret_ref,
        secret_env=None if agent_secret or agent_secret_ref else "AGENT_SECRET",
    )
    return Tenant(protected_audience="https://api.example.com", clients=(mgmt, agent))


def resolve_client_secrets(
    tenant: Tenant,
    *,
    env: Mapping[str, str],
    resolve_secret: Callable[[str], Secret] | None,
) -> dict[str, Secret]:
    """Each client's secret, by client id, from memory, the environment or the vault.

    Raises:
        UsageError: A variable is unset, a reference has no resolver, or a secret is too short.
        VaultbornError: Whatever ``resolve_secret`` raises for a reference it cannot read.
    """
    out: dict[str, Secret] = {}
    for c in tenant.clients:
        if c.has_key:
            continue
        if c.secret is not None:
            secret, origin = c.secret, "the secret handed over"
        elif c.secret_env is not None:
            value = env.get(c.secret_env)
            if not value:
                raise UsageError(
                    f"client {c.client_id!r}: the environment variable {c.secret_env} "
                    "(its client secret) is not set"
                )
            secret, origin = Secret(value, label=f"${c.secret_env}"), f"${c.secret_env}"
        elif c.secret_ref is not None:
            if resolve_secret is None:
                raise UsageError(f"client {c.client_id!r}: secret_ref needs a vault to resolve it")
            secret, origin = resolve_secret(c.secret_ref), c.secret_ref
        else:
            raise UsageError(f"client {c.client_id!r} has no secret (secret_env or secret_ref)")
        if len(secret) < MIN_CLIENT_SECRET_CHARS:
            raise UsageError(
                f"client {c.client_id!r}: the secret from {origin} has {len(secret)} characters; "
                f"at least {MIN_CLIENT_SECRET_CHARS} are required (generate it in the vault)"
            )
        out[c.client_id] = secret
    return out


def resolve_client_keys(
    tenant: Tenant, *, resolve_secret: Callable[[str], Secret] | None
) -> dict[str, PublicKey]:
    """Each key client's public key, by client id, as given or read from the vault.

    Raises:
        UsageError: A reference has no resolver, or the text is not a usable public key.
        VaultbornError: Whatever ``resolve_secret`` raises for a reference it cannot read.
    """
    out: dict[str, PublicKey] = {}
    for c in tenant.clients:
        text, origin = c.public_key, "public_key"
        if c.public_key_ref is not None:
            if resolve_secret is None:
                raise UsageError(f"client {c.client_id!r}: public_key_ref needs a vault to read it")
            # A public key is no secret; it only travels in the vault's Secret type.
            text, origin = resolve_secret(c.public_key_ref).reveal(), c.public_key_ref
        if text is None:
            continue
        try:
            out[c.client_id] = parse_public_key(text)
        except UsageError as exc:
            raise UsageError(f"client {c.client_id!r}: {origin}: {exc}") from None
    return out
