"""The protected demo API: the project's verifier behind ``GET /api/protected/whoami``."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.idp.devkit import AGENT_SECRET, MGMT_SECRET, agent_token, bearer, get_token
from tests.idp.jwtkit import hs256_with
from vaultborn.idp.devserver.server import RunningDevIdP

pytestmark = pytest.mark.robustness("hostile input: tokens at the protected API")

WHOAMI = "api/protected/whoami"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _challenge(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    return response.headers["www-authenticate"]


def test_a_valid_token_gets_its_claims(http: httpx.Client, dev_idp: RunningDevIdP) -> None:
    response = http.get(WHOAMI, headers=bearer(agent_token(dev_idp, AGENT_SECRET)))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "sub": "agent@clients",
        "client_id": "agent",
        "scope": "read:whoami",
        "owner": "ops",
        "agent_type": "ci",
    }


def test_no_header_is_401_with_the_realm(http: httpx.Client) -> None:
    assert _challenge(http.get(WHOAMI)) == 'Bearer realm="vaultborn-dev"'
    assert _challenge(http.get(WHOAMI, headers={"Authorization": "Basic eDp5"})) == (
        'Bearer realm="vaultborn-dev"'
    )


def test_a_wrong_audience_token_is_invalid(http: httpx.Client, dev_idp: RunningDevIdP) -> None:
    mgmt = get_token(dev_idp, "mgmt", MGMT_SECRET, dev_idp.management_audience)["access_token"]
    value = _challenge(http.get(WHOAMI, headers=bearer(mgmt)))
    assert value.startswith('Bearer error="invalid_token", error_description="')
    assert "https://api.example.com" in value


def test_a_token_without_the_scope_is_403(http: httpx.Client, dev_idp: RunningDevIdP) -> None:
    # A token the server signed for the right audience, but with no read:whoami in its scope.
    kid, key = dev_idp.context.store.keys.signing_key()
    now = int(time.time())
    claims = {"iss": dev_idp.issuer, "aud": "https://api.example.com", "sub": "x@clients",
              "iat": now, "exp": now + 60, "scope": "read:other"}  # fmt: skip
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
    response = http.get(WHOAMI, headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="read:whoami"'
    )


def _forged(dev_idp: RunningDevIdP) -> list[str]:
    kid, key = dev_idp.context.store.keys.signing_key()
    now = int(time.time())
    good = {"iss": dev_idp.issuer, "aud": "https://api.example.com", "sub": "agent@clients",
            "iat": now, "exp": now + 60, "scope": "read:whoami"}  # fmt: skip
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64(json.dumps(good).encode())
    valid = jwt.encode(good, key, algorithm="RS256", headers={"kid": kid})
    return [
        "garbage",
        f"{header}.{body}.",
        jwt.encode(good, other, algorithm="RS256", headers={"kid": kid}),
        jwt.encode({**good, "exp": now - 3600}, key, algorithm="RS256", headers={"kid": kid}),
        jwt.encode(
            {**good, "iss": "https://evil.example.com/"},
            key,
            algorithm="RS256",
            headers={"kid": kid},
        ),
        jwt.encode(good, key, algorithm="RS256", headers={"kid": "unknown"}),
        valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
        "x" * 20_000,
        "é.é.é",
        "a.b.c",
        # HS256 "signed" with the server's own public key: the classic key-confusion forgery.
        hs256_with(
            key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
            {"alg": "HS256", "typ": "JWT", "kid": kid},
            good,
        ),
        jwt.encode({**good, "nbf": now + 3600}, key, algorithm="RS256", headers={"kid": kid}),
        jwt.encode(
            {**good, "aud": "https://other.example.com"},
            key,
            algorithm="RS256",
            headers={"kid": kid},
        ),
        *(
            jwt.encode(
                {k: v for k, v in good.items() if k != missing},
                key,
                algorithm="RS256",
                headers={"kid": kid},
            )
            for missing in ("exp", "iss", "aud", "sub", "iat")
        ),
        jwt.encode(good, key, algorithm="RS256"),  # no kid
    ]


def test_every_bad_token_is_401_never_500(http: httpx.Client, dev_idp: RunningDevIdP) -> None:
    for token in _forged(dev_idp):
        response = http.get(WHOAMI, headers={"Authorization": f"Bearer {token}".encode()})
        value = _challenge(response)
        assert value.startswith('Bearer error="invalid_token", error_description="'), value
        assert "\n" not in value


@pytest.mark.parametrize("header", [b"Bearer", b"Bearer \xff\xfe", b"Bearer a b c"])
def test_empty_or_binary_bearer_is_401(http: httpx.Client, header: bytes) -> None:
    assert 'error="invalid_token"' in _challenge(
        http.get(WHOAMI, headers={"Authorization": header})
    )
