"""The oidc-provider harness, proved with independent clients only: plain httpx and PyJWT.

Nothing here imports vaultborn: when a vaultborn test against this provider fails, these tests
say whether the provider (and its protected API) or vaultborn is to blame. Standards checked:
OpenID Connect Discovery 1.0, RFC 6749 (client credentials, §2.3.1 client authentication, §5.2
errors), RFC 8707 (resource indicators), RFC 7523 (private_key_jwt), RFC 9068 (JWT access
tokens) and RFC 6750 (bearer tokens at the protected API).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest

from tests.thirdparty.oidc_op import (
    API_RESOURCE,
    API_SCOPE,
    ASSERTION_TYPE,
    OTHER_RESOURCE,
    OTHER_SCOPE,
    OPClient,
    RunningOP,
    default_clients,
    default_resources,
    start_oidc_provider,
)

TTL = 300  # the session provider's access token lifetime (default_resources())


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # trust_env=False: loopback only, whatever proxy the environment names.
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module", autouse=True)
def provider_had_no_internal_errors(oidc_op: RunningOP) -> Iterator[None]:
    yield
    log = oidc_op.stderr()
    assert "server_error" not in log and "whoami failed" not in log, log


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-encode id and secret, then base64 ``id:secret``."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def request_token(
    http: httpx.Client, op: RunningOP, client: OPClient, **form: str | list[str]
) -> httpx.Response:
    """A client_credentials request authenticated the way ``client`` is registered."""
    body: dict[str, str | list[str]] = {"grant_type": "client_credentials", **form}
    headers = {"Accept": "application/json"}
    if client.auth_method == "client_secret_basic":
        assert client.client_secret is not None
        headers["Authorization"] = basic_auth(client.client_id, client.client_secret)
    elif client.auth_method == "client_secret_post":
        assert client.client_secret is not None
        body |= {"client_id": client.client_id, "client_secret": client.client_secret}
    elif client.auth_method == "private_key_jwt":
        body |= {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client.client_assertion(op.token_endpoint),
        }
    # httpx sends a dict as application/x-www-form-urlencoded, a list as repeated keys.
    return http.post(op.token_endpoint, data=body, headers=headers)


def api_token(http: httpx.Client, op: RunningOP, auth_method: str = "client_secret_post") -> str:
    response = request_token(
        http, op, op.client(auth_method), resource=API_RESOURCE, scope=API_SCOPE
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def verify(http: httpx.Client, op: RunningOP, token: str, audience: str) -> dict[str, Any]:
    """PyJWT against the JWKS fetched with httpx, the key chosen by the token's ``kid``."""
    jwks = jwt.PyJWKSet.from_dict(http.get(op.jwks_uri).raise_for_status().json())
    kid = jwt.get_unverified_header(token)["kid"]
    (key,) = [k for k in jwks.keys if k.key_id == kid]
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=audience,
        issuer=op.issuer,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
    return claims


def assert_token_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """RFC 6749 §5.2: the status, a JSON body with ``error``, and no token."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body
    return body


def bearer_challenge(response: httpx.Response) -> str:
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer "), challenge
    return challenge


# -- discovery and keys ---------------------------------------------------------------------


def test_discovery_document(http: httpx.Client, oidc_op: RunningOP) -> None:
    response = http.get(oidc_op.discovery_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    # OIDC Discovery §4.3: the issuer is exactly the URL the document was fetched under.
    assert doc["issuer"] == oidc_op.issuer
    assert oidc_op.discovery_url == doc["issuer"] + "/.well-known/openid-configuration"
    assert not doc["issuer"].endswith("/")
    assert doc["token_endpoint"] == oidc_op.issuer + "/token"
    assert doc["jwks_uri"] == oidc_op.issuer + "/jwks"
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )
    assert "client_credentials" in doc["grant_types_supported"]
    assert "RS256" in doc["token_endpoint_auth_signing_alg_values_supported"]


def test_jwks_publishes_the_signing_key_second(http: httpx.Client, oidc_op: RunningOP) -> None:
    keys = http.get(oidc_op.jwks_uri).raise_for_status().json()["keys"]
    assert [k["kty"] for k in keys] == ["RSA", "RSA"]
    assert all(k["use"] == "sig" and k["alg"] == "RS256" for k in keys)
    assert len({k["kid"] for k in keys}) == 2
    # The first key never signs: a verifier that ignores kid fails on purpose.
    assert keys[0]["kid"] != oidc_op.signing_kid == keys[1]["kid"]
    assert not any("d" in k for k in keys), "private key material published"


# -- the token endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_jwt_for_the_resource(
    http: httpx.Client, oidc_op: RunningOP, auth_method: str
) -> None:
    client = oidc_op.client(auth_method)
    response = request_token(http, oidc_op, client, resource=API_RESOURCE, scope=API_SCOPE)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"  # RFC 6749 §5.1
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == TTL
    assert body["scope"] == API_SCOPE
    assert "refresh_token" not in body  # RFC 6749 §4.4.3

    token = body["access_token"]
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "typ": "at+jwt",
        "kid": oidc_op.signing_kid,
    }
    claims = verify(http, oidc_op, token, API_RESOURCE)
    assert claims["iss"] == oidc_op.issuer
    assert claims["aud"] == API_RESOURCE
    assert claims["sub"] == claims["client_id"] == client.client_id
    assert claims["scope"] == API_SCOPE
    assert claims["exp"] - claims["iat"] == TTL
    assert abs(claims["iat"] - time.time()) < 60
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"}


def test_private_key_jwt_client(http: httpx.Client, oidc_op: RunningOP) -> None:
    client = oidc_op.client("private_key_jwt")
    assertion = client.client_assertion(oidc_op.token_endpoint)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "resource": API_RESOURCE,
        "scope": API_SCOPE,
    }
    response = http.post(oidc_op.token_endpoint, data=form)
    assert response.status_code == 200, response.text
    claims = verify(http, oidc_op, response.json()["access_token"], API_RESOURCE)
    assert claims["client_id"] == client.client_id
    # RFC 7523 §3: the jti is remembered; the same assertion twice is refused.
    assert_token_error(http.post(oidc_op.token_endpoint, data=form), 401, "invalid_client")


def test_basic_credentials_must_be_form_encoded(http: httpx.Client, oidc_op: RunningOP) -> None:
    client = oidc_op.client("client_secret_basic")
    assert client.client_secret is not None and "%" in client.client_secret
    raw = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    response = http.post(
        oidc_op.token_endpoint,
        data={"grant_type": "client_credentials", "resource": API_RESOURCE},
        headers={"Authorization": f"Basic {raw}"},
    )
    body = assert_token_error(response, 400, "invalid_request")
    assert "not properly encoded" in body["error_description"]


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_wrong_secret_is_invalid_client(
    http: httpx.Client, oidc_op: RunningOP, auth_method: str
) -> None:
    real = oidc_op.client(auth_method)
    wrong = OPClient(real.client_id, real.auth_method, "not-" + (real.client_secret or ""))
    response = request_token(http, oidc_op, wrong, resource=API_RESOURCE, scope=API_SCOPE)
    assert_token_error(response, 401, "invalid_client")
    if auth_method == "client_secret_basic":
        # §5.2: a client that used the Authorization header gets a challenge for its scheme.
        assert response.headers["www-authenticate"].startswith("Basic ")


def test_unknown_client_is_invalid_client(http: httpx.Client, oidc_op: RunningOP) -> None:
    stranger = OPClient("stranger", "client_secret_post", "whatever")
    assert_token_error(request_token(http, oidc_op, stranger), 401, "invalid_client")


def test_unknown_resource_is_invalid_target(http: httpx.Client, oidc_op: RunningOP) -> None:
    client = oidc_op.client("client_secret_post")
    response = request_token(
        http, oidc_op, client, resource="https://unknown.example.com", scope=API_SCOPE
    )
    assert_token_error(response, 400, "invalid_target")  # RFC 8707 §2


def test_two_resources_are_invalid_target(http: httpx.Client, oidc_op: RunningOP) -> None:
    client = oidc_op.client("client_secret_post")
    response = request_token(http, oidc_op, client, resource=[API_RESOURCE, OTHER_RESOURCE])
    body = assert_token_error(response, 400, "invalid_target")
    assert "single resource" in body["error_description"]


def test_no_resource_gets_an_opaque_token(http: httpx.Client, oidc_op: RunningOP) -> None:
    # oidc-provider issues JWTs only for a resource server; without `resource` (and no
    # default_resource configured) the token is opaque and the resource scope is dropped.
    response = request_token(http, oidc_op, oidc_op.client("client_secret_post"), scope=API_SCOPE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"].count(".") == 0
    assert "scope" not in body


def test_no_scope_gets_a_jwt_without_scope(http: httpx.Client, oidc_op: RunningOP) -> None:
    # The resource server's scope is a ceiling, not a default: unrequested, none is granted.
    client = oidc_op.client("client_secret_post")
    response = request_token(http, oidc_op, client, resource=API_RESOURCE)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert "scope" not in verify(http, oidc_op, token, API_RESOURCE)
    api = http.get(oidc_op.api_url, headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403
    assert 'error="insufficient_scope"' in bearer_challenge(api)


def test_scope_of_another_resource_is_dropped(http: httpx.Client, oidc_op: RunningOP) -> None:
    client = oidc_op.client("client_secret_post")
    response = request_token(
        http, oidc_op, client, resource=API_RESOURCE, scope=f"{API_SCOPE} {OTHER_SCOPE}"
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == API_SCOPE


# -- the protected API ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth_method", ["client_secret_basic", "client_secret_post", "private_key_jwt"]
)
def test_api_accepts_the_token(http: httpx.Client, oidc_op: RunningOP, auth_method: str) -> None:
    token = api_token(http, oidc_op, auth_method)
    response = http.get(oidc_op.api_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    client_id = oidc_op.client(auth_method).client_id
    assert response.json() == {"sub": client_id, "client_id": client_id, "scope": API_SCOPE}


def test_api_without_a_token(http: httpx.Client, oidc_op: RunningOP) -> None:
    response = http.get(oidc_op.api_url)
    assert response.status_code == 401
    # RFC 6750 §3.1: no credentials at all, so a challenge without an error code.
    challenge = bearer_challenge(response)
    assert "realm=" in challenge and "error=" not in challenge


def test_api_refuses_another_scheme(http: httpx.Client, oidc_op: RunningOP) -> None:
    response = http.get(oidc_op.api_url, headers={"Authorization": basic_auth("a", "b")})
    assert response.status_code == 401
    assert "error=" not in bearer_challenge(response)


def tamper(token: str) -> str:
    """The same signature over a payload with a different ``sub``."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_api_refuses_a_tampered_token(http: httpx.Client, oidc_op: RunningOP) -> None:
    forged = tamper(api_token(http, oidc_op))
    with pytest.raises(jwt.InvalidSignatureError):
        verify(http, oidc_op, forged, API_RESOURCE)
    response = http.get(oidc_op.api_url, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in bearer_challenge(response)
    assert response.json()["error"] == "invalid_token"


def test_api_refuses_a_token_for_the_other_resource(http: httpx.Client, oidc_op: RunningOP) -> None:
    client = oidc_op.client("client_secret_post")
    response = request_token(http, oidc_op, client, resource=OTHER_RESOURCE, scope=OTHER_SCOPE)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert verify(http, oidc_op, token, OTHER_RESOURCE)["aud"] == OTHER_RESOURCE
    api = http.get(oidc_op.api_url, headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    assert 'error="invalid_token"' in bearer_challenge(api)
    assert "aud" in api.json()["error_description"]


def test_api_refuses_garbage(http: httpx.Client, oidc_op: RunningOP) -> None:
    response = http.get(oidc_op.api_url, headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in bearer_challenge(response)


def test_minted_tokens_with_the_signing_key(http: httpx.Client, oidc_op: RunningOP) -> None:
    # The private signing JWK is written for tests that build their own bad tokens.
    jwk = oidc_op.signing_jwk()
    key = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
    now = int(time.time())
    good = {
        "iss": oidc_op.issuer,
        "sub": "minted",
        "client_id": "minted",
        "aud": API_RESOURCE,
        "iat": now,
        "exp": now + 60,
        "jti": "j1",
        "scope": API_SCOPE,
    }
    headers = {"kid": jwk["kid"], "typ": "at+jwt"}

    def call(claims: dict[str, Any], **header: str) -> httpx.Response:
        token = jwt.encode(claims, key, algorithm="RS256", headers={**headers, **header})
        return http.get(oidc_op.api_url, headers={"Authorization": f"Bearer {token}"})

    assert call(good).status_code == 200
    assert call(good | {"exp": now - 60, "iat": now - 120}).status_code == 401
    assert call(good | {"iss": oidc_op.issuer + "/"}).status_code == 401
    assert call(good, typ="JWT").status_code == 401  # RFC 9068 §4: typ at+jwt is required


# -- a provider of one's own ----------------------------------------------------------------


def test_short_lived_tokens_and_stop(tmp_path: Path, http: httpx.Client) -> None:
    with start_oidc_provider(
        tmp_path, clients=default_clients()[1:2], resources=default_resources(access_token_ttl=1)
    ) as op:
        response = request_token(
            http, op, op.client("client_secret_post"), resource=API_RESOURCE, scope=API_SCOPE
        )
        assert response.json()["expires_in"] == 1
        token = response.json()["access_token"]
        time.sleep(2.1)
        api = http.get(op.api_url, headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 401
        assert '"exp" claim timestamp check failed' in api.json()["error_description"]
    assert op.process.returncode is not None, "node process not reaped"
    with pytest.raises(httpx.ConnectError):
        http.get(op.discovery_url)
