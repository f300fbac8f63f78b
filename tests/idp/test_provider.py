"""Provider descriptions: discovery, its checks, client authentication and the request shapes.

These drive an in-memory provider (httpx.MockTransport) to pin down encodings and edge cases;
tests/thirdparty/ runs the same client against a real OpenID Provider.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import httpx
import pytest

from tests.idp.devkit import Clock
from tests.idp.jwtkit import NOW, Signer, jwks
from tests.idp.support import M2M_REF, SECRET, CountingVault, m2m_vault
from vaultborn.core.errors import ConfigurationError, UsageError
from vaultborn.idp.errors import DiscoveryFailed, IdPAuthenticationFailed, TokenKeyUnknown
from vaultborn.idp.http import HttpRetry
from vaultborn.idp.provider import Provider, guess_kind
from vaultborn.idp.tokens import TokenSource

ISSUER = "http://127.0.0.1:9/realms/acme"
API = "https://api.example.com"


class FakeOP:
    """An OpenID Provider in memory: discovery, JWKS, and a client-credentials endpoint."""

    def __init__(
        self,
        signer: Signer,
        *,
        issuer: str = ISSUER,
        methods: list[str] | None = None,
        clients: dict[str, str] | None = None,
    ) -> None:
        self.signer, self.issuer = signer, issuer
        self.document: dict[str, Any] = {
            "issuer": issuer,
            "token_endpoint": issuer + "/protocol/openid-connect/token",
            "jwks_uri": issuer + "/protocol/openid-connect/certs",
        }
        if methods is not None:
            self.document["token_endpoint_auth_methods_supported"] = methods
        self.clients = clients if clients is not None else {"agent": SECRET}
        self.published = [signer]
        self.hits: list[str] = []
        self.requests: list[httpx.Request] = []
        self.discovery_status = 200

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.hits.append(path)
        if path.endswith("/.well-known/openid-configuration"):
            if self.discovery_status != 200:
                return httpx.Response(self.discovery_status, json={"error": "nope"})
            return httpx.Response(200, json=self.document)
        if path == httpx.URL(self.document["jwks_uri"]).path:
            return httpx.Response(200, json=jwks(*self.published))
        if path == httpx.URL(self.document["token_endpoint"]).path:
            return self._token(request)
        return httpx.Response(404, json={"error": "not_found"})

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            raw_id, _, raw_secret = base64.b64decode(header[6:]).decode().partition(":")
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if self.clients.get(client_id or "") != secret:
            return httpx.Response(401, json={"error": "invalid_client"})
        claims = {
            "iss": self.issuer,
            "sub": client_id,
            "aud": form["resource"],
            "iat": int(NOW),
            "exp": int(NOW) + 300,
            "client_id": client_id,
        }
        if "scope" in form:
            claims["scope"] = form["scope"]
        token = self.signer.mint(claims)
        return httpx.Response(200, json={"access_token": token, "expires_in": 300})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("k1")


@pytest.fixture
def vault(home: Path) -> CountingVault:
    return CountingVault(m2m_vault(home))


def provider(op: FakeOP, clock: Clock | None = None, **kw: Any) -> Provider:
    return Provider(ISSUER, "oidc", http=op.client(), clock=clock or Clock(NOW), **kw)


def tokens(vault: CountingVault, op: FakeOP, prov: Provider | None = None) -> TokenSource:
    return TokenSource(
        vault,  # type: ignore[arg-type]
        provider=prov or provider(op),
        http=op.client(),
        clock=Clock(NOW),
        policy=HttpRetry(attempts=1),
    )


def test_oidc_endpoints_come_from_the_discovery_document_fetched_once(signer: Signer) -> None:
    op = FakeOP(signer)
    prov = provider(op)
    meta = prov.metadata()
    assert meta.issuer == ISSUER
    assert meta.token_endpoint == ISSUER + "/protocol/openid-connect/token"
    assert meta.source == ISSUER + "/.well-known/openid-configuration"
    prov.metadata()
    assert op.hits == ["/realms/acme/.well-known/openid-configuration"]
    assert prov.audience_parameter == "resource"


def test_auth0_endpoints_follow_its_documented_conventions_without_a_request() -> None:
    prov = Provider("tenant.us.auth0.com")
    meta = prov.metadata()
    assert (meta.issuer, meta.token_endpoint, meta.jwks_uri) == (
        "https://tenant.us.auth0.com/",
        "https://tenant.us.auth0.com/oauth/token",
        "https://tenant.us.auth0.com/.well-known/jwks.json",
    )
    assert prov.audience_parameter == "audience" and prov.fetches == 0


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("tenant.us.auth0.com", "auth0"),
        ("https://acme.eu.auth0.com/", "auth0"),
        ("https://auth0.com.evil.example/", "oidc"),
        ("http://127.0.0.1:8080/", "oidc"),
        ("https://idp.example.com/realms/acme", "oidc"),
    ],
)
def test_the_kind_is_guessed_from_the_host_only_for_auth0s_own_domains(url: str, kind: str) -> None:
    assert guess_kind(url) == kind
    assert Provider(url, "auto").kind == kind


def test_an_unknown_kind_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown IdP kind 'keycloak'"):
        Provider(ISSUER, "keycloak")


def test_a_document_naming_another_issuer_is_refused(signer: Signer) -> None:
    op = FakeOP(signer)
    op.document["issuer"] = "https://evil.example.com"
    with pytest.raises(DiscoveryFailed, match=r"issuer .https://evil\.example\.com., not of"):
        provider(op).metadata()


def test_only_a_trailing_slash_of_the_issuer_is_forgiven_and_its_spelling_kept(
    signer: Signer,
) -> None:
    op = FakeOP(signer)
    op.document["issuer"] = ISSUER + "/"
    assert provider(op).metadata().issuer == ISSUER + "/"


def test_rfc8414_metadata_is_the_fallback_where_there_is_no_openid_configuration(
    signer: Signer,
) -> None:
    op = FakeOP(signer)
    op.discovery_status = 404

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/oauth-authorization-server/realms/acme":
            return httpx.Response(200, json=op.document)
        return op.handler(request)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    meta = Provider(ISSUER, "oidc", http=http).metadata()
    assert meta.source == "http://127.0.0.1:9/.well-known/oauth-authorization-server/realms/acme"


def test_no_document_at_all_says_where_it_looked_and_what_to_try(signer: Signer) -> None:
    op = FakeOP(signer)
    op.discovery_status = 404
    with pytest.raises(DiscoveryFailed, match=r"no discovery document at .* --kind auth0"):
        provider(op).metadata()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token_endpoint": None}, "has no token_endpoint"),
        ({"jwks_uri": "ftp://127.0.0.1/keys"}, "jwks_uri is not an http"),
        ({"token_endpoint": "http://10.0.0.1/token"}, "plain http away from loopback"),
        ({"token_endpoint_auth_methods_supported": "basic"}, "is not a list"),
        ({"issuer": None}, "names no issuer"),
    ],
)
def test_malformed_documents_are_one_line_errors(
    signer: Signer, change: dict[str, Any], message: str
) -> None:
    op = FakeOP(signer)
    op.document.update(change)
    op.document = {k: v for k, v in op.document.items() if v is not None}
    with pytest.raises(DiscoveryFailed, match=message) as caught:
        provider(op).metadata()
    assert "\n" not in str(caught.value)


def test_oidc_tokens_use_a_form_body_with_resource_and_http_basic(
    vault: CountingVault, signer: Signer
) -> None:
    op = FakeOP(signer)
    token = tokens(vault, op).token("agent", M2M_REF, API, scope="read:whoami")
    (request,) = op.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "resource": [API],
        "scope": ["read:whoami"],
    }
    assert request.headers["authorization"].startswith("Basic ")
    assert SECRET not in request.content.decode()
    assert json.loads(base64.urlsafe_b64decode(token.reveal().split(".")[1] + "==")) == {
        "iss": ISSUER,
        "sub": "agent",
        "aud": API,
        "iat": int(NOW),
        "exp": int(NOW) + 300,
        "client_id": "agent",
        "scope": "read:whoami",
    }


def test_basic_credentials_are_form_encoded_before_base64(home: Path, signer: Signer) -> None:
    odd_secret = "a:b c+d%e/ü=="
    vault = CountingVault(m2m_vault(home, secret=odd_secret, client_id="my client:1"))
    op = FakeOP(signer, clients={"my client:1": odd_secret})
    tokens(vault, op).token("my client:1", M2M_REF, API)
    header = op.requests[0].headers["authorization"][6:]
    assert base64.b64decode(header).decode() == "my+client%3A1:a%3Ab+c%2Bd%25e%2F%C3%BC%3D%3D"


def test_client_secret_post_is_used_where_it_is_all_the_provider_takes(
    vault: CountingVault, signer: Signer
) -> None:
    op = FakeOP(signer, methods=["client_secret_post", "private_key_jwt"])
    tokens(vault, op).token("agent", M2M_REF, API)
    (request,) = op.requests
    assert "authorization" not in request.headers
    form = parse_qs(request.content.decode())
    assert form["client_id"] == ["agent"] and form["client_secret"] == [SECRET]


def test_a_provider_without_client_secret_methods_is_a_configuration_error(
    vault: CountingVault, signer: Signer
) -> None:
    op = FakeOP(signer, methods=["private_key_jwt", "tls_client_auth"])
    with pytest.raises(ConfigurationError, match="advertises no client-secret authentication"):
        tokens(vault, op).token("agent", M2M_REF, API)
    assert op.requests == []


def test_a_refused_secret_is_typed_and_never_quoted(vault: CountingVault, signer: Signer) -> None:
    op = FakeOP(signer, clients={"agent": "another-secret"})
    with pytest.raises(IdPAuthenticationFailed) as caught:
        tokens(vault, op).token("agent", M2M_REF, API)
    assert SECRET not in str(caught.value)


def test_scopes_are_part_of_the_cache_key(vault: CountingVault, signer: Signer) -> None:
    op = FakeOP(signer)
    source = tokens(vault, op)
    source.token("agent", M2M_REF, API, scope="read:whoami")
    source.token("agent", M2M_REF, API, scope="read:whoami")
    source.token("agent", M2M_REF, API)
    assert len(op.requests) == 2 and source.stats.hits == 1


def test_the_verifier_takes_issuer_and_keys_from_the_provider(
    vault: CountingVault, signer: Signer
) -> None:
    op = FakeOP(signer)
    prov = provider(op)
    token = tokens(vault, op, prov).token("agent", M2M_REF, API)
    claims = prov.verifier(API, clock=Clock(NOW)).verify(token)
    assert claims["iss"] == ISSUER and claims["aud"] == API


def test_an_unknown_kid_refreshes_the_keys_and_the_document_then_finds_the_new_key(
    vault: CountingVault, signer: Signer
) -> None:
    op = FakeOP(signer)
    clock = Clock(NOW)
    prov = provider(op, clock, min_refresh_interval=30)
    verifier = prov.verifier(API, clock=clock)
    verifier.verify(tokens(vault, op, prov).token("agent", M2M_REF, API))
    rotated = Signer("k2")
    op.signer, op.published = rotated, [rotated]
    # The rotation also moved the key set: only a fresh document finds it.
    op.document["jwks_uri"] = ISSUER + "/keys-v2"
    clock.now += 31
    token = tokens(vault, op, prov).token("agent", M2M_REF, API)
    hits_before = len(op.hits)
    assert verifier.verify(token)["iss"] == ISSUER
    assert "/realms/acme/keys-v2" in op.hits[hits_before:]


def test_refreshes_are_rate_limited_so_made_up_kids_cost_one_fetch(
    vault: CountingVault, signer: Signer
) -> None:
    op = FakeOP(signer)
    clock = Clock(NOW)
    prov = provider(op, clock, min_refresh_interval=30)
    verifier = prov.verifier(API, clock=clock)
    stranger = Signer("unknown")
    for _ in range(5):
        with pytest.raises(TokenKeyUnknown):
            verifier.verify(stranger.mint({"iss": ISSUER, "aud": API}))
    assert op.hits.count("/realms/acme/.well-known/openid-configuration") == 1
    assert op.hits.count("/realms/acme/protocol/openid-connect/certs") <= 2


def test_a_stale_document_is_kept_when_its_refresh_fails(signer: Signer) -> None:
    op = FakeOP(signer)
    clock = Clock(NOW)
    prov = provider(op, clock, ttl=60)
    first = prov.metadata()
    op.discovery_status = 503
    clock.now += 61
    assert prov.metadata() == first
    assert prov.last_error is not None and "503" in prov.last_error
