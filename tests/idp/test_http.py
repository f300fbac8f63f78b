"""Retries and error mapping of ``idp.http`` over httpx.MockTransport: no sleeps, fixed clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from email.utils import formatdate

import httpx
import pytest

from tests.idp.jwtkit import NOW
from vaultborn.core.errors import TransientError, UsageError
from vaultborn.idp.errors import (
    IdPAuthenticationFailed,
    IdPConflict,
    IdPForbidden,
    IdPNotFound,
    IdPRateLimited,
    IdPRequestError,
    IdPUnavailable,
)
from vaultborn.idp.http import AsyncIdPHttp, HttpRetry, IdPHttp, base_url

pytestmark = pytest.mark.robustness("fault: IdP HTTP client")

URL = "https://tenant.example.com/api/v2/users"
SECRET = "pw-ZQ7v1Wk0-very-secret"
Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests from a list, records them."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers: Iterator[httpx.Response | Exception] = iter(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        return answer


def make(script: Script, **policy: float) -> tuple[IdPHttp, list[float]]:
    sleeps: list[float] = []
    http = IdPHttp(
        httpx.Client(transport=httpx.MockTransport(script)),
        policy=HttpRetry(**policy),  # type: ignore[arg-type]
        sleep=sleeps.append,
        clock=lambda: NOW,
        rng=random.Random(7),  # noqa: S311,
    )
    return http, sleeps


def ok(body: object = None) -> httpx.Response:
    return httpx.Response(200, json={"ok": True} if body is None else body)


def test_429_with_x_ratelimit_reset_waits_until_the_reset_then_succeeds() -> None:
    script = Script(httpx.Response(429, headers={"x-ratelimit-reset": str(int(NOW) + 3)}), ok())
    http, sleeps = make(script)
    assert http.request("GET", URL) == {"ok": True}
    assert sleeps == [3.0] and len(script.requests) == 2


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": formatdate(NOW + 5, usegmt=True)}, 5.0),
        ({"retry-after": "2", "x-ratelimit-reset": str(int(NOW) + 9)}, 2.0),
        ({"x-ratelimit-reset": str(int(NOW) - 100)}, 0.0),
    ],
)
def test_429_honours_retry_after(headers: dict[str, str], wait: float) -> None:
    http, sleeps = make(Script(httpx.Response(429, headers=headers), ok()))
    http.request("GET", URL)
    assert sleeps == [wait]


def test_429_without_hints_backs_off_with_jitter() -> None:
    http, sleeps = make(Script(httpx.Response(429), ok()), backoff=1.0)
    http.request("GET", URL)
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 1.0


def test_429_beyond_the_budget_raises_rate_limited_at_once() -> None:
    body = {"statusCode": 429, "error": "Too Many Requests", "message": "Global limit reached"}
    reset = {"x-ratelimit-reset": str(int(NOW) + 120)}
    script = Script(httpx.Response(429, json=body, headers=reset))
    http, sleeps = make(script)
    with pytest.raises(IdPRateLimited) as caught:
        http.request("GET", URL)
    assert caught.value.retry_after == 120 and isinstance(caught.value, TransientError)
    assert sleeps == [] and len(script.requests) == 1
    assert "Global limit reached" in str(caught.value) and "429" in str(caught.value)


def test_429_spends_the_waiting_budget_then_gives_up() -> None:
    reset = {"x-ratelimit-reset": str(int(NOW) + 10)}
    script = Script(*[httpx.Response(429, headers=reset)] * 4)
    http, sleeps = make(script, max_rate_limit_wait=25)
    with pytest.raises(IdPRateLimited):
        http.request("GET", URL)
    assert sleeps == [10.0, 10.0] and len(script.requests) == 3


def test_503_then_success() -> None:
    script = Script(httpx.Response(503, text="upstream down"), ok())
    http, sleeps = make(script, backoff=0.5)
    assert http.request("POST", URL, json={"a": 1}) == {"ok": True}
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5


def test_5xx_backoff_grows_and_is_bounded_then_unavailable() -> None:
    script = Script(*[httpx.Response(500, json={"statusCode": 500, "message": "boom"})] * 5)
    http, sleeps = make(script, attempts=5, backoff=1.0, max_backoff=3.0)
    with pytest.raises(IdPUnavailable) as caught:
        http.request("GET", URL)
    assert len(script.requests) == 5 and len(sleeps) == 4
    bounds = [(0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (1.5, 3.0)]
    assert all(lo <= s <= hi for s, (lo, hi) in zip(sleeps, bounds, strict=True))
    assert str(caught.value) == f"GET {URL} → 500: boom"


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (httpx.ConnectError("Connection refused"), "failed (ConnectError)"),
        (httpx.ReadTimeout("read timed out"), "timed out (ReadTimeout)"),
    ],
)
def test_transport_failures_are_retried_then_unavailable(exc: Exception, says: str) -> None:
    script = Script(exc, exc, exc, exc)
    http, sleeps = make(script)
    with pytest.raises(IdPUnavailable) as caught:
        http.request("GET", URL)
    assert says in str(caught.value) and len(script.requests) == 4 and len(sleeps) == 3


def test_a_connection_error_then_success() -> None:
    http, _ = make(Script(httpx.ConnectError("refused"), ok()))
    assert http.request("GET", URL) == {"ok": True}


def mgmt(status: int, error: str, message: str, code: str = "") -> dict[str, object]:
    body: dict[str, object] = {"statusCode": status, "error": error, "message": message}
    return {**body, "errorCode": code} if code else body


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (401, {"error": "access_denied", "error_description": "Unauthorized"},
         IdPAuthenticationFailed, "access_denied"),
        (403, mgmt(403, "Forbidden", "Insufficient scope", "insufficient_scope"),
         IdPForbidden, "insufficient_scope"),
        (404, mgmt(404, "Not Found", "The user does not exist.", "inexistent_user"),
         IdPNotFound, "inexistent_user"),
        (409, mgmt(409, "Conflict", "The user already exists.", "auth0_idp_error"),
         IdPConflict, "auth0_idp_error"),
        (400, mgmt(400, "Bad Request", "Payload validation error"), IdPRequestError, "Bad Request"),
        (422, "<html>nope</html>", IdPRequestError, ""),
    ],
)  # fmt: skip
def test_4xx_maps_to_its_type_without_retry(
    status: int, body: object, cls: type[IdPRequestError], code: str
) -> None:
    response = (
        httpx.Response(status, text=body)
        if isinstance(body, str)
        else httpx.Response(status, json=body)
    )
    script = Script(response)
    http, sleeps = make(script)
    with pytest.raises(IdPRequestError) as caught:
        http.request("POST", URL, json={"password": SECRET})
    assert type(caught.value) is cls and caught.value.status == status
    assert caught.value.error == code and sleeps == [] and len(script.requests) == 1
    if isinstance(body, dict):
        assert str(body.get("message") or body.get("error_description")) in str(caught.value)


def test_messages_hold_no_secret_no_token_no_query_even_when_echoed() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    echo = {"statusCode": 409, "message": f"exists: password={SECRET} auth=Bearer {token}"}
    http, _ = make(Script(httpx.Response(409, json=echo)))
    with pytest.raises(IdPConflict) as caught:
        http.request(
            "POST",
            URL,
            json={"password": SECRET},
            params={"email": "someone@example.com"},
            headers={"Authorization": f"Bearer {token}"},
            redact=[SECRET],
        )
    text = str(caught.value)
    assert SECRET not in text and token not in text and "someone@example.com" not in text
    assert "<redacted>" in text and "\n" not in text


def test_non_json_success_is_unavailable() -> None:
    http, _ = make(Script(httpx.Response(200, text="<html>login</html>")))
    with pytest.raises(IdPUnavailable, match="not JSON"):
        http.request("GET", URL)


def test_a_redirect_is_not_followed_but_refused() -> None:
    http, _ = make(Script(httpx.Response(302, headers={"location": "https://elsewhere/"})))
    with pytest.raises(IdPUnavailable, match="unexpected status 302"):
        http.request("GET", URL)


def test_not_an_http_url_is_a_usage_error() -> None:
    http = IdPHttp(httpx.Client())
    with pytest.raises(UsageError):
        http.request("GET", "ftp://tenant.example.com/x")


def test_the_async_twin_retries_the_same_way() -> None:
    script = Script(httpx.Response(429, headers={"retry-after": "1"}), httpx.Response(502), ok())
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def run() -> object:
        async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
            http = AsyncIdPHttp(client, sleep=sleep, clock=lambda: NOW, rng=random.Random(1))  # noqa: S311
            return await http.request("GET", URL)

    assert asyncio.run(run()) == {"ok": True}
    assert sleeps[0] == 1.0 and len(sleeps) == 2


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("tenant.us.auth0.com", "https://tenant.us.auth0.com/"),
        ("https://tenant.us.auth0.com", "https://tenant.us.auth0.com/"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
        (" http://127.0.0.1:8080/idp ", "http://127.0.0.1:8080/idp/"),
    ],
)
def test_base_url(given: str, base: str) -> None:
    assert base_url(given) == base


@pytest.mark.parametrize("bad", ["", "ftp://x/", "https://x/?q=1", "http://"])
def test_base_url_refuses(bad: str) -> None:
    with pytest.raises(UsageError):
        base_url(bad)
