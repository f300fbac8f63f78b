"""Provider descriptions: which IdP a token comes from, of which kind, and where its endpoints are.

One description serves ``TokenSource`` (where to ask, how to authenticate, how to name the
API), ``JwtVerifier`` (which issuer, which keys) and the CLI's ``token`` and ``call``. Two kinds:

- ``auth0``: the endpoints Auth0 documents under a tenant's domain (token endpoint
  ``<domain>oauth/token``, JWKS ``<domain>.well-known/jwks.json``, issuer ``<domain>``). The API
  is named by ``audience`` in a JSON body, as Auth0's Authentication API shows it.
- ``oidc``: any OpenID Provider or OAuth 2.0 authorization server. Issuer, token endpoint,
  JWKS and client authentication methods come from its discovery document (OpenID Connect
  Discovery 1.0 §4, RFC 8414 §3 as the fallback). The request is a form body (RFC 6749 §4.4)
  authenticated with ``client_secret_basic`` (§2.3.1) unless the provider advertises only
  ``client_secret_post``, or by ``private_key_jwt`` for a client with a key (an assertion
  whose ``aud`` is the token endpoint); the API is named by ``resource`` (RFC 8707).

The discovery document is fetched once and kept for ``ttl``. A token whose ``kid`` the JWKS does
not know refreshes the JWKS and the discovery document (a key rotation may move both), each at
most once per ``min_refresh_interval``. The issuer the document names must be the one asked
for (Discovery §4.3), so a document cannot redirect trust to another issuer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from vaultborn.core.errors import ConfigurationError, UsageError
from vaultborn.core.tls import tls_context
from vaultborn.idp.errors import DiscoveryFailed, IdPError, IdPNotFound
from vaultborn.idp.http import HttpRetry, IdPHttp, base_url
from vaultborn.idp.jwks import HttpJwks
from vaultborn.idp.verify import JwtVerifier

__all__ = [
    "KINDS",
    "Provider",
    "ProviderKeys",
    "ProviderMetadata",
    "guess_kind",
]

KINDS = ("auth0", "oidc")
"""The provider kinds a plan or ``--kind`` may name."""
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_BASIC, _POST, _KEY = "client_secret_basic", "client_secret_post", "private_key_jwt"
_AUTH0_ASSERTION_ALGORITHMS = ("RS256", "RS384", "PS256")
"""What Auth0 takes for a Private Key JWT credential (its Management API's ``alg``)."""
_OIDC_ALGORITHMS = ("RS256", "PS256", "ES256")
"""Asymmetric algorithms only; the verifier also checks each against its key's type."""
_UNREACHABLE = (IdPError, UsageError)
"""Why a provider's document or keys could not be read (typed, one line, no secret)."""


def guess_kind(url: str) -> str:
    """``auth0`` for an Auth0 tenant's own domain (``*.auth0.com``), else ``oidc``.

    A custom Auth0 domain cannot be told from its name: say ``--kind auth0`` (or the plan's
    ``idp.kind``) for one. Auth0 also accepts the standard requests when its tenant has the
    resource parameter compatibility profile turned on.
    """
    host = (urlsplit(base_url(url)).hostname or "").lower()
    return "auth0" if host == "auth0.com" or host.endswith(".auth0.com") else "oidc"


@dataclass(frozen=True)
class ProviderMetadata:
    """What a token client and a verifier need to know about a provider.

    Attributes:
        issuer: The exact ``iss`` of its tokens.
        token_endpoint: Where client-credentials requests go.
        jwks_uri: Where its public signing keys are.
        auth_methods: ``token_endpoint_auth_methods_supported`` (RFC 8414 §2: absent means
            ``client_secret_basic`` only).
        source: The discovery document's URL, or ``"auth0 conventions"``.
        assertion_algorithms: ``token_endpoint_auth_signing_alg_values_supported`` (empty when
            the provider does not say).
        assertion_audience: The ``aud`` of a client assertion: the token endpoint (OIDC Core
            §9), or the issuer where the provider documents that (Auth0).
    """

    issuer: str
    token_endpoint: str
    jwks_uri: str
    auth_methods: tuple[str, ...] = (_BASIC,)
    source: str = "auth0 conventions"
    assertion_algorithms: tuple[str, ...] = ()
    assertion_audience: str = ""

    def key_auth(self) -> str:
        """``private_key_jwt``, if the provider takes it.

        Raises:
            ConfigurationError: It does not advertise ``private_key_jwt``.
        """
        if _KEY not in self.auth_methods:
            raise ConfigurationError(
                f"{self.source} does not advertise {_KEY} "
                f"({', '.join(self.auth_methods) or 'no method'}); use a client secret"
            )
        return _KEY

    def client_auth(self) -> str:
        """``client_secret_basic`` where supported (RFC 6749 §2.3.1 prefers it), else ``_post``.

        Raises:
            ConfigurationError: The provider takes neither way of sending a client secret.
        """
        for method in (_BASIC, _POST):
            if method in self.auth_methods:
                return method
        raise ConfigurationError(
            f"{self.source} advertises no client-secret authentication "
            f"({', '.join(self.auth_methods) or 'none'}); vaultborn sends "
            f"{_BASIC} or {_POST}"
        )


class Provider:
    """One IdP, described once for tokens, verification and the CLI.

    >>> provider = Provider("https://idp.example.com/realms/acme", kind="oidc")
    >>> provider.metadata().token_endpoint
    'https://idp.example.com/realms/acme/protocol/openid-connect/token'

    Args:
        url: The Auth0 domain, or the OpenID Provider's issuer URL.
        kind: ``auth0``, ``oidc``, or ``auto`` (``guess_kind``).
        http: The httpx client for discovery and JWKS; None makes one (closed by ``close``).
        ttl: Seconds a discovery document is kept.
        min_refresh_interval: The least time between two fetches of the document.
        clock: UNIX time now.

    Raises:
        UsageError: ``url`` is not an http(s) URL, or ``kind`` is unknown.
    """

    def __init__(
        self,
        url: str,
        kind: str = "auth0",
        *,
        http: httpx.Client | None = None,
        ttl: float = 3600.0,
        min_refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if kind == "auto":
            kind = guess_kind(url)
        if kind not in KINDS:
            raise UsageError(f"unknown IdP kind {kind!r} (choose {' or '.join(KINDS)})")
        self.kind = kind
        self.base = base_url(url)
        self.ttl, self.min_refresh_interval, self.clock = ttl, min_refresh_interval, clock
        self._given_http = http
        self._own_http: httpx.Client | None = None
        self._requests: IdPHttp | None = None
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._loaded_at = 0.0
        self._tried_at: float | None = None
        self._keys: ProviderKeys | None = None
        self.fetches = 0
        """Discovery documents fetched (tests and the bench count them)."""
        self.last_error: str | None = None
        """Why the latest refresh failed, when it did (one line, no secret)."""

    @property
    def http(self) -> httpx.Client:
        """The client for discovery and JWKS (made on first use: Auth0's kind may never need it)."""
        if self._given_http is not None:
            return self._given_http
        if self._own_http is None:
            self._own_http = httpx.Client(timeout=5.0, verify=tls_context())
        return self._own_http

    @property
    def audience_parameter(self) -> str:
        """How a token request names the API: Auth0's ``audience`` or RFC 8707's ``resource``."""
        return "audience" if self.kind == "auth0" else "resource"

    @property
    def discovery_url(self) -> str:
        """Where the discovery document is (OpenID Connect Discovery 1.0 §4.1)."""
        return self.base.rstrip("/") + "/.well-known/openid-configuration"

    def describe(self) -> dict[str, str]:
        """The provider for receipts and ``--json`` output (no secret in it)."""
        meta = self.metadata()
        return {
            "kind": self.kind,
            "issuer": meta.issuer,
            "token_endpoint": meta.token_endpoint,
            "jwks_uri": meta.jwks_uri,
            "metadata": meta.source,
        }

    def metadata(self) -> ProviderMetadata:
        """The provider's endpoints (Auth0's conventions, or the cached discovery document).

        Raises:
            DiscoveryFailed: The document is missing, malformed or names another issuer.
            IdPUnavailable: The provider could not be reached.
        """
        if self.kind == "auth0":
            return ProviderMetadata(
                issuer=self.base,
                token_endpoint=self.base + "oauth/token",
                jwks_uri=self.base + ".well-known/jwks.json",
                auth_methods=(_POST, _BASIC, _KEY),
                assertion_algorithms=_AUTH0_ASSERTION_ALGORITHMS,
                # Auth0 documents the tenant's URL with its trailing slash as the aud.
                assertion_audience=self.base,
            )
        with self._lock:
            if self._metadata is None:
                return self._load(self.clock())
            if self.clock() - self._loaded_at >= self.ttl:
                self._refresh_locked()
            return self._metadata

    def refresh(self) -> None:
        """Fetch the discovery document again, unless it was tried under the minimum ago.

        Keeps the document already known when the fetch fails (raises only when none is).
        """
        if self.kind == "auth0":
            return
        with self._lock:
            if self._metadata is None:
                self._load(self.clock())
            else:
                self._refresh_locked()

    def _refresh_locked(self) -> None:
        now = self.clock()
        if self._tried_at is not None and now - self._tried_at < self.min_refresh_interval:
            return
        try:
            self._load(now)
        except _UNREACHABLE as failed:  # keep serving the document already known
            self.last_error = str(failed)

    def keys(self) -> ProviderKeys:
        """This provider's signing keys (one cache per provider)."""
        with self._lock:
            if self._keys is None:
                self._keys = ProviderKeys(self)
            return self._keys

    def verifier(self, audience: str, **options: Any) -> JwtVerifier:
        """A ``JwtVerifier`` of this provider's access tokens for ``audience``.

        ``options`` go to ``JwtVerifier`` (``clock``, ``leeway`` …).
        """
        options.setdefault("algorithms", ("RS256",) if self.kind == "auth0" else _OIDC_ALGORITHMS)
        return JwtVerifier(
            issuer=self.metadata().issuer, audience=audience, keys=self.keys(), **options
        )

    def close(self) -> None:
        """Close the httpx client if this provider made it."""
        if self._keys is not None:
            self._keys.close()
        if self._own_http is not None:
            self._own_http.close()

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _load(self, now: float) -> ProviderMetadata:
        self._tried_at = now
        self.fetches += 1
        document, source = self._document()
        self._metadata = _parse_metadata(document, source, self.base)
        self._loaded_at, self.last_error = now, None
        return self._metadata

    def _document(self) -> tuple[Mapping[str, Any], str]:
        """The OpenID configuration, else RFC 8414's authorization-server metadata."""
        if self._requests is None:
            policy = HttpRetry(attempts=2, backoff=0.2, max_rate_limit_wait=0)
            self._requests = IdPHttp(self.http, policy=policy, clock=self.clock)
        tried = []
        for url in (self.discovery_url, _rfc8414_url(self.base)):
            try:
                answer = self._requests.request("GET", url)
            except IdPNotFound:
                tried.append(url)
                continue
            if not isinstance(answer, Mapping):
                raise DiscoveryFailed(f"{url} did not answer a JSON object")
            return answer, url
        raise DiscoveryFailed(
            f"no discovery document at {' or '.join(tried)}; is {self.base} the issuer "
            "(for Auth0 say --kind auth0)?"
        )


class ProviderKeys:
    """A ``KeySource`` over the provider's current ``jwks_uri``.

    ``refresh`` (a verifier's reaction to an unknown ``kid``) fetches the discovery document
    and the key set again, each rate-limited by its own minimum interval.
    """

    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self._jwks: HttpJwks | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None
        """Why the keys could not be read, when they could not (one line, no secret)."""

    def get(self, kid: str) -> Any | None:
        """The public key with that ``kid``, or None."""
        source = self._source()
        if source is None:
            return None
        key = source.get(kid)
        self.last_error = source.last_error
        return key

    def refresh(self) -> None:
        """Fetch the discovery document and the keys again (rate-limited); never raises."""
        try:
            self._provider.refresh()
        except DiscoveryFailed as failed:
            self.last_error = str(failed)
        source = self._source()
        if source is not None:
            source.refresh()
            self.last_error = source.last_error

    def close(self) -> None:
        """Close the key set's own httpx client, if it made one."""
        if self._jwks is not None:
            self._jwks.close()

    def _source(self) -> HttpJwks | None:
        try:
            uri = self._provider.metadata().jwks_uri
        except _UNREACHABLE as failed:
            self.last_error = str(failed)
            return None
        with self._lock:
            if self._jwks is None or self._jwks.url != uri:
                self._jwks = HttpJwks(uri, client=self._provider.http, clock=self._provider.clock)
            return self._jwks


def _rfc8414_url(base: str) -> str:
    """RFC 8414 §3: the well-known segment goes between the host and the issuer's path."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}"


def _parse_metadata(document: Mapping[str, Any], source: str, asked: str) -> ProviderMetadata:
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise DiscoveryFailed(f"{source} names no issuer")
    # Discovery §4.3 asks for identical strings; a trailing slash is how people differ in
    # typing one, so only that is forgiven. The document's own spelling is what tokens carry.
    if issuer.rstrip("/") != asked.rstrip("/"):
        raise DiscoveryFailed(
            f"{source} is the document of issuer {issuer!r}, not of {asked.rstrip('/')!r}"
        )
    endpoints = {}
    for name in ("token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise DiscoveryFailed(f"{source} has no {name}")
        endpoints[name] = _endpoint(value, name, source, issuer)
    methods = _strings(document, "token_endpoint_auth_methods_supported", [_BASIC], source)
    algorithms = _strings(document, "token_endpoint_auth_signing_alg_values_supported", [], source)
    return ProviderMetadata(
        issuer=issuer,
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        auth_methods=methods,
        source=source,
        assertion_algorithms=algorithms,
        assertion_audience=endpoints["token_endpoint"],
    )


def _strings(
    document: Mapping[str, Any], name: str, default: list[str], source: str
) -> tuple[str, ...]:
    values = document.get(name, default)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise DiscoveryFailed(f"{source}: {name} is not a list of strings")
    return tuple(values)


def _endpoint(value: str, name: str, source: str, issuer: str) -> str:
    """An absolute http(s) URL; plain http only where the issuer itself is on loopback."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise DiscoveryFailed(f"{source}: {name} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DiscoveryFailed(f"{source}: {name} is not an http(s) URL")
    issuer_host = urlsplit(issuer).hostname or ""
    if parts.scheme == "http" and not (parts.hostname in _LOOPBACK and issuer_host in _LOOPBACK):
        raise DiscoveryFailed(f"{source}: {name} uses plain http away from loopback")
    return value
