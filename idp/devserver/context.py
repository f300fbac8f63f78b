"""``DevIdPContext``: everything a route of the dev IdP needs, in one frozen object.

The routes (token endpoint, Management API, protected API, and the Universal Login pages in
``idp.devserver.pages``) are built from one context::

    ctx.store        the database: ctx.store.users, .clients, .mfa, .keys
    ctx.tenant       the tenant (name, lifetimes, require_human_check …)
    ctx.base_url     "http://127.0.0.1:PORT/" (always ends in "/"); ctx.url("guardian/enroll")
    ctx.clock()      UNIX time now (injected: tests freeze or advance it)
    ctx.limiter      the rate limiter (adjustable at run time)

Bearer tokens are checked with ``idp.devserver.token_check.check_token(ctx, token, audience)``.
Blocking calls (the store, hashing) belong in a thread: ``await run_in_threadpool(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vaultborn.idp.devserver.ratelimit import RateLimiter
from vaultborn.idp.devserver.store import Store
from vaultborn.idp.devserver.tenant import MANAGEMENT, Tenant

__all__ = ["DevIdPContext"]


@dataclass(frozen=True, eq=False)
class DevIdPContext:
    """The state shared by every route of one running dev IdP."""

    store: Store
    """The database (users, clients, MFA, keys)."""
    tenant: Tenant
    """The tenant configuration."""
    base_url: str
    """This server's base URL, ending in ``/``; also the token issuer."""
    clock: Callable[[], float]
    """UNIX time now."""
    limiter: RateLimiter
    """The rate limiter behind the ``x-ratelimit-*`` headers."""

    def __post_init__(self) -> None:
        if not self.base_url.endswith("/"):
            raise ValueError("base_url must end with '/'")

    @property
    def issuer(self) -> str:
        """The ``iss`` of every token: the base URL with its trailing slash."""
        return self.base_url

    @property
    def management_audience(self) -> str:
        """The Management API's identifier, ``<base URL>api/v2/``."""
        return self.base_url + "api/v2/"

    def url(self, path: str) -> str:
        """An absolute URL on this server (``path`` without a leading ``/``)."""
        return self.base_url + path.lstrip("/")

    def audience_key(self, audience: str) -> str:
        """How an audience is stored: this server's Management API becomes ``"management"``."""
        return MANAGEMENT if audience in (MANAGEMENT, self.management_audience) else audience

    def audience_url(self, key: str) -> str:
        """The audience a stored key stands for (``"management"`` → ``<base URL>api/v2/``)."""
        return self.management_audience if key == MANAGEMENT else key

    def jwks(self) -> dict[str, Any]:
        """The JWKS document: the current signing key and those within the grace period."""
        return self.store.keys.jwks(self.clock(), self.tenant.key_grace)

    def rotate_keys(self) -> str:
        """Rotate the signing key now; returns the new ``kid``."""
        return self.store.keys.rotate(self.clock(), self.tenant.key_grace)
