"""The dev IdP's Management API v2, over real HTTP, in Auth0's shapes."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.idp.devkit import (
    AGENT_SECRET,
    API,
    CONNECTION,
    PASSWORD,
    agent_token,
    bearer,
    create_user,
    get_token,
    mgmt_token,
    post,
)
from vaultborn.idp.devserver.server import RunningDevIdP
from vaultborn.vault.otp import OtpParameters
from vaultborn.vault.secret import Secret

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _email() -> str:
    return f"user-{secrets.token_hex(4)}@example.com"


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["statusCode"] == status
    return body


def test_create_user_returns_auth0_user_without_password(http: httpx.Client, mgmt: str) -> None:
    email = _email()
    response = http.post(
        "api/v2/users",
        json={"email": email.upper(), "password": PASSWORD, "connection": CONNECTION},
        headers=bearer(mgmt),
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["user_id"].startswith("auth0|") and len(user["user_id"]) == len("auth0|") + 24
    assert user["email"] == email
    assert user["email_verified"] is False
    assert user["identities"] == [
        {
            "connection": CONNECTION,
            "user_id": user["user_id"].removeprefix("auth0|"),
            "provider": "auth0",
            "isSocial": False,
        }
    ]
    assert user["created_at"].endswith("Z") and user["updated_at"].endswith("Z")
    assert PASSWORD not in response.text and "password" not in user


def test_duplicate_user_is_409(http: httpx.Client, mgmt: str) -> None:
    email = _email()
    create_user(http, mgmt, email)
    again = http.post(
        "api/v2/users",
        json={"email": email.title(), "password": PASSWORD, "connection": CONNECTION},
        headers=bearer(mgmt),
    )
    body = _error(again, 409)
    assert body["error"] == "Conflict"
    assert body["message"] == "The user already exists."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "a@example.com", "password": "weak", "connection": CONNECTION},
         "PasswordStrengthError: Password is too weak"),
        ({"email": "a@example.com", "password": "alllowercaseletters", "connection": CONNECTION},
         "PasswordStrengthError: Password is too weak"),
        ({"email": "a@example.com", "password": PASSWORD},
         "Payload validation error: 'Missing required property: connection'."),
        ({"email": "a@example.com", "password": PASSWORD, "connection": "nope"},
         "The connection does not exist."),
        ({"email": 42, "password": PASSWORD, "connection": CONNECTION},
         "Payload validation error: 'Expected type string' on property email."),
    ],
    ids=["too-short", "one-class", "no-connection", "unknown-connection", "email-not-string"],
)  # fmt: skip
def test_invalid_user_bodies_are_400(
    http: httpx.Client, mgmt: str, body: dict[str, Any], message: str
) -> None:
    response = http.post("api/v2/users", json=body, headers=bearer(mgmt))
    assert _error(response, 400)["message"] == message
    assert PASSWORD not in response.text


@pytest.mark.robustness("hostile input: Management API bodies")
@pytest.mark.parametrize(
    "email",
    [
        "nul\x00@example.com",
        "admin@example.com\x00.evil",
        "\u202emoc.elpmaxe@nimda",  # right-to-left override: shows as admin@example.com
        "ad\u2066min@example.com",  # left-to-right isolate
        "ad\u200bmin@example.com",  # zero-width space
        "ad\u200dmin@example.com",  # zero-width joiner
        "\ufeffadmin@example.com",  # zero-width no-break space (BOM)
        "ad\u00admin@example.com",  # soft hyphen
        "a b@example.com",
    ],
    ids=["nul", "nul-inside", "rlo", "lri", "zwsp", "zwj", "bom", "shy", "space"],
)
def test_emails_with_hidden_characters_are_400(http: httpx.Client, mgmt: str, email: str) -> None:
    body = {"email": email, "password": PASSWORD, "connection": CONNECTION}
    response = http.post("api/v2/users", json=body, headers=bearer(mgmt))
    error = _error(response, 400)
    assert error["errorCode"] == "invalid_body"
    assert error["message"] == (
        "Payload validation error: 'Object didn't pass validation for format email' "
        "on property email."
    )
    found = http.get("api/v2/users-by-email", params={"email": email}, headers=bearer(mgmt))
    assert found.status_code == 200 and found.json() == []


def test_users_by_email_is_an_exact_match(http: httpx.Client, mgmt: str) -> None:
    email = _email()
    user = create_user(http, mgmt, email)
    found = http.get("api/v2/users-by-email", params={"email": email}, headers=bearer(mgmt))
    assert found.status_code == 200
    assert [u["user_id"] for u in found.json()] == [user["user_id"]]
    for other in (email.upper(), "nobody@example.com", email[:-1]):
        none = http.get("api/v2/users-by-email", params={"email": other}, headers=bearer(mgmt))
        assert none.json() == []
    assert _error(http.get("api/v2/users-by-email", headers=bearer(mgmt)), 400)


def test_user_by_id_and_404(http: httpx.Client, mgmt: str) -> None:
    user = create_user(http, mgmt, _email())
    got = http.get(f"api/v2/users/{user['user_id']}", headers=bearer(mgmt))
    assert got.status_code == 200 and got.json() == user
    missing = http.get("api/v2/users/auth0|000000000000000000000000", headers=bearer(mgmt))
    body = _error(missing, 404)
    assert body["error"] == "Not Found" and body["message"] == "The user does not exist."


def test_enrollment_ticket(http: httpx.Client, mgmt: str, dev_idp: RunningDevIdP) -> None:
    user = create_user(http, mgmt, _email())
    response = http.post(
        "api/v2/guardian/enrollments/ticket",
        json={"user_id": user["user_id"]},
        headers=bearer(mgmt),
    )
    assert response.status_code == 200, response.text
    ticket = response.json()
    assert set(ticket) == {"ticket_id", "ticket_url"}
    assert ticket["ticket_url"] == f"{dev_idp.base_url}guardian/enroll?ticket={ticket['ticket_id']}"
    stored = dev_idp.context.store.mfa.ticket(ticket["ticket_id"])
    assert stored is not None and stored.user_id == user["user_id"]
    assert stored.usable(dev_idp.context.clock())
    unknown = http.post(
        "api/v2/guardian/enrollments/ticket",
        json={"user_id": "auth0|000000000000000000000000"},
        headers=bearer(mgmt),
    )
    assert _error(unknown, 404)
    assert _error(
        http.post("api/v2/guardian/enrollments/ticket", json={}, headers=bearer(mgmt)), 400
    )


def test_authentication_methods_and_enrollments(
    http: httpx.Client, mgmt: str, dev_idp: RunningDevIdP
) -> None:
    user = create_user(http, mgmt, _email())
    base = f"api/v2/users/{user['user_id']}"
    assert http.get(f"{base}/authentication-methods", headers=bearer(mgmt)).json() == []
    assert http.get(f"{base}/enrollments", headers=bearer(mgmt)).json() == []
    added = http.post(
        f"{base}/authentication-methods",
        json={"type": "totp", "name": "vault", "totp_secret": SEED},
        headers=bearer(mgmt),
    )
    assert added.status_code == 201, added.text
    method = added.json()
    assert method["type"] == "totp" and method["name"] == "vault"
    # Auth0's create answer has no "confirmed" (its schema); the listing says it is confirmed.
    assert "confirmed" not in method
    assert SEED not in added.text
    listed = http.get(f"{base}/authentication-methods", headers=bearer(mgmt)).json()
    assert [(m["id"], m["confirmed"]) for m in listed] == [(method["id"], True)]
    enrollments = http.get(f"{base}/enrollments", headers=bearer(mgmt)).json()
    assert len(enrollments) == 1
    assert enrollments[0]["status"] == "confirmed" and enrollments[0]["type"] == "authenticator"
    assert enrollments[0]["auth_method"] == "authenticator" and enrollments[0]["id"] == method["id"]
    assert http.get(base, headers=bearer(mgmt)).json()["multifactor"] == ["guardian"]
    again = http.post(
        f"{base}/authentication-methods",
        json={"type": "totp", "totp_secret": SEED},
        headers=bearer(mgmt),
    )
    assert _error(again, 409)
    # The IdP verifies codes from the seed it was given (what the break-glass drill relies on).
    now = dev_idp.context.clock()
    code = OtpParameters(seed=Secret(SEED)).code(now)
    assert dev_idp.context.store.mfa.verify_code(user["user_id"], code, now=now) is not None
    deleted = http.delete(f"{base}/authentication-methods/{method['id']}", headers=bearer(mgmt))
    assert deleted.status_code == 204
    assert http.get(f"{base}/enrollments", headers=bearer(mgmt)).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"type": "totp", "totp_secret": "not base32!"},
        {"type": "totp", "totp_secret": "JBSWY3DP"},
        {"type": "totp"},
        {"type": "sms", "totp_secret": SEED},
    ],
)
def test_bad_authentication_methods_are_400(
    http: httpx.Client, mgmt: str, body: dict[str, str]
) -> None:
    user = create_user(http, mgmt, _email())
    response = http.post(
        f"api/v2/users/{user['user_id']}/authentication-methods", json=body, headers=bearer(mgmt)
    )
    assert _error(response, 400)


def test_no_token_is_401(http: httpx.Client) -> None:
    body = _error(http.get("api/v2/users-by-email", params={"email": "a@example.com"}), 401)
    assert body["message"] == "Missing authentication"


@pytest.mark.parametrize("header", ["Bearer garbage", "Bearer a.b.c", "Bearer", "bearer x" * 2000])
def test_bad_tokens_are_401(http: httpx.Client, header: str) -> None:
    response = http.post("api/v2/users", json={}, headers={"Authorization": header})
    assert _error(response, 401)["message"] == "Invalid token"


def test_a_token_for_another_audience_is_401(http: httpx.Client, dev_idp: RunningDevIdP) -> None:
    response = http.get(
        "api/v2/users-by-email",
        params={"email": "a@example.com"},
        headers=bearer(agent_token(dev_idp)),
    )
    assert _error(response, 401)


def test_insufficient_scope_is_403(http: httpx.Client, dev_idp: RunningDevIdP) -> None:
    reader = mgmt_token(dev_idp, scope="read:users")
    response = http.post(
        "api/v2/users",
        json={"email": _email(), "password": PASSWORD, "connection": CONNECTION},
        headers=bearer(reader),
    )
    body = _error(response, 403)
    assert body["error"] == "Forbidden"
    assert body["message"] == "Insufficient scope, expected any of: create:users"
    ok = http.get(
        "api/v2/users-by-email", params={"email": "x@example.com"}, headers=bearer(reader)
    )
    assert ok.status_code == 200


def test_a_new_client_with_a_grant_gets_tokens(
    http: httpx.Client, mgmt: str, dev_idp: RunningDevIdP
) -> None:
    secret = secrets.token_urlsafe(32)
    created = http.post(
        "api/v2/clients",
        json={"name": "reporting agent", "app_type": "non_interactive", "client_secret": secret},
        headers=bearer(mgmt),
    )
    assert created.status_code == 201, created.text
    client = created.json()
    assert secret not in created.text and "client_secret" not in client
    assert client["name"] == "reporting agent" and client["app_type"] == "non_interactive"
    client_id = client["client_id"]
    fetched = http.get(f"api/v2/clients/{client_id}", headers=bearer(mgmt))
    assert fetched.status_code == 200 and secret not in fetched.text
    refused = post(
        dev_idp.base_url + "oauth/token",
        json={"grant_type": "client_credentials", "client_id": client_id,
              "client_secret": secret, "audience": API},
    )  # fmt: skip
    assert refused.status_code == 403
    grant = http.post(
        "api/v2/client-grants",
        json={"client_id": client_id, "audience": API, "scope": ["read:whoami"]},
        headers=bearer(mgmt),
    )
    assert grant.status_code == 201, grant.text
    assert grant.json()["audience"] == API and grant.json()["scope"] == ["read:whoami"]
    duplicate = http.post(
        "api/v2/client-grants",
        json={"client_id": client_id, "audience": API, "scope": []},
        headers=bearer(mgmt),
    )
    assert _error(duplicate, 409)
    answer = get_token(dev_idp, client_id, secret, API)
    assert answer["scope"] == "read:whoami"
    whoami = http.get("api/protected/whoami", headers=bearer(answer["access_token"]))
    assert whoami.status_code == 200 and whoami.json()["client_id"] == client_id


def test_the_dev_idp_does_not_generate_client_secrets(http: httpx.Client, mgmt: str) -> None:
    response = http.post(
        "api/v2/clients", json={"name": "x", "app_type": "non_interactive"}, headers=bearer(mgmt)
    )
    body = _error(response, 400)
    assert "does not generate client secrets" in body["message"]
    short = http.post(
        "api/v2/clients", json={"name": "x", "client_secret": "short"}, headers=bearer(mgmt)
    )
    assert _error(short, 400)


def test_client_and_grant_errors(http: httpx.Client, mgmt: str) -> None:
    assert _error(http.get("api/v2/clients/nope", headers=bearer(mgmt)), 404)
    missing = http.post(
        "api/v2/client-grants",
        json={"client_id": "nope", "audience": API, "scope": []},
        headers=bearer(mgmt),
    )
    assert _error(missing, 404)
    agent_again = http.post(
        "api/v2/clients",
        json={"name": "x", "client_id": "agent", "client_secret": AGENT_SECRET + "-other"},
        headers=bearer(mgmt),
    )
    assert _error(agent_again, 409)


def test_every_management_answer_carries_rate_headers(http: httpx.Client, mgmt: str) -> None:
    for response in (
        http.get("api/v2/users/nobody", headers=bearer(mgmt)),
        http.get("api/v2/users/nobody"),
        http.post("api/v2/users", content=b"{", headers=bearer(mgmt)),
    ):
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
            response.headers
        ), response.status_code
