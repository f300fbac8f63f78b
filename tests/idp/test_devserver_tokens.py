"""The dev IdP's discovery, JWKS and client-credentials grant, over real HTTP."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import jwt
import pytest

from tests.idp.devkit import AGENT_SECRET, API, MGMT_SECRET, get, get_token, post
from vaultborn.idp.devserver.server import RunningDevIdP

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def _form(**fields: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", **fields}


def _verify(idp: RunningDevIdP, token: str, audience: str) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    jwks = get(idp.base_url + ".well-known/jwks.json").json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = jwt.PyJWK(jwk).key
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256"], audience=audience, issuer=idp.issuer
    )
    return claims


def test_discovery_names_this_server(http: httpx.Client, dev_idp: RunningDevIdP) -> None:
    doc = http.get(".well-known/openid-configuration").json()
    assert dev_idp.base_url.endswith("/") and dev_idp.port > 0
    assert doc["issuer"] == dev_idp.base_url
    assert doc["token_endpoint"] == dev_idp.base_url + "oauth/token"
    assert doc["jwks_uri"] == dev_idp.base_url + ".well-known/jwks.json"
    assert "client_credentials" in doc["grant_types_supported"]


def test_jwks_holds_rsa_public_keys_only(http: httpx.Client) -> None:
    keys = http.get(".well-known/jwks.json").json()["keys"]
    assert keys
    for jwk in keys:
        assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["use"] == "sig"
        assert jwk["kid"] and {"n", "e"} <= set(jwk)
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


def test_agent_token_has_auth0_shape_and_claims(dev_idp: RunningDevIdP) -> None:
    answer = get_token(dev_idp, "agent", AGENT_SECRET, API)
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 86400
    assert answer["scope"] == "read:whoami"
    claims = _verify(dev_idp, answer["access_token"], API)
    assert claims["iss"] == dev_idp.base_url
    assert claims["sub"] == "agent@clients" and claims["azp"] == "agent"
    assert claims["aud"] == API
    assert claims["gty"] == "client-credentials"
    assert claims["scope"] == "read:whoami"
    assert claims["exp"] - claims["iat"] == 86400
    assert claims["owner"] == "ops" and claims["agent_type"] == "ci"


def test_management_token_from_a_form_body(dev_idp: RunningDevIdP) -> None:
    response = post(
        dev_idp.base_url + "oauth/token",
        data=_form(
            client_id="mgmt", client_secret=MGMT_SECRET, audience=dev_idp.management_audience
        ),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    claims = _verify(dev_idp, response.json()["access_token"], dev_idp.management_audience)
    assert claims["aud"] == dev_idp.base_url + "api/v2/"
    assert "create:users" in claims["scope"].split()
    assert "owner" not in claims


def test_http_basic_client_authentication(dev_idp: RunningDevIdP) -> None:
    basic = base64.b64encode(f"agent:{AGENT_SECRET}".encode()).decode()
    response = post(
        dev_idp.base_url + "oauth/token",
        data=_form(audience=API),
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text


def test_a_requested_scope_narrows_the_token(dev_idp: RunningDevIdP) -> None:
    answer = get_token(
        dev_idp, "mgmt", MGMT_SECRET, dev_idp.management_audience, scope="read:users"
    )
    assert answer["scope"] == "read:users"
    response = post(
        dev_idp.base_url + "oauth/token",
        json=_form(
            client_id="mgmt",
            client_secret=MGMT_SECRET,
            audience=dev_idp.management_audience,
            scope="read:users delete:everything",
        ),
    )
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert "delete:everything" in response.json()["error_description"]


def test_the_token_header_kid_is_published(dev_idp: RunningDevIdP, http: httpx.Client) -> None:
    token = get_token(dev_idp, "agent", AGENT_SECRET, API)["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] in [k["kid"] for k in http.get(".well-known/jwks.json").json()["keys"]]


@pytest.mark.parametrize(
    ("fields", "status", "error", "description"),
    [
        ({"client_id": "agent", "client_secret": "wrong-secret", "audience": API},
         401, "access_denied", "Unauthorized"),
        ({"client_id": "nobody", "client_secret": AGENT_SECRET, "audience": API},
         401, "access_denied", "Unauthorized"),
        ({"client_id": "agent", "client_secret": "", "audience": API},
         401, "access_denied", "Unauthorized"),
        ({"client_id": "agent", "client_secret": AGENT_SECRET},
         403, "access_denied",
         "No audience parameter was provided, and no default audience has been configured"),
    ],
    ids=["bad-secret", "unknown-client", "no-secret", "no-audience"],
)  # fmt: skip
def test_refusals_have_auth0_shapes(
    dev_idp: RunningDevIdP, fields: dict[str, str], status: int, error: str, description: str
) -> None:
    response = post(dev_idp.base_url + "oauth/token", json=_form(**fields))
    assert response.status_code == status
    assert response.json() == {"error": error, "error_description": description}
    assert all(h in response.headers for h in RATE_HEADERS)


def test_an_audience_without_grant_is_403(dev_idp: RunningDevIdP) -> None:
    response = post(
        dev_idp.base_url + "oauth/token",
        json=_form(
            client_id="agent", client_secret=AGENT_SECRET, audience=dev_idp.management_audience
        ),
    )
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "access_denied"
    assert body["error_description"].startswith(
        f'Client is not authorized to access "{dev_idp.management_audience}". '
        'You need to create a "client-grant" associated to this API. See: '
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"client_id": "agent", "client_secret": AGENT_SECRET, "audience": API}, "invalid_request"),
        (
            {"grant_type": "password", "client_id": "agent", "audience": API},
            "unsupported_grant_type",
        ),
    ],
)
def test_grant_type_errors_are_400(
    dev_idp: RunningDevIdP, body: dict[str, str], error: str
) -> None:
    response = post(dev_idp.base_url + "oauth/token", data=body)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_garbage_bodies_are_400_not_500(dev_idp: RunningDevIdP) -> None:
    url = dev_idp.base_url + "oauth/token"
    for content, kind in [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"x" * 100_000, "application/x-www-form-urlencoded"),
        (b"<xml/>", "text/xml"),
    ]:
        response = post(url, content=content, headers={"content-type": kind})
        assert response.status_code == 400, (content[:10], response.text)
        assert response.json()["error"] == "invalid_request"


def test_secrets_never_come_back(dev_idp: RunningDevIdP) -> None:
    response = post(
        dev_idp.base_url + "oauth/token",
        json=_form(client_id="agent", client_secret=AGENT_SECRET + "x", audience=API),
    )
    assert response.status_code == 401
    assert AGENT_SECRET not in response.text


def test_unknown_paths_and_methods_answer_json_with_rate_headers(http: httpx.Client) -> None:
    missing = http.get("no/such/path")
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
    wrong = http.get("oauth/token")
    assert wrong.status_code == 405
    for response in (missing, wrong):
        assert all(h in response.headers for h in RATE_HEADERS)
