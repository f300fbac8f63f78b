"""The token endpoint's ``resource`` parameter (Auth0's compatibility profile) and HTTP Basic.

Auth0, with its Resource Parameter Compatibility Profile on, checks ``audience`` first and, when
none is given, takes the API from the RFC 8707 ``resource`` parameter. HTTP Basic client
credentials are form-encoded before base64 (RFC 6749 §2.3.1). Plain httpx, real HTTP.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest

from tests.idp.devkit import AGENT_SECRET, API, MGMT_SECRET, bearer, post
from vaultborn.idp.devserver.server import RunningDevIdP

HOSTILE = pytest.mark.robustness("hostile input: token requests")
NO_AUDIENCE = "No audience parameter was provided, and no default audience has been configured"


def _token(idp: RunningDevIdP, *, json: Any = None, data: Any = None, **kw: Any) -> httpx.Response:
    return post(idp.base_url + "oauth/token", json=json, data=data, **kw)


def _agent(**fields: Any) -> dict[str, Any]:
    return {
        "grant_type": "client_credentials",
        "client_id": "agent",
        "client_secret": AGENT_SECRET,
        **fields,
    }


def _aud(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return jwt.decode(response.json()["access_token"], options={"verify_signature": False})["aud"]


@pytest.mark.parametrize("encoding", ["json", "data"])
def test_resource_names_the_api_when_there_is_no_audience(
    dev_idp: RunningDevIdP, encoding: str
) -> None:
    response = _token(dev_idp, **{encoding: _agent(resource=API)})
    assert _aud(response) == API
    assert response.json()["scope"] == "read:whoami"
    whoami = httpx.get(
        dev_idp.base_url + "api/protected/whoami",
        headers=bearer(response.json()["access_token"]),
        verify=False,  # noqa: S501 - plain HTTP on loopback
    )
    assert whoami.status_code == 200, whoami.text


def test_resource_with_client_secret_basic(dev_idp: RunningDevIdP) -> None:
    basic = base64.b64encode(f"agent:{AGENT_SECRET}".encode()).decode()
    response = _token(
        dev_idp,
        data={"grant_type": "client_credentials", "resource": API},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert _aud(response) == API


def test_audience_wins_over_resource(dev_idp: RunningDevIdP) -> None:
    mgmt = {"client_id": "mgmt", "client_secret": MGMT_SECRET}
    both = _agent(**mgmt, audience=dev_idp.management_audience, resource=API)
    assert _aud(_token(dev_idp, json=both)) == dev_idp.management_audience
    # audience is checked first: a resource beside it is not even looked at.
    odd = _agent(**mgmt, audience=dev_idp.management_audience, resource="not a uri")
    assert _aud(_token(dev_idp, data=odd)) == dev_idp.management_audience


def test_an_empty_audience_is_absent_so_resource_counts(dev_idp: RunningDevIdP) -> None:
    assert _aud(_token(dev_idp, data=_agent(audience="", resource=API))) == API


def test_a_resource_without_a_grant_is_403(dev_idp: RunningDevIdP) -> None:
    for resource in (dev_idp.management_audience, "https://unknown.example.com/api"):
        response = _token(dev_idp, json=_agent(resource=resource))
        assert response.status_code == 403
        body = response.json()
        assert body["error"] == "access_denied"
        assert body["error_description"].startswith(
            f'Client is not authorized to access "{resource}". '
            'You need to create a "client-grant" associated to this API. See: '
        )


def test_a_resource_narrows_scopes_as_audience_does(dev_idp: RunningDevIdP) -> None:
    response = _token(dev_idp, json=_agent(resource=API, scope="read:whoami write:all"))
    assert response.status_code == 403
    assert response.json()["error_description"] == "Client has not been granted scopes: write:all"


@HOSTILE
@pytest.mark.parametrize(
    "resource",
    [
        "api.example.com",  # no scheme: a relative reference
        "/api",
        "https://api.example.com#frag",  # RFC 8707 §2: no fragment
        "https://api.example.com/a b",
        "https://api.example.com/\u00e9",
        "https://api.example.com/%zz",
        "1https://api.example.com",
        ":no-scheme",
        "https://api.example.com\n",
    ],
)
def test_a_resource_that_is_not_an_absolute_uri_is_invalid_target(
    dev_idp: RunningDevIdP, resource: str
) -> None:
    for encoding in ("json", "data"):
        response = _token(dev_idp, **{encoding: _agent(resource=resource)})
        assert response.status_code == 400, (encoding, response.text)
        assert response.json()["error"] == "invalid_target"
        assert resource.strip() not in response.json()["error_description"]


@HOSTILE
@pytest.mark.parametrize("resource", [[API], [API, API], 7, {"uri": API}, True])
def test_a_resource_that_is_not_one_string_is_invalid_target(
    dev_idp: RunningDevIdP, resource: Any
) -> None:
    response = _token(dev_idp, json=_agent(resource=resource))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_an_absolute_uri_that_is_no_url_is_a_valid_resource(dev_idp: RunningDevIdP) -> None:
    # urn:… is an absolute URI (RFC 8707 allows any); the client has no grant on it, so 403.
    response = _token(dev_idp, json=_agent(resource="urn:example:api"))
    assert response.status_code == 403 and response.json()["error"] == "access_denied"


def test_neither_audience_nor_resource_is_403(dev_idp: RunningDevIdP) -> None:
    for body in (_agent(), _agent(resource=""), _agent(audience="", resource="")):
        response = _token(dev_idp, data=body)
        assert response.status_code == 403
        assert response.json() == {"error": "access_denied", "error_description": NO_AUDIENCE}


def test_a_bad_resource_from_a_bad_client_is_still_401(dev_idp: RunningDevIdP) -> None:
    body = _agent(client_secret="wrong-" + AGENT_SECRET, resource="not a uri")
    response = _token(dev_idp, json=body)
    assert response.status_code == 401
    assert response.json() == {"error": "access_denied", "error_description": "Unauthorized"}


# -- HTTP Basic: RFC 6749 §2.3.1 -----------------------------------------------------------------


@pytest.fixture(scope="module")
def odd_client(http: httpx.Client, mgmt: str) -> tuple[str, str]:
    """A client whose id and secret hold ``:``, ``+``, ``%``, spaces and non-ASCII."""
    client_id = f"odd:id+{secrets.token_hex(4)} é"
    secret = f"s3cret:with+plus%25 and space/é-{secrets.token_urlsafe(24)}"
    created = http.post(
        "api/v2/clients",
        json={"name": "odd", "client_id": client_id, "client_secret": secret},
        headers=bearer(mgmt),
    )
    assert created.status_code == 201, created.text
    grant = http.post(
        "api/v2/client-grants",
        json={"client_id": client_id, "audience": API, "scope": ["read:whoami"]},
        headers=bearer(mgmt),
    )
    assert grant.status_code == 201, grant.text
    return client_id, secret


def _basic(user: str, password: str) -> dict[str, str]:
    raw = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def test_basic_credentials_are_form_decoded(
    dev_idp: RunningDevIdP, odd_client: tuple[str, str]
) -> None:
    client_id, secret = odd_client
    form = {"grant_type": "client_credentials", "audience": API}
    encoded = _basic(quote_plus(client_id), quote_plus(secret))
    response = _token(dev_idp, data=form, headers=encoded)
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["azp"] == client_id
    # %20 for a space is as good as + (both are form-encoding of a space).
    spaced = _basic(quote_plus(client_id).replace("+", "%20"), quote_plus(secret))
    assert _token(dev_idp, data=form, headers=spaced).status_code == 200


@HOSTILE
def test_basic_credentials_sent_unencoded_are_refused(
    dev_idp: RunningDevIdP, odd_client: tuple[str, str]
) -> None:
    client_id, secret = odd_client
    form = {"grant_type": "client_credentials", "audience": API}
    # Raw: the id's ":" splits it early, and the secret's "+" and "%25" decode to other text.
    for user, password in [
        (client_id, secret),
        (quote_plus(client_id), secret),
    ]:
        response = _token(dev_idp, data=form, headers=_basic(user, password))
        assert response.status_code == 401, response.text
        assert secret not in response.text


@HOSTILE
@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!",  # not base64
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
        "Basic " + base64.b64encode(b"agent:%ff%fe").decode(),  # escapes that are not UTF-8
    ],
)
def test_basic_headers_that_do_not_decode_are_not_credentials(
    dev_idp: RunningDevIdP, header: str
) -> None:
    response = _token(
        dev_idp,
        data={"grant_type": "client_credentials", "audience": API},
        headers={"Authorization": header},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Missing required parameter: client_id",
    }
