"""``TokenSource``: M2M access tokens by client credentials, the credential read from the vault.

The request follows the provider's kind (``idp.provider``): Auth0's JSON body with
``audience``, or RFC 6749 §4.4's form body with RFC 8707's ``resource``, the secret sent by
``client_secret_basic`` or ``client_secret_post`` as the provider's metadata advertises. A
client given as a ``ClientKey`` (a reference to its private key) authenticates instead by
``private_key_jwt`` (RFC 7523 §2.2): a form body with a client assertion signed in memory for
that one request (``idp.assertion``), where the provider advertises the method.

For each (provider, client id, audience, scope) the source keeps one token in memory until shortly
before it expires, and makes sure that N callers who find the cache empty at the same moment
cause exactly one token request (single-flight): threads queue on a per-key lock and re-check
the cache; asyncio tasks of one event loop join one in-flight task. The client secret (or key)
is read from the vault by reference for each token request, revealed only into that request's
body (or one signature), and dropped with it; tokens are never written anywhere
(reference/credentials.md §2.1).

A secret the IdP refuses (401) is tried once more as the vault holds it then, and then as the
item's previous value if a rotation keeps one (``vault.previous``): a request that read the
secret just before a rotation reached the IdP, or just after the vault changed and before the
IdP did, still gets its token, so an agent sees no failed request while a rotation runs.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from vaultborn.core.errors import UsageError
from vaultborn.core.tls import tls_context
from vaultborn.idp.assertion import ASSERTION_TYPE, ClientKey, sign_assertion
from vaultborn.idp.errors import IdPAuthenticationFailed, IdPUnavailable, InvalidToken
from vaultborn.idp.http import AsyncIdPHttp, HttpRetry, IdPHttp
from vaultborn.idp.provider import Provider, ProviderMetadata
from vaultborn.idp.verify import unverified_claims
from vaultborn.vault.errors import VaultError
from vaultborn.vault.model import FieldType
from vaultborn.vault.previous import current_and_previous
from vaultborn.vault.protocol import Vault
from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.secret import Secret

__all__ = ["ClientKey", "Credential", "TokenSource", "TokenStats", "client_id_for"]

Credential = str | SecretReference | ClientKey
"""How a client authenticates: a reference to its secret, or a ``ClientKey``."""
CacheKey = tuple[str, str, str, str]
"""(provider base URL, client id, audience, scope)."""


@dataclass
class TokenStats:
    """Counters for tests, ``bench/token_cache.py`` and curious operators."""

    requests: int = 0
    """Token requests sent to the IdP (one per flight, retries not counted)."""
    hits: int = 0
    """Calls answered from the cache, including callers that waited for another's flight."""


@dataclass(frozen=True)
class _Entry:
    token: Secret
    refresh_at: float


@dataclass(frozen=True)
class _Key:
    """A client's private key, read for one request, and the clock to sign by."""

    private_key: Secret
    clock: Callable[[], float]


class TokenSource:
    """Client-credentials tokens, cached and single-flight.

    >>> tokens = TokenSource(vault, domain="https://tenant.us.auth0.com/")
    >>> tokens.token("my-client-id", "op://ACL/Auth0 M2M — my-agent/credential",
    ...              "https://api.example.com")
    Secret(access token of my-client-id for https://api.example.com: <redacted>)
    >>> tokens.token("my-agent", ClientKey("op://ACL/my-agent key/private key"),
    ...              "https://api.example.com")        # private_key_jwt
    >>> TokenSource(vault, provider=Provider("https://idp.example.com", kind="oidc"))

    Args:
        vault: Where client secrets (or keys) are read, by reference, per token request.
        domain: An Auth0 domain (a bare one gets ``https://``); short for
            ``provider=Provider(domain, kind="auth0")``.
        provider: The IdP, of either kind (its discovery document is read on first use).
        http: The client for ``token()``; None makes one (10 s timeout), closed by ``close()``
            (or by leaving a ``with`` block).
        async_http: The client for ``atoken()``; None opens a short-lived one per request,
            so the source works across event loops.
        clock: UNIX time now; decides expiry, and the times of client assertions.
        refresh_margin: Seconds before expiry when a token stops being served (at most half
            its lifetime, so short-lived tokens are still cached).
        policy: Retries of the token request.
        sleep: Waits between retries of ``token()``.
    """

    def __init__(
        self,
        vault: Vault,
        *,
        domain: str | None = None,
        provider: Provider | None = None,
        http: httpx.Client | None = None,
        async_http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 60,
        policy: HttpRetry | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if (provider is None) == (domain is None):
            raise TypeError("TokenSource takes a provider or a domain (one of them)")
        self.vault = vault
        self._view = False
        self._own_provider = provider is None
        self.provider = provider or Provider(str(domain), "auth0", http=http, clock=clock)
        self.domain = self.provider.base
        self.clock, self.refresh_margin, self.policy = clock, refresh_margin, policy
        self._http = IdPHttp(http, policy=policy, sleep=sleep, clock=clock)
        self._async_http = async_http
        self.stats = TokenStats()
        self._cache: dict[CacheKey, _Entry] = {}
        self._guard = threading.Lock()
        self._locks: dict[CacheKey, threading.Lock] = {}
        self._flights: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[CacheKey, asyncio.Task[Secret]]
        ] = weakref.WeakKeyDictionary()

    def reading_with(self, vault: Vault) -> TokenSource:
        """This source, reading client secrets and keys through ``vault``.

        The cache, the single-flight locks, the counters and the HTTP clients are shared: a run
        binds its audited vault here (``Deps.for_run``) and still gets the tokens other runs of
        the process fetched. Closing the view closes nothing.
        """
        view = copy.copy(self)
        view.vault = vault
        view._view = True
        return view

    def close(self) -> None:
        """Forget every cached token and close the httpx client if this source made it."""
        if self._view:
            return
        with self._guard:
            self._cache.clear()
        self._http.close()
        if self._own_provider:
            self.provider.close()

    def __enter__(self) -> TokenSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def token(
        self,
        client_id: str,
        secret_ref: Credential,
        audience: str,
        *,
        scope: str | None = None,
        fallback: bool = True,
    ) -> Secret:
        """An access token for ``audience`` (and ``scope``), from the cache or one request.

        Args:
            client_id: The client (application) id.
            secret_ref: Where its secret is in the vault, or its ``ClientKey``.
            audience: The API's identifier (``audience`` for Auth0, ``resource`` for OIDC).
            scope: Space-separated scopes to ask for; None asks for what the client is granted
                (Auth0) or the provider's default.
            fallback: On a refused secret, try the vault's value again and the item's previous
                value (see the module's docstring); False for a check of exactly this value.

        Raises:
            IdPError: the IdP refused (e.g. ``IdPAuthenticationFailed``) or failed.
            VaultError: the client secret could not be read.
            ConfigurationError: the provider takes neither way the client authenticates.
        """
        key = (self.domain, client_id, audience, scope or "")
        hit = self._cached(key)
        if hit is not None:
            return hit
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._cached(key)
            if hit is not None:
                return hit
            started = self.clock()
            self._count_request()
            meta = self.provider.metadata()
            secret = self._credential(secret_ref, meta)
            try:
                answer = self._send(meta, client_id, secret, audience, scope)
            except IdPAuthenticationFailed:
                if not fallback or isinstance(secret_ref, ClientKey):
                    raise
                answer = self._send_again(meta, client_id, secret_ref, secret, audience, scope)
                if answer is None:
                    raise
            finally:
                del secret
            return self._store(key, meta.token_endpoint, answer, started)

    def _send(
        self,
        meta: ProviderMetadata,
        client_id: str,
        secret: Secret | _Key,
        audience: str,
        scope: str | None,
    ) -> Any:
        request = _request(self.provider, meta, client_id, secret, audience, scope)
        try:
            return self._http.request("POST", meta.token_endpoint, **request)
        finally:
            _forget(request)

    def _send_again(
        self,
        meta: ProviderMetadata,
        client_id: str,
        secret_ref: str | SecretReference,
        refused: Secret | _Key,
        audience: str,
        scope: str | None,
    ) -> Any:
        """The answer to the vault's value now, else to the item's previous value.

        Twice while a rotation is under way (the item keeps a previous value): the IdP may take
        the new value between a read of the vault and the request with the previous one, and
        the second read offers the new value again. A secret that is simply wrong is not sent
        again. None if the IdP takes neither (or the vault has nothing else to offer).
        """
        rotating = False
        for again in (False, True):
            if again and not rotating:
                break
            try:
                current, previous = current_and_previous(self.vault, secret_ref)
            except VaultError:
                return None
            rotating = rotating or previous is not None
            for candidate in (current, previous):
                if candidate is None or (not again and candidate == refused):
                    continue
                try:
                    return self._send(meta, client_id, candidate, audience, scope)
                except IdPAuthenticationFailed:
                    continue
        return None

    async def atoken(
        self,
        client_id: str,
        secret_ref: Credential,
        audience: str,
        *,
        scope: str | None = None,
    ) -> Secret:
        """``token()`` for asyncio: the tasks of one event loop share one in-flight request."""
        key = (self.domain, client_id, audience, scope or "")
        hit = self._cached(key)
        if hit is not None:
            return hit
        loop = asyncio.get_running_loop()
        with self._guard:
            flights = self._flights.setdefault(loop, {})
            task = flights.get(key)
            if task is None:
                task = loop.create_task(self._afetch(key, secret_ref))
                flights[key] = task
                task.add_done_callback(lambda done: _landed(flights, key, done))
            else:
                self.stats.hits += 1
        # A caller that gives up must not cancel the request the others are waiting for.
        return await asyncio.shield(task)

    def invalidate(self, client_id: str, audience: str) -> None:
        """Forget the cached token (e.g. after an API answered 401 to it)."""
        with self._guard:
            for key in [k for k in self._cache if k[1:3] == (client_id, audience)]:
                del self._cache[key]

    async def _afetch(self, key: CacheKey, secret_ref: Credential) -> Secret:
        _, client_id, audience, scope = key
        started = self.clock()
        self._count_request()
        # Discovery and the vault block (HTTP, SQLite, the op CLI): keep the event loop free.
        meta = await asyncio.to_thread(self.provider.metadata)
        secret = await asyncio.to_thread(self._credential, secret_ref, meta)
        request = _request(self.provider, meta, client_id, secret, audience, scope or None)
        try:
            if self._async_http is not None:
                http = AsyncIdPHttp(self._async_http, policy=self.policy, clock=self.clock)
                answer = await http.request("POST", meta.token_endpoint, **request)
            else:
                async with httpx.AsyncClient(timeout=10.0, verify=tls_context()) as client:
                    http = AsyncIdPHttp(client, policy=self.policy, clock=self.clock)
                    answer = await http.request("POST", meta.token_endpoint, **request)
        except IdPAuthenticationFailed:
            if isinstance(secret_ref, ClientKey):
                raise
            # Rare (a rotation under way): the retry blocks, so it runs in a thread.
            answer = await asyncio.to_thread(
                self._send_again, meta, client_id, secret_ref, secret, audience, scope or None
            )
            if answer is None:
                raise
        finally:
            _forget(request)
            del secret
        return self._store(key, meta.token_endpoint, answer, started)

    def _credential(self, given: Credential, meta: ProviderMetadata) -> Secret | _Key:
        """The client secret from the vault, or the client's key for one signature."""
        if not isinstance(given, ClientKey):
            return self.vault.read(given)
        meta.key_auth()  # refuse before reading the key, where the provider takes no key
        return _Key(self.vault.read(given.ref), self.clock)

    def _cached(self, key: CacheKey) -> Secret | None:
        with self._guard:
            entry = self._cache.get(key)
            if entry is None or self.clock() >= entry.refresh_at:
                return None
            self.stats.hits += 1
            return entry.token

    def _count_request(self) -> None:
        with self._guard:
            self.stats.requests += 1

    def _store(self, key: CacheKey, endpoint: str, answer: Any, started: float) -> Secret:
        _, client_id, audience, _ = key
        where = f"POST {endpoint}"
        if not isinstance(answer, Mapping) or not isinstance(answer.get("access_token"), str):
            raise IdPUnavailable(f"{where} answered without an access_token")
        lifetime = answer.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise IdPUnavailable(f"{where} answered without a positive expires_in")
        token = Secret(answer["access_token"], label=f"access token of {client_id} for {audience}")
        expires_at = started + float(lifetime)
        try:
            exp = unverified_claims(token).get("exp")
        except InvalidToken:  # an opaque token: expires_in is all there is
            exp = None
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            expires_at = min(expires_at, float(exp))
        margin = max(0.0, min(self.refresh_margin, (expires_at - started) / 2))
        with self._guard:
            self._cache[key] = _Entry(token, expires_at - margin)
        return token


def _request(
    provider: Provider,
    meta: ProviderMetadata,
    client_id: str,
    secret: Secret | _Key,
    audience: str,
    scope: str | None,
) -> dict[str, Any]:
    """The keyword arguments of ``IdPHttp.request`` for one client-credentials request.

    Auth0: its documented JSON body with ``audience``. OIDC: a form body (RFC 6749 §4.4) with
    ``resource`` (RFC 8707), the secret in HTTP Basic, each part form-encoded first (RFC 6749
    §2.3.1), or in the body where the provider takes only ``client_secret_post``. A key: a form
    body (either kind) with the client id and a client assertion (RFC 7523 §2.2), signed anew
    for each attempt, since a provider takes each assertion once.
    """
    named = {"grant_type": "client_credentials", provider.audience_parameter: audience}
    if scope:
        named["scope"] = scope
    if isinstance(secret, _Key):
        key = secret

        def signed_form() -> dict[str, str]:
            assertion, _ = sign_assertion(
                key.private_key,
                client_id,
                meta.assertion_audience or meta.token_endpoint,
                key.clock(),
                algorithms=meta.assertion_algorithms,
            )
            return {
                **named,
                "client_id": client_id,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion.reveal(),
            }

        return {"data": signed_form}
    if provider.kind == "auth0":
        body = {**named, "client_id": client_id, "client_secret": secret.reveal()}
        return {"json": body, "redact": [secret.reveal()]}
    form = dict(named)
    if meta.client_auth() == "client_secret_post":
        form.update(client_id=client_id, client_secret=secret.reveal())
        return {"data": form, "redact": [secret.reveal()]}
    pair = f"{quote_plus(client_id)}:{quote_plus(secret.reveal())}"
    basic = base64.b64encode(pair.encode()).decode("ascii")
    return {
        "data": form,
        "headers": {"Authorization": f"Basic {basic}"},
        "redact": [secret.reveal(), quote_plus(secret.reveal())],
    }


def _forget(request: dict[str, Any]) -> None:
    """Drop this request's references to the secret (the bodies and the header with it)."""
    for part in request.values():
        if isinstance(part, dict):
            part.clear()
    request.clear()


def _landed(
    flights: dict[CacheKey, asyncio.Task[Secret]], key: CacheKey, task: asyncio.Task[Secret]
) -> None:
    if flights.get(key) is task:
        del flights[key]
    if not task.cancelled():
        task.exception()  # retrieved here, so a flight nobody awaited any more logs nothing


def client_id_for(vault: Vault, ref: Credential) -> str:
    """The client id stored beside a client secret: the item's ``client_id`` or ``username``.

    For ``op://ACL/Auth0 M2M — my-agent/credential`` (an API Credential item) that is the
    item's ``username`` field. A ``client_id`` field wins when both exist.

    Raises:
        UsageError: the item has neither; pass ``--client-id``.
    """
    if isinstance(ref, ClientKey):
        ref = ref.ref
    canonical = vault.resolve(parse_reference(ref) if isinstance(ref, str) else ref)
    item = vault.get_item(canonical.vault, canonical.item)
    for name in ("client_id", "username"):
        field = next((f for f in item.fields if f.matches(name)), None)
        if field is None:
            continue
        if field.type is FieldType.STRING and isinstance(field.value, str) and field.value:
            return field.value.strip()
        if name == "client_id" and field.type.is_secret:
            # A custom field defaults to CONCEALED; a client id is not secret, so read it.
            value = vault.read(item.reference(field)).reveal().strip()
            if value:
                return value
    raise UsageError(
        f"item {item.title!r} has no 'client_id' or 'username' field holding the client id; "
        "pass --client-id"
    )
