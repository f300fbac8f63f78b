"""TokenSource with private_key_jwt: the key from the vault, a fresh assertion per request.

Against the real dev IdP on loopback (its tenant names the vault key's public half by reference)
and against mock token endpoints where a test needs to see or fail a request. Each assertion is
checked here with plain PyJWT and the public JWK the vault gives out, not with the signer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
import pytest

from tests.idp.devkit import API
from tests.idp.jwtkit import NOW, Signer
from tests.idp.support import MOCK_DOMAIN, CountingVault
from vaultborn.core.errors import ConfigurationError, UsageError
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import Tenant, TenantClient
from vaultborn.idp.errors import IdPAuthenticationFailed
from vaultborn.idp.http import HttpRetry
from vaultborn.idp.provider import Provider
from vaultborn.idp.tokens import ClientKey, TokenSource, client_id_for
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.keypair import KeyKind
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _key_item(vault: LocalVault, title: str, client_id: str, kind: KeyKind) -> ClientKey:
    vault.create_item(
        "ACL",
        ItemSpec(
            title=title,
            category=Category.SSH_KEY,
            generate_key=kind,
            assignments=(parse_assignment(f"client_id[text]={client_id}"),),
        ),
    )
    return ClientKey(f"op://ACL/{title}/private key")


@pytest.fixture(scope="module")
def key_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalVault]:
    """Two SSH Key items: ``agent-rsa`` (RS256) and ``agent-p256`` (ES256)."""
    vault = LocalVault(tmp_path_factory.mktemp("keyvault"), key=b"k" * 32)
    for kind in KeyKind:
        _key_item(vault, f"agent key {kind}", f"agent-{kind}", kind)
    yield vault
    vault.close()


@pytest.fixture(scope="module")
def key_idp(
    key_vault: LocalVault, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningDevIdP]:
    """A dev IdP whose key clients' public keys it read from the vault at start."""
    clients = tuple(
        TenantClient(
            client_id=f"agent-{kind}",
            audiences=(API,),
            scopes=("read:whoami",),
            public_key_ref=f"op://ACL/agent key {kind}/public key",
        )
        for kind in KeyKind
    )
    tenant = Tenant(protected_audience=API, clients=clients)
    db = tmp_path_factory.mktemp("keyidp") / "devidp.db"
    with start_dev_idp(tenant, db=db, resolve_secret=key_vault.read) as idp:
        yield idp


class Recorder:
    """An httpx event hook keeping every form body sent."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> None:
        if request.method == "POST":
            request.read()
            self.forms.append(dict(parse_qsl(request.content.decode())))


def _claims_checked(form: dict[str, str], vault: LocalVault, title: str) -> dict[str, Any]:
    """The assertion's claims, its signature checked with the vault's public JWK."""
    jwk = vault.public_key("ACL", title).jwk()
    header = jwt.get_unverified_header(form["client_assertion"])
    assert header["kid"] == jwk["kid"] and header["alg"] == jwk["alg"]
    key = jwt.PyJWK(jwk).key
    claims: dict[str, Any] = jwt.decode(
        form["client_assertion"],
        key,
        algorithms=[jwk["alg"]],
        options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
    )
    return claims


@pytest.mark.parametrize("kind", list(KeyKind))
def test_a_key_client_gets_a_token_and_each_request_signs_a_fresh_assertion(
    key_vault: LocalVault, key_idp: RunningDevIdP, kind: KeyKind
) -> None:
    vault, title, client_id = CountingVault(key_vault), f"agent key {kind}", f"agent-{kind}"
    key = ClientKey(f"op://ACL/{title}/private key")
    assert client_id_for(vault, key) == client_id  # type: ignore[arg-type]
    recorder = Recorder()
    with httpx.Client(event_hooks={"request": [recorder]}) as http:
        provider = Provider(key_idp.base_url, "oidc", http=http)
        source = TokenSource(vault, provider=provider, http=http)  # type: ignore[arg-type]
        token = source.token(client_id, key, API)
        assert source.token(client_id, key, API) is token, "cached"
        assert (source.stats.requests, vault.reads) == (1, 1)
        source.invalidate(client_id, API)
        again = source.token(client_id, key, API)
        verified = provider.verifier(API).verify(again)
    assert verified["sub"] == f"{client_id}@clients"
    assert (source.stats.requests, vault.reads) == (2, 2), "the key is read per request"
    first, second = (_claims_checked(f, key_vault, title) for f in recorder.forms)
    for form, claims in zip(recorder.forms, (first, second), strict=True):
        assert form["client_assertion_type"] == ASSERTION_TYPE and form["client_id"] == client_id
        assert "client_secret" not in form and form["resource"] == API
        assert claims["iss"] == claims["sub"] == client_id
        assert claims["aud"] == key_idp.base_url + "oauth/token"  # from the discovery document
        assert 0 < claims["exp"] - claims["iat"] <= 60
    assert first["jti"] != second["jti"]


def test_concurrent_callers_share_one_request(
    key_vault: LocalVault, key_idp: RunningDevIdP
) -> None:
    vault = CountingVault(key_vault)
    key = ClientKey("op://ACL/agent key rsa/private key")
    provider = Provider(key_idp.base_url, "oidc")
    source = TokenSource(vault, provider=provider)  # type: ignore[arg-type]

    async def many() -> set[str]:
        tokens = await asyncio.gather(*(source.atoken("agent-rsa", key, API) for _ in range(8)))
        return {t.reveal() for t in tokens}

    with provider, source:
        assert len(asyncio.run(many())) == 1
    assert (source.stats.requests, vault.reads) == (1, 1)


def test_a_key_the_idp_does_not_know_is_one_line_without_the_assertion(
    key_vault: LocalVault, key_idp: RunningDevIdP, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = _key_item(key_vault, "stranger key", "agent-rsa", KeyKind.RSA)
    caplog.set_level(logging.DEBUG)
    with (
        Provider(key_idp.base_url, "oidc") as provider,
        TokenSource(key_vault, provider=provider) as source,
        pytest.raises(IdPAuthenticationFailed) as err,
    ):
        source.token("agent-rsa", stranger, API)
    message = str(err.value)
    assert "\n" not in message and "401" in message and "unknown client" in message
    assert "eyJ" not in message and "eyJ" not in caplog.text, "no assertion (a JWT) is shown"


# -- against mock endpoints: what is sent, and what is refused before anything is sent --------


def _mock(
    discovery: dict[str, Any] | None, answers: list[int], signer: Signer
) -> tuple[httpx.Client, list[dict[str, str]]]:
    forms: list[dict[str, str]] = []
    statuses = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration") and discovery:
            return httpx.Response(200, json=discovery)
        form = dict(parse_qsl(request.content.decode()))
        forms.append(form)
        status = next(statuses, 200)
        if status != 200:
            return httpx.Response(status, json={"error": "temporarily_unavailable"})
        token = signer.mint(
            {"iss": MOCK_DOMAIN, "aud": API, "iat": int(NOW), "exp": int(NOW) + 600}
        )
        return httpx.Response(200, json={"access_token": token, "expires_in": 600})

    return httpx.Client(transport=httpx.MockTransport(handler)), forms


def _discovery(**changes: Any) -> dict[str, Any]:
    issuer = "https://op.example.com"
    doc = {
        "issuer": issuer,
        "token_endpoint": issuer + "/token",
        "jwks_uri": issuer + "/jwks",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
    }
    doc.update(changes)
    return doc


@pytest.fixture
def home_vault(home: Path) -> CountingVault:
    vault = LocalVault(home)
    for kind in KeyKind:
        _key_item(vault, f"agent key {kind}", "agent", kind)
    return CountingVault(vault)


@pytest.mark.robustness("faults: token requests with client assertions")
def test_a_retried_request_carries_a_new_assertion(home_vault: CountingVault) -> None:
    http, forms = _mock(_discovery(), [503, 502], Signer("k1"))
    key = ClientKey("op://ACL/agent key rsa/private key")
    provider = Provider("https://op.example.com", "oidc", http=http, clock=lambda: NOW)
    source = TokenSource(
        home_vault,  # type: ignore[arg-type]
        provider=provider,
        http=http,
        clock=lambda: NOW,
        policy=HttpRetry(attempts=3, backoff=0),
        sleep=lambda _: None,
    )
    source.token("agent", key, API)
    jtis = [
        jwt.decode(f["client_assertion"], options={"verify_signature": False})["jti"] for f in forms
    ]
    assert len(jtis) == 3 and len(set(jtis)) == 3, "each attempt signs its own assertion"
    assert home_vault.reads == 1, "the key is read once per logical request"


def test_auth0_takes_the_tenant_url_as_the_audience(home_vault: CountingVault) -> None:
    http, forms = _mock(None, [], Signer("k1"))
    source = TokenSource(home_vault, domain=MOCK_DOMAIN, http=http, clock=lambda: NOW)  # type: ignore[arg-type]
    source.token("agent", ClientKey("op://ACL/agent key rsa/private key"), API)
    (form,) = forms
    claims = jwt.decode(form["client_assertion"], options={"verify_signature": False})
    assert claims["aud"] == MOCK_DOMAIN and form["audience"] == API
    assert claims["exp"] - claims["iat"] == 60 and claims["iat"] == int(NOW)


@pytest.mark.parametrize(
    ("doc", "kind", "error", "words"),
    [
        (_discovery(token_endpoint_auth_methods_supported=["client_secret_basic"]),
         KeyKind.RSA, ConfigurationError, "does not advertise private_key_jwt"),
        (_discovery(token_endpoint_auth_signing_alg_values_supported=["RS256"]),
         KeyKind.P256, ConfigurationError, "not ES256"),
        (None, KeyKind.P256, ConfigurationError, "RS256, RS384, PS256"),  # Auth0: RSA only
    ],
    ids=["no-private-key-jwt", "alg-not-advertised", "auth0-refuses-es256"],
)  # fmt: skip
def test_a_provider_that_cannot_take_the_key_is_refused_before_sending(
    home_vault: CountingVault,
    doc: dict[str, Any] | None,
    kind: KeyKind,
    error: type[Exception],
    words: str,
) -> None:
    http, forms = _mock(doc, [], Signer("k1"))
    given = (
        {"provider": Provider("https://op.example.com", "oidc", http=http)}
        if doc
        else {"domain": MOCK_DOMAIN}
    )
    source = TokenSource(home_vault, http=http, **given)  # type: ignore[arg-type]
    with pytest.raises(error, match=words) as err:
        source.token("agent", ClientKey(f"op://ACL/agent key {kind}/private key"), API)
    assert "\n" not in str(err.value) and forms == []


def test_a_key_reference_to_what_is_not_a_key_is_a_usage_error(home: Path) -> None:
    vault = LocalVault(home)
    vault.create_item(
        "ACL",
        ItemSpec(title="not a key", category=Category.PASSWORD,
                 assignments=(parse_assignment("password=CANARY-not-a-pem"),)),
    )  # fmt: skip
    http, forms = _mock(_discovery(), [], Signer("k1"))
    source = TokenSource(vault, provider=Provider("https://op.example.com", "oidc", http=http))
    with pytest.raises(UsageError, match="does not hold an unencrypted private key") as err:
        source.token("agent", ClientKey("op://ACL/not a key/password"), API)
    assert "CANARY" not in str(err.value) and forms == []
