"""vaultborn's token client and verifier against a real OpenID Provider (panva's oidc-provider).

``vaultborn token`` and ``call`` find the provider's endpoints in its discovery document, send a
form body with RFC 8707 ``resource`` and the secret by ``client_secret_basic`` or
``client_secret_post``, and check the token against the provider's own ``jwks_uri`` and issuer;
the protected API at the end verifies with ``jose``, which no one here wrote either. The
harness itself is proved by test_oidc_harness.py (plain httpx and PyJWT only).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.conftest import Run
from tests.idp.jwtkit import Signer
from tests.idp.support import m2m_vault
from tests.thirdparty.oidc_op import (
    API_RESOURCE,
    API_SCOPE,
    OTHER_RESOURCE,
    RunningOP,
)
from vaultborn.idp.errors import (
    InvalidToken,
    TokenAlgorithmRefused,
    TokenAudienceInvalid,
    TokenExpired,
    TokenIssuerInvalid,
    TokenKeyUnknown,
    TokenMalformed,
    TokenSignatureInvalid,
)
from vaultborn.idp.provider import Provider
from vaultborn.idp.tokens import TokenSource
from vaultborn.vault.local import LocalVault

BASIC_TITLE, POST_TITLE = "OP — agent-basic", "OP — agent-post"

pytestmark = pytest.mark.robustness("third party: token, call and the verifier on oidc-provider")


def _ref(title: str) -> str:
    return f"op://ACL/{title}/credential"


@pytest.fixture
def vault(home: Path, oidc_op: RunningOP) -> LocalVault:
    """The OP's two secret clients, each in an API Credential item (username = client id)."""
    for title, method in ((BASIC_TITLE, "client_secret_basic"), (POST_TITLE, "client_secret_post")):
        client = oidc_op.client(method)
        assert client.client_secret is not None
        m2m_vault(home, secret=client.client_secret, client_id=client.client_id, title=title)
    return LocalVault(home)


def _token(cli: Run, oidc_op: RunningOP, title: str, *extra: str) -> Any:
    result = cli(
        "token", "--domain", oidc_op.issuer, "--client", _ref(title),
        "--audience", API_RESOURCE, "--scope", API_SCOPE, "--json", *extra,
    )  # fmt: skip
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.parametrize(
    ("title", "client_id"), [(BASIC_TITLE, "agent-basic"), (POST_TITLE, "agent-post")]
)
def test_token_gets_a_verified_token_from_the_providers_discovered_endpoints(
    cli: Run, oidc_op: RunningOP, vault: LocalVault, title: str, client_id: str
) -> None:
    answer = _token(cli, oidc_op, title)
    assert answer["verified"] is True, answer["note"]
    assert answer["note"] == f"verified against {oidc_op.jwks_uri}"
    assert answer["provider"] == {
        "kind": "oidc",
        "issuer": oidc_op.issuer,
        "token_endpoint": oidc_op.token_endpoint,
        "jwks_uri": oidc_op.jwks_uri,
        "metadata": oidc_op.discovery_url,
    }
    claims = answer["claims"]
    assert (claims["iss"], claims["aud"], claims["client_id"]) == (
        oidc_op.issuer,
        API_RESOURCE,
        client_id,
    )
    assert claims["scope"] == API_SCOPE
    assert "access_token" not in answer


def test_call_reaches_an_api_that_verifies_with_jose(
    cli: Run, oidc_op: RunningOP, vault: LocalVault
) -> None:
    result = cli(
        "call", oidc_op.api_url, "--domain", oidc_op.issuer, "--client", _ref(BASIC_TITLE),
        "--audience", API_RESOURCE, "--scope", API_SCOPE, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert answer["status"] == 200
    assert answer["body"]["client_id"] == "agent-basic" and answer["body"]["scope"] == API_SCOPE


def test_without_the_scope_the_api_refuses_and_says_why(
    cli: Run, oidc_op: RunningOP, vault: LocalVault
) -> None:
    result = cli(
        "call", oidc_op.api_url, "--domain", oidc_op.issuer, "--client", _ref(POST_TITLE),
        "--audience", API_RESOURCE,
    )  # fmt: skip
    assert result.code == 1
    assert "→ 403 (insufficient_scope: " in result.err and result.err.count("\n") == 1


def test_a_wrong_secret_is_one_line_naming_the_endpoint_never_the_secret(
    cli: Run, oidc_op: RunningOP, home: Path
) -> None:
    m2m_vault(home, secret="not-the-secret-of-agent-basic", client_id="agent-basic")
    result = cli(
        "token", "--domain", oidc_op.issuer, "--client", "op://ACL/Auth0 M2M — my-agent/credential",
        "--audience", API_RESOURCE,
    )  # fmt: skip
    assert result.code == 1
    assert result.err.startswith(f"vaultborn: POST {oidc_op.token_endpoint} → 401"), result.err
    assert result.err.count("\n") == 1 and "not-the-secret" not in result.err


def test_an_api_the_provider_does_not_know_is_its_invalid_target(
    cli: Run, oidc_op: RunningOP, vault: LocalVault
) -> None:
    result = cli(
        "token", "--domain", oidc_op.issuer, "--client", _ref(BASIC_TITLE),
        "--audience", "https://unknown.example.com",
    )  # fmt: skip
    assert result.code == 1
    assert result.err.startswith(f"vaultborn: POST {oidc_op.token_endpoint} → 400"), result.err


def test_the_issuer_without_its_trailing_slash_or_with_one_is_the_same_provider(
    oidc_op: RunningOP,
) -> None:
    for spelling in (oidc_op.issuer, oidc_op.issuer + "/"):
        with Provider(spelling, "auto") as provider:
            assert provider.kind == "oidc"
            assert provider.metadata().issuer == oidc_op.issuer


# -- the verifier against the provider's tokens and forgeries of them ---------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def real_token(oidc_op: RunningOP, vault: LocalVault) -> str:
    with Provider(oidc_op.issuer, "oidc") as provider, TokenSource(vault, provider=provider) as ts:
        return ts.token("agent-basic", _ref(BASIC_TITLE), API_RESOURCE, scope=API_SCOPE).reveal()


def _mint(oidc_op: RunningOP, **claims: Any) -> str:
    """A token signed with the provider's own signing key (what only the provider can do)."""
    jwk = oidc_op.signing_jwk()
    key = jwt.PyJWK(jwk).key
    now = int(time.time())
    body = {"iss": oidc_op.issuer, "sub": "agent-basic", "aud": API_RESOURCE, "iat": now,
            "exp": now + 300, "client_id": "agent-basic", "scope": API_SCOPE, **claims}  # fmt: skip
    return jwt.encode(body, key, "RS256", headers={"kid": jwk["kid"], "typ": "at+jwt"})


def _forgeries(oidc_op: RunningOP, token: str) -> dict[str, tuple[str, type[InvalidToken]]]:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    altered = _b64(json.dumps({**claims, "scope": "admin"}).encode())
    none_header = _b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    hs_header = _b64(json.dumps({"alg": "HS256", "kid": kid}).encode())
    stranger = Signer(kid)  # the provider's kid, someone else's key
    return {
        "altered claims": (f"{header}.{altered}.{signature}", TokenSignatureInvalid),
        "alg none": (f"{none_header}.{payload}.", TokenAlgorithmRefused),
        "HS256 with a kid": (f"{hs_header}.{payload}.{signature}", TokenAlgorithmRefused),
        "its kid, another key": (stranger.mint(claims), TokenSignatureInvalid),
        "an unknown kid": (Signer("not-published").mint(claims), TokenKeyUnknown),
        "another resource": (_mint(oidc_op, aud=OTHER_RESOURCE), TokenAudienceInvalid),
        "another issuer": (_mint(oidc_op, iss=oidc_op.issuer + "/evil"), TokenIssuerInvalid),
        "expired": (_mint(oidc_op, exp=int(time.time()) - 3600), TokenExpired),
        "two parts": (f"{header}.{payload}", TokenMalformed),
    }


@pytest.mark.robustness("hostile input: forgeries of a third-party provider's tokens")
def test_the_providers_token_verifies_and_every_forgery_is_refused_with_its_reason(
    oidc_op: RunningOP, real_token: str
) -> None:
    with Provider(oidc_op.issuer, "oidc") as provider:
        verifier = provider.verifier(API_RESOURCE)
        claims = verifier.verify(real_token)
        assert claims["iss"] == oidc_op.issuer and claims["client_id"] == "agent-basic"
        assert verifier.verify(_mint(oidc_op))["sub"] == "agent-basic"  # the minting is sound
        for name, (forged, refusal) in _forgeries(oidc_op, real_token).items():
            with pytest.raises(refusal) as caught:
                verifier.verify(forged)
            assert type(caught.value) is refusal, name
            assert forged not in str(caught.value)
