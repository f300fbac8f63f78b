"""A vault holding an M2M client secret, and a minimal mock ``/oauth/token`` for unit tests."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.idp.jwtkit import NOW, Signer
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category

M2M_TITLE = "Auth0 M2M — my-agent"
M2M_REF = f"op://ACL/{M2M_TITLE}/credential"
SECRET = "s3cret-ZQ7v1Wk0-agent-client-secret"
MOCK_DOMAIN = "https://tenant.example.com/"


def m2m_vault(
    home: Path, *, secret: str = SECRET, client_id: str = "agent", title: str = M2M_TITLE
) -> LocalVault:
    """A local vault with an API Credential item: ``username`` = client id, ``credential``."""
    vault = LocalVault(home)
    assignments = [parse_assignment(f"credential={secret}")]
    if client_id:
        assignments.append(parse_assignment(f"username={client_id}"))
    vault.create_item(
        "ACL",
        ItemSpec(title=title, category=Category.API_CREDENTIAL, assignments=tuple(assignments)),
    )
    return vault


class CountingVault:
    """Delegates to a vault and counts ``read`` calls."""

    def __init__(self, inner: LocalVault) -> None:
        self.inner, self.reads = inner, 0
        self.backend = inner.backend

    def read(self, ref: Any) -> Any:
        self.reads += 1
        return self.inner.read(ref)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class MockTokenEndpoint:
    """``POST /oauth/token`` issuing RS256 JWTs, counting requests; slow on purpose if asked."""

    def __init__(
        self,
        signer: Signer,
        *,
        clients: dict[str, str],
        clock: Callable[[], float] = lambda: NOW,
        expires_in: int = 3600,
        delay: float = 0.0,
        echo_secret: bool = False,
    ) -> None:
        self.signer, self.clients, self.clock = signer, clients, clock
        self.expires_in, self.delay, self.echo_secret = expires_in, delay, echo_secret
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return len(self.bodies)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path == "/oauth/token"
        body = json.loads(request.content)
        with self._lock:
            self.bodies.append(body)
        if self.clients.get(body.get("client_id")) != body.get("client_secret"):
            said = f"bad secret {body.get('client_secret')}" if self.echo_secret else "Unauthorized"
            return httpx.Response(401, json={"error": "access_denied", "error_description": said})
        now = int(self.clock())
        claims = {
            "iss": MOCK_DOMAIN,
            "sub": f"{body['client_id']}@clients",
            "aud": body["audience"],
            "iat": now,
            "exp": now + self.expires_in,
            "gty": "client-credentials",
        }
        token = self.signer.mint(claims)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        return httpx.Response(200, json=answer)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.delay:
            time.sleep(self.delay)
        return self._answer(request)

    async def ahandler(self, request: httpx.Request) -> httpx.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._answer(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.ahandler))
