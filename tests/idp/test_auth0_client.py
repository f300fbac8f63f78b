"""The Management API client: unit tests over a mock transport (integration: test_devserver_*)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.idp.devkit import API, CONNECTION, ENV, Clock
from tests.idp.jwtkit import NOW, Signer
from tests.idp.support import M2M_REF, MOCK_DOMAIN, SECRET, MockTokenEndpoint, m2m_vault
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.idp.errors import (
    IdPAuthenticationFailed,
    IdPConflict,
    IdPNotFound,
    IdPRateLimited,
    IdPUnavailable,
)
from vaultborn.idp.http import HttpRetry, IdPHttp
from vaultborn.idp.tokens import TokenSource
from vaultborn.idp.verify import unverified_claims
from vaultborn.vault.secret import Secret

PASSWORD = "Pw-9c2f1e7a-Break-glass-password"
TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class MockManagement:
    """Just enough of ``/api/v2`` to test the client's plumbing; records every request."""

    def __init__(self, signer: Signer) -> None:
        self.tokens = MockTokenEndpoint(signer, clients={"mgmt": SECRET})
        self.requests: list[httpx.Request] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.reject_next_token = False
        self.methods_answer: Any = []
        """What ``GET …/authentication-methods`` answers."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return self.tokens.handler(request)
        self.requests.append(request)
        if self.reject_next_token:
            self.reject_next_token = False
            return httpx.Response(401, json={"statusCode": 401, "message": "Expired token"})
        assert request.headers["authorization"].startswith("Bearer ey")
        path = request.url.path.removeprefix("/api/v2/")
        body = json.loads(request.content) if request.content else {}
        if (request.method, path) == ("POST", "users"):
            if any(u["email"] == body["email"] for u in self.users.values()):
                conflict = {"statusCode": 409, "error": "Conflict"}
                return httpx.Response(409, json={**conflict, "message": "The user already exists."})
            user = {"user_id": f"auth0|{len(self.users) + 1}", "email": body["email"]}
            self.users[user["user_id"]] = user
            return httpx.Response(201, json=user)
        if (request.method, path) == ("GET", "users-by-email"):
            email = request.url.params["email"]
            return httpx.Response(200, json=[u for u in self.users.values() if u["email"] == email])
        if path.endswith("/enrollments"):
            return httpx.Response(200, json={"not": "a list"})
        if (request.method, path.rpartition("/")[2]) == ("GET", "authentication-methods"):
            return httpx.Response(200, json=self.methods_answer)
        if request.method == "GET" and path.startswith("users/"):
            return httpx.Response(200, json=self.users[path.removeprefix("users/")])
        if path.endswith("authentication-methods"):
            return httpx.Response(201, json={"id": "totp|1", "type": "totp"})
        if path == "guardian/enrollments/ticket":
            return httpx.Response(200, json={"ticket_id": "t1", "ticket_url": "https://x/t1"})
        return httpx.Response(200, json={"weird": True})


@pytest.fixture
def mock(home: Path) -> tuple[Auth0ManagementClient, MockManagement]:
    server = MockManagement(Signer("k1"))
    client = httpx.Client(transport=httpx.MockTransport(server))
    vault = m2m_vault(home, client_id="mgmt")
    tokens = TokenSource(vault, domain=MOCK_DOMAIN, http=client, clock=lambda: NOW)
    http = IdPHttp(client, policy=HttpRetry(attempts=1))
    mgmt = Auth0ManagementClient(
        MOCK_DOMAIN, tokens, client_id="mgmt", secret_ref=M2M_REF, http=http
    )
    return mgmt, server


def test_management_token_has_the_management_audience(
    mock: tuple[Auth0ManagementClient, MockManagement],
) -> None:
    mgmt, server = mock
    mgmt.users_by_email("nobody@example.com")
    mgmt.users_by_email("nobody@example.com")
    assert [b["audience"] for b in server.tokens.bodies] == [MOCK_DOMAIN + "api/v2/"]


def test_create_user_then_duplicate_conflicts_and_lookup_finds_it(
    mock: tuple[Auth0ManagementClient, MockManagement],
) -> None:
    mgmt, server = mock
    user = mgmt.create_user("a@example.com", Secret(PASSWORD), "Username-Password-Authentication")
    assert user["user_id"] == "auth0|1" and PASSWORD not in json.dumps(user)
    sent = json.loads(server.requests[0].content)
    assert sent["password"] == PASSWORD and PASSWORD not in str(server.requests[0].url)
    with pytest.raises(IdPConflict) as caught:
        mgmt.create_user("a@example.com", Secret(PASSWORD), "Username-Password-Authentication")
    assert caught.value.status == 409 and PASSWORD not in str(caught.value)
    assert [u["user_id"] for u in mgmt.users_by_email("a@example.com")] == ["auth0|1"]
    assert mgmt.get_user("auth0|1")["email"] == "a@example.com"
    assert server.requests[-1].url.raw_path == b"/api/v2/users/auth0%7C1"


def test_a_401_drops_the_cached_token_and_retries_once(
    mock: tuple[Auth0ManagementClient, MockManagement],
) -> None:
    mgmt, server = mock
    mgmt.users_by_email("x@example.com")
    server.reject_next_token = True
    assert mgmt.users_by_email("x@example.com") == []
    assert server.tokens.count == 2


def test_a_second_401_is_raised(mock: tuple[Auth0ManagementClient, MockManagement]) -> None:
    mgmt, server = mock
    server.tokens.clients["mgmt"] = "changed"
    with pytest.raises(IdPAuthenticationFailed):
        mgmt.users_by_email("x@example.com")


def test_totp_seed_goes_only_into_the_body(
    mock: tuple[Auth0ManagementClient, MockManagement],
) -> None:
    mgmt, server = mock
    assert mgmt.add_totp_authentication_method("auth0|1", Secret(TOTP_SEED))["type"] == "totp"
    request = server.requests[-1]
    assert json.loads(request.content) == {
        "type": "totp",
        "name": "vaultborn",
        "totp_secret": TOTP_SEED,
    }
    assert TOTP_SEED not in str(request.url) and TOTP_SEED not in str(request.headers)
    assert mgmt.create_enrollment_ticket("auth0|1")["ticket_url"] == "https://x/t1"


def test_answers_of_the_wrong_shape_are_unavailable(
    mock: tuple[Auth0ManagementClient, MockManagement],
) -> None:
    mgmt, _ = mock
    with pytest.raises(IdPUnavailable, match="JSON list"):
        mgmt.enrollments("auth0|1")


METHOD = {"id": "totp|1", "type": "totp", "confirmed": True, "created_at": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "answer",
    [
        [METHOD],
        {"start": 0, "limit": 50, "total": 1, "authenticators": [METHOD]},
    ],
    ids=["bare-list", "envelope"],
)
def test_authentication_methods_take_the_list_or_the_paging_envelope(
    mock: tuple[Auth0ManagementClient, MockManagement], answer: Any
) -> None:
    mgmt, server = mock
    server.methods_answer = answer
    assert mgmt.authentication_methods("auth0|1") == [METHOD]
    assert server.requests[-1].url.raw_path == b"/api/v2/users/auth0%7C1/authentication-methods"


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        ({"start": 0, "limit": 1, "total": 2, "authenticators": [METHOD]}, "answered 1 of 2"),
        ({"start": 0, "limit": 50, "total": 1, "methods": [METHOD]}, "JSON list"),
        ({"start": 0, "limit": 50, "total": 1, "authenticators": ["totp"]}, "JSON list"),
        ({"authenticators": [METHOD]}, "JSON list"),
    ],
    ids=["a-partial-page", "another-items-key", "items-not-objects", "no-envelope-fields"],
)
def test_envelopes_that_hide_or_lack_items_are_unavailable(
    mock: tuple[Auth0ManagementClient, MockManagement], answer: Any, match: str
) -> None:
    mgmt, server = mock
    server.methods_answer = answer
    with pytest.raises(IdPUnavailable, match=match):
        mgmt.authentication_methods("auth0|1")


# -- against the real dev IdP over HTTP ---------------------------------------------------------


@pytest.fixture
def live(dev_idp: RunningDevIdP, mgmt_secret: str, home: Path) -> Iterator[Auth0ManagementClient]:
    vault = m2m_vault(home, secret=mgmt_secret, client_id="mgmt")
    with (
        TokenSource(vault, domain=dev_idp.base_url) as tokens,
        Auth0ManagementClient(
            dev_idp.base_url, tokens, client_id="mgmt", secret_ref=M2M_REF
        ) as client,
    ):
        yield client


def _email() -> str:
    return f"agent-{secrets.token_hex(4)}@example.com"


def test_user_lifecycle_on_the_dev_idp(live: Auth0ManagementClient, dev_idp: RunningDevIdP) -> None:
    email = _email()
    user = live.create_user(email, Secret(PASSWORD), CONNECTION)
    assert user["user_id"].startswith("auth0|") and PASSWORD not in json.dumps(user)
    with pytest.raises(IdPConflict) as caught:
        live.create_user(email, Secret(PASSWORD), CONNECTION)
    assert caught.value.status == 409 and "The user already exists." in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert [u["user_id"] for u in live.users_by_email(email)] == [user["user_id"]]
    assert live.get_user(user["user_id"])["email"] == email
    with pytest.raises(IdPNotFound):
        live.get_user("auth0|" + "0" * 24)

    ticket = live.create_enrollment_ticket(user["user_id"])
    assert ticket["ticket_url"].startswith(dev_idp.base_url + "guardian/enroll?ticket=")
    assert live.enrollments(user["user_id"]) == []

    method = live.add_totp_authentication_method(user["user_id"], Secret(TOTP_SEED))
    assert method["type"] == "totp" and TOTP_SEED not in json.dumps(method)
    methods = live.authentication_methods(user["user_id"])
    assert [m["type"] for m in methods] == ["totp"] and TOTP_SEED not in json.dumps(methods)
    assert len(live.enrollments(user["user_id"])) == 1


def test_a_client_whose_secret_was_born_in_the_vault_gets_tokens(
    live: Auth0ManagementClient, dev_idp: RunningDevIdP, home: Path
) -> None:
    born = "vault-born-" + secrets.token_urlsafe(24)
    created = live.create_client("ci agent", Secret(born))
    assert born not in json.dumps(created) and created["client_id"]
    grant = live.create_client_grant(created["client_id"], API, ["read:whoami"])
    assert grant["audience"] == API and grant["scope"] == ["read:whoami"]
    vault = m2m_vault(home / "other", secret=born, client_id=created["client_id"])
    with TokenSource(vault, domain=dev_idp.base_url) as tokens:
        token = tokens.token(created["client_id"], M2M_REF, API)
    assert unverified_claims(token)["sub"] == f"{created['client_id']}@clients"


def test_429_from_the_dev_idp_is_waited_out(home: Path, tmp_path: Path, mgmt_secret: str) -> None:
    clock = Clock()
    with start_dev_idp(demo_tenant(), db=tmp_path / "idp.db", env=ENV, clock=clock) as idp:
        idp.set_rate_limit(1, 1)
        vault = m2m_vault(home, secret=mgmt_secret, client_id="mgmt")
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            clock.advance(seconds)

        with (
            httpx.Client(timeout=10) as client,
            TokenSource(vault, domain=idp.base_url, http=client, clock=clock) as tokens,
        ):
            http = IdPHttp(client, sleep=sleep, clock=clock)
            mgmt = Auth0ManagementClient(
                idp.base_url, tokens, client_id="mgmt", secret_ref=M2M_REF, http=http
            )
            assert mgmt.users_by_email("nobody@example.com") == []
            assert sleeps and all(0 < s <= 1 for s in sleeps)
            impatient = Auth0ManagementClient(
                idp.base_url,
                tokens,
                client_id="mgmt",
                secret_ref=M2M_REF,
                http=IdPHttp(client, policy=HttpRetry(max_rate_limit_wait=0), clock=clock),
            )
            mgmt.users_by_email("nobody@example.com")
            with pytest.raises(IdPRateLimited) as caught:
                impatient.users_by_email("nobody@example.com")
    assert 0 < caught.value.retry_after <= 1 and "429" in str(caught.value)
