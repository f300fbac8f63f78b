"""Rate limiting: x-ratelimit-* on every answer, Auth0's 429 past the limit, then recovery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.idp.devkit import ENV, Clock, client
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant

TENANT = """
protected_audience = "https://api.example.com"
rate_limit = { requests = 2, per_seconds = 5 }
[[clients]]
client_id = "agent"
secret_env = "AGENT_SECRET"
audiences = ["https://api.example.com"]
scopes = ["read:whoami"]
"""


@pytest.fixture
def clock() -> Clock:
    return Clock(1_800_000_000.25)


@pytest.fixture
def idp(tmp_path: Path, clock: Clock) -> Iterator[RunningDevIdP]:
    with start_dev_idp(demo_tenant(), db=tmp_path / "idp.db", env=ENV, clock=clock) as server:
        yield server


def _limits(response: httpx.Response) -> tuple[int, int, int]:
    h = response.headers
    return int(h["x-ratelimit-limit"]), int(h["x-ratelimit-remaining"]), int(h["x-ratelimit-reset"])


def test_past_the_limit_is_429_until_the_reset(idp: RunningDevIdP, clock: Clock) -> None:
    idp.set_rate_limit(3, 10)
    with client(idp.base_url) as http:
        answers = [http.get(".well-known/jwks.json") for _ in range(3)]
        reset = 1_800_000_011  # the window ends on a whole second after now + 10
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [_limits(a) for a in answers] == [(3, 2, reset), (3, 1, reset), (3, 0, reset)]
        refused = http.post("oauth/token", json={})
        assert refused.status_code == 429
        assert refused.json() == {
            "statusCode": 429,
            "error": "Too Many Requests",
            "message": "Global limit has been reached",
        }
        assert _limits(refused) == (3, 0, reset)
        assert refused.headers["retry-after"] == "11"
        clock.advance(5)
        assert http.get("no/such/path").status_code == 429
        clock.now = reset
        again = http.get(".well-known/jwks.json")
        assert again.status_code == 200
        assert _limits(again) == (3, 2, reset + 10)


def test_the_tenant_sets_the_limit(tmp_path: Path, clock: Clock) -> None:
    with (
        start_dev_idp(TENANT, db=tmp_path / "idp.db", env=ENV, clock=clock) as idp,
        client(idp.base_url) as http,
    ):
        codes = [http.get(".well-known/openid-configuration").status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_the_default_limit_is_generous(idp: RunningDevIdP) -> None:
    with client(idp.base_url) as http:
        first = http.get(".well-known/openid-configuration")
    limit, remaining, _ = _limits(first)
    assert limit == 1000 and remaining == 999


def test_a_limit_needs_positive_numbers(idp: RunningDevIdP) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        idp.set_rate_limit(0, 1)
