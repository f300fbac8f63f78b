"""Helpers for tests against the real dev IdP over HTTP on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from vaultborn.idp.devserver.server import RunningDevIdP

MGMT_SECRET = "mgmt-client-secret-9Xq2Lw7Rz4Tn8Kb3Vd6Y"
AGENT_SECRET = "agent-client-secret-4Hs8Pm2Qa7Wc5Ne1Jx9U"
API = "https://api.example.com"
CONNECTION = "Username-Password-Authentication"
PASSWORD = "Correct-Horse-7-battery"
ENV = {"MGMT_SECRET": MGMT_SECRET, "AGENT_SECRET": AGENT_SECRET}


class Clock:
    """A settable clock for servers whose time the test drives."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def get(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.get`` without loading CA certificates (plain HTTP on loopback; 50 ms saved)."""
    return httpx.get(url, verify=False, **kwargs)  # noqa: S501


def post(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.post`` without loading CA certificates (plain HTTP on loopback)."""
    return httpx.post(url, verify=False, **kwargs)  # noqa: S501


def client(base_url: str) -> httpx.Client:
    """An ``httpx.Client`` on ``base_url`` (plain HTTP on loopback)."""
    return httpx.Client(base_url=base_url, verify=False, timeout=10)  # noqa: S501


def get_token(
    idp: RunningDevIdP, client_id: str, secret: str, audience: str, **extra: str
) -> dict[str, Any]:
    """POST /oauth/token (JSON) and return the answer, asserting 200."""
    body = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "audience": audience,
        **extra,
    }
    response = post(idp.base_url + "oauth/token", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def mgmt_token(idp: RunningDevIdP, secret: str = MGMT_SECRET, **extra: str) -> str:
    """A Management API token for the demo tenant's ``mgmt`` client."""
    return str(get_token(idp, "mgmt", secret, idp.management_audience, **extra)["access_token"])


def agent_token(idp: RunningDevIdP, secret: str = AGENT_SECRET) -> str:
    """A demo-API token for the demo tenant's ``agent`` client."""
    return str(get_token(idp, "agent", secret, API)["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_user(http: httpx.Client, token: str, email: str, password: str = PASSWORD) -> Any:
    """POST /api/v2/users, asserting 201; returns the user object."""
    response = http.post(
        "api/v2/users",
        json={"email": email, "password": password, "connection": CONNECTION},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    return response.json()


def create_ticket(http: httpx.Client, token: str, user_id: str) -> Any:
    """POST /api/v2/guardian/enrollments/ticket, asserting 200; returns the ticket object."""
    response = http.post(
        "api/v2/guardian/enrollments/ticket", json={"user_id": user_id}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return response.json()


def db_bytes(db: Path) -> bytes:
    """Every byte SQLite wrote for ``db`` (the file, its WAL, shared memory and journal)."""
    files = [db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))]
    return b"".join(p.read_bytes() for p in files if p.exists())
