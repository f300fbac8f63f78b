"""The agent's side of the chain, measured for a notebook: token calls, claim checks, live codes.

- ``TokenCalls`` counts the IdP's answers to ``POST /oauth/token`` on the wire (httpx
  response hooks on the clients handed to ``idp.tokens.TokenSource``), independently of the
  source's own ``stats``.
- ``token_calls_by_callers`` runs N callers four ways (at once with a source each, one after
  another on one source, asyncio tasks and threads at once on one source) against a cold
  cache and counts the token calls each way caused.
- ``api_checks`` puts the protected API's claim checks side by side with the project's own
  ``JwtVerifier``: the good token, the wrong audience, no token, an altered signature.
- ``live_code`` is the vault's current TOTP code and how long it stays valid (the seed never
  leaves the vault's item).

Every result is counts, statuses, claims and error descriptions; tokens stay ``Secret``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from vaultborn.idp.errors import InvalidToken
from vaultborn.idp.jwks import HttpJwks
from vaultborn.idp.tokens import TokenSource
from vaultborn.idp.verify import JwtVerifier
from vaultborn.vault.model import FieldType
from vaultborn.vault.otp import parse_otpauth_uri
from vaultborn.vault.protocol import Vault
from vaultborn.vault.secret import Secret

__all__ = [
    "MODES",
    "AgentClient",
    "TokenCalls",
    "api_checks",
    "live_code",
    "token_calls_by_callers",
]

MODES = ("one source per caller", "sequential", "concurrent tasks", "concurrent threads")
"""How the callers of ``token_calls_by_callers`` share (or not) one ``TokenSource``."""


class TokenCalls:
    """Token answers from the IdP, counted as they arrive (an httpx response hook)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def hook(self, response: httpx.Response) -> None:
        """Count ``response`` if it answers a token request."""
        request = response.request
        if request.method == "POST" and request.url.path.endswith("/oauth/token"):
            with self._lock:
                self.count += 1

    async def ahook(self, response: httpx.Response) -> None:
        """``hook`` for an ``httpx.AsyncClient``."""
        self.hook(response)


@dataclass(frozen=True)
class AgentClient:
    """The agent's M2M client: its id, the reference of its secret, the API it calls."""

    client_id: str
    secret_ref: str
    audience: str


async def token_calls_by_callers(
    vault: Vault, domain: str, agent: AgentClient, callers: Sequence[int]
) -> list[dict[str, int]]:
    """For each N in ``callers``: the IdP token calls N callers cause, each way of ``MODES``.

    Every count starts from a cold cache (a new ``TokenSource``).
    """
    rows = []
    for n in callers:
        row = {"callers": n}
        for mode in MODES:
            calls = TokenCalls()
            async with httpx.AsyncClient(timeout=30, event_hooks={"response": [calls.ahook]}) as ah:
                with httpx.Client(timeout=30, event_hooks={"response": [calls.hook]}) as h:

                    def source(h: httpx.Client = h, ah: httpx.AsyncClient = ah) -> TokenSource:
                        return TokenSource(vault, domain=domain, http=h, async_http=ah)

                    await _callers(mode, n, source, agent)
            row[mode] = calls.count
        rows.append(row)
    return rows


async def _callers(
    mode: str, n: int, source: Callable[[], TokenSource], agent: AgentClient
) -> None:
    args = (agent.client_id, agent.secret_ref, agent.audience)
    if mode == "one source per caller":
        await asyncio.gather(*(source().atoken(*args) for _ in range(n)))
    elif mode == "sequential":
        shared = source()
        for _ in range(n):
            shared.token(*args)
    elif mode == "concurrent tasks":
        shared = source()
        await asyncio.gather(*(shared.atoken(*args) for _ in range(n)))
    else:
        shared = source()
        barrier = threading.Barrier(n)

        def call() -> None:
            barrier.wait()
            shared.token(*args)

        await asyncio.to_thread(_in_threads, n, call)


def _in_threads(n: int, call: Callable[[], None]) -> None:
    """Run ``call`` in ``n`` threads of its own (a pool would deadlock on the barrier)."""
    threads = [threading.Thread(target=call) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def api_checks(token: Secret, api_url: str, issuer: str, audience: str) -> list[dict[str, Any]]:
    """The protected API and the JWT verifier, each given the token and spoiled copies of it.

    Rows: ``check``, ``status`` (HTTP status or ``verified``/``refused``) and ``answer`` (the
    claims that passed, or the one-line reason for refusing). No token text is returned.
    """
    keys = HttpJwks(issuer + ".well-known/jwks.json")
    rows: list[dict[str, Any]] = []
    try:
        audiences = {"our audience": audience, "another audience": "https://other.example.com"}
        for which, aud in audiences.items():
            label = f"JwtVerifier, {which}"
            try:
                claims = JwtVerifier(issuer=issuer, audience=aud, keys=keys).verify(token)
                rows.append({"check": label, "status": "verified", "answer": _claims(claims)})
            except InvalidToken as refused:
                rows.append({"check": label, "status": "refused", "answer": str(refused)})
    finally:
        keys.close()
    raw = token.reveal()
    altered = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    bearers = {"the agent's token": raw, "no token": None, "signature altered": altered}
    for label, bearer in bearers.items():
        headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
        answer = httpx.get(api_url, headers=headers, timeout=10)
        body = answer.json()
        shown = _claims(body) if answer.status_code == 200 else body.get("error_description")
        row = {"check": f"GET whoami: {label}", "status": answer.status_code, "answer": shown}
        rows.append(row)
    return rows


def _claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims worth showing (all of them are metadata, none is secret)."""
    keep = ("sub", "client_id", "azp", "aud", "scope", "owner", "agent_type", "exp")
    return {k: claims[k] for k in keep if k in claims}


def live_code(
    vault: Vault, vault_name: str, item: str, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """The item's TOTP code now, from the vault, and for how many seconds it stays valid.

    The period is read from the item's OTP field in memory; the seed is never returned.
    """
    full = vault.get_item(vault_name, item, reveal=True)
    field = next((f for f in full.fields if f.type is FieldType.OTP), None)
    if field is None or not isinstance(field.value, Secret):
        raise LookupError(f"item {full.title!r} has no one-time password field")
    period = parse_otpauth_uri(field.value).period
    del full, field
    now = clock()
    code = vault.otp_code(vault_name, item, at=now)
    return {"code": code.reveal(), "valid_for": round(period - now % period, 1), "period": period}
