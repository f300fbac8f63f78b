"""Shared httpx plumbing for the IdP clients: bounded retries and Auth0 errors mapped to types.

One logical request is a few HTTP attempts. ``_Attempts`` holds only the decisions (retry,
wait how long, or raise which error) so the sync and async loops stay three lines each:

- **429**: wait for ``Retry-After`` (seconds or an HTTP date) or ``x-ratelimit-reset`` (a UNIX
  timestamp); ``IdPRateLimited(retry_after=…)`` once the attempts or the waiting budget run out.
- **5xx, 408, timeouts, connection failures**: jittered exponential backoff, then
  ``IdPUnavailable``. A retried POST may have landed; callers look up before they create and
  treat a 409 as "already done" (ARCHITECTURE.md, invariant 2).
- **other 4xx**: 401 ``IdPAuthenticationFailed``, 403 ``IdPForbidden``, 404 ``IdPNotFound``,
  409 ``IdPConflict``, else ``IdPRequestError`` — no retry.

Messages name the method, the URL without its query, the status and Auth0's own message from
either error shape (``{error, error_description}`` of ``/oauth/token``, ``{statusCode, error,
message, errorCode}`` of the Management API). Request bodies and header values never appear;
values passed as ``redact`` (and the bearer token) are scrubbed even if the server echoes them.

A form body may be given as a function that makes it: it is called for each attempt, so that a
retried token request carries a fresh client assertion (each may be used once, RFC 7523 §3);
the ``client_secret`` and ``client_assertion`` it holds are scrubbed like ``redact``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from vaultborn.core.errors import UsageError
from vaultborn.core.tls import tls_context
from vaultborn.idp.errors import (
    IdPAuthenticationFailed,
    IdPConflict,
    IdPForbidden,
    IdPNotFound,
    IdPRateLimited,
    IdPRequestError,
    IdPUnavailable,
)

__all__ = ["AsyncIdPHttp", "HttpRetry", "IdPHttp", "auth0_error", "base_url", "endpoint"]

_BY_STATUS: dict[int, type[IdPRequestError]] = {
    401: IdPAuthenticationFailed,
    403: IdPForbidden,
    404: IdPNotFound,
    409: IdPConflict,
}
_MAX_MESSAGE = 200


@dataclass(frozen=True)
class HttpRetry:
    """How hard one logical request tries.

    ``HttpRetry(attempts=1)`` never retries; ``HttpRetry(max_rate_limit_wait=0)`` turns
    every 429 into ``IdPRateLimited`` at once.
    """

    attempts: int = 4
    """HTTP attempts in all, the first one included."""
    backoff: float = 0.5
    """The first backoff in seconds; it doubles per attempt, jittered between half and full."""
    max_backoff: float = 8.0
    """The cap of one backoff."""
    max_rate_limit_wait: float = 30.0
    """Seconds this request may spend waiting on 429s in all."""


def base_url(domain: str) -> str:
    """The IdP's base URL with a trailing slash; a bare Auth0 domain gets ``https://``.

    >>> base_url("tenant.us.auth0.com")
    'https://tenant.us.auth0.com/'

    Raises:
        UsageError: it is not an http(s) URL without query or fragment.
    """
    text = domain.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if (
        url is None
        or url.scheme not in ("http", "https")
        or not url.host
        or url.query
        or url.fragment
    ):
        raise UsageError(
            f"{domain!r} is not an IdP domain (e.g. tenant.us.auth0.com or http://127.0.0.1:8080/)"
        )
    return text if text.endswith("/") else text + "/"


def endpoint(url: httpx.URL | str) -> str:
    """``METHOD``-less, query-less form of ``url`` for messages (a query may hold an email)."""
    u = httpx.URL(url)
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}{u.path}"


def auth0_error(response: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` from either Auth0 error shape; empty strings when there is none."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, Mapping):
        return "", ""
    code = body.get("errorCode") or body.get("error") or ""
    message = body.get("error_description") or body.get("message") or ""
    return (str(code), str(message))


def _scrub(text: str, redact: Iterable[str]) -> str:
    for value in redact:
        if len(value) >= 4:
            text = text.replace(value, "<redacted>")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _wait_from_headers(headers: httpx.Headers, now: float) -> float | None:
    retry_after = headers.get("retry-after", "").strip()
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
    reset = headers.get("x-ratelimit-reset", "").strip()
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


Form = Mapping[str, str] | Callable[[], Mapping[str, str]]
"""A form body, or a function making a fresh one for each attempt."""
_CREDENTIAL_PARAMS = ("client_secret", "client_assertion")


def _form(data: Form | None, attempts: _Attempts) -> Mapping[str, str] | None:
    if not callable(data):
        return data
    made = data()
    attempts.redact += tuple(made[k] for k in _CREDENTIAL_PARAMS if made.get(k))
    return made


class _Attempts:
    """The retry decisions for one logical request; does no I/O."""

    def __init__(
        self,
        method: str,
        url: httpx.URL | str,
        policy: HttpRetry,
        clock: Callable[[], float],
        rng: random.Random,
        redact: Iterable[str],
    ) -> None:
        self.what = f"{method.upper()} {endpoint(url)}"
        self.policy, self.clock, self.rng = policy, clock, rng
        self.redact = tuple(redact)
        self.attempt = 0
        self.rate_limit_waited = 0.0

    def _last(self) -> bool:
        return self.attempt >= self.policy.attempts

    def _backoff(self) -> float:
        full: float = min(self.policy.max_backoff, self.policy.backoff * 2.0 ** (self.attempt - 1))
        return full / 2 + self.rng.uniform(0, full / 2)

    def response(self, response: httpx.Response) -> float | None:
        """None: the response is the answer. A float: wait that long and try again."""
        self.attempt += 1
        status = response.status_code
        if 200 <= status < 300:
            return None
        code, message = auth0_error(response)
        said = f"{self.what} → {status}" + (f": {_scrub(message, self.redact)}" if message else "")
        if status == 429:
            wait = _wait_from_headers(response.headers, self.clock())
            wait = self._backoff() if wait is None else wait
            if self._last() or self.rate_limit_waited + wait > self.policy.max_rate_limit_wait:
                raise IdPRateLimited(f"{said} (retry after {wait:.0f} s)", retry_after=wait)
            self.rate_limit_waited += wait
            return wait
        if status >= 500 or status == 408:
            if self._last():
                raise IdPUnavailable(said)
            return self._backoff()
        if 400 <= status < 500:
            cls = _BY_STATUS.get(status, IdPRequestError)
            raise cls(said, status=status, error=_scrub(code, self.redact))
        raise IdPUnavailable(f"{self.what} → unexpected status {status}")

    def failure(self, exc: httpx.HTTPError) -> float:
        """The wait before the next attempt after a transport failure, or the mapped error."""
        self.attempt += 1
        if isinstance(exc, httpx.UnsupportedProtocol):
            raise UsageError(f"{self.what}: not an http:// or https:// URL") from None
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        if self._last() or not isinstance(exc, httpx.TransportError):
            raise IdPUnavailable(f"{self.what} {kind} ({type(exc).__name__})") from None
        return self._backoff()

    def json(self, response: httpx.Response) -> Any:
        """The 2xx body as JSON (None for 204), or ``IdPUnavailable`` if it is not JSON."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise IdPUnavailable(
                f"{self.what} → {response.status_code} with a body that is not JSON"
            ) from None


def _redactions(headers: Mapping[str, str] | None, redact: Iterable[str]) -> list[str]:
    out = list(redact)
    auth = next((v for k, v in (headers or {}).items() if k.lower() == "authorization"), "")
    if auth:
        out.append(auth.partition(" ")[2] or auth)
    return out


class IdPHttp:
    """Blocking JSON requests to an IdP with the retries and error mapping above.

    >>> http = IdPHttp(httpx.Client(timeout=10))
    >>> http.request("GET", "https://tenant.auth0.com/api/v2/users-by-email",
    ...              params={"email": "a@example.com"}, headers={"Authorization": "Bearer …"})

    Args:
        client: The httpx client (its transport decides where requests go); None makes one,
            which ``close()`` closes.
        policy: Attempts and waits.
        sleep: Called with the seconds to wait; tests pass a recorder.
        clock: UNIX time now, for ``x-ratelimit-reset``.
        rng: Jitter source.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        policy: HttpRetry | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._owns_client = client is None
        self.client = (
            client if client is not None else httpx.Client(timeout=10.0, verify=tls_context())
        )
        self.policy = policy or HttpRetry()
        self.sleep, self.clock = sleep, clock
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)

    def close(self) -> None:
        """Close the httpx client if this object made it (a given client stays the caller's)."""
        if self._owns_client:
            self.client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: Form | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        redact: Iterable[str] = (),
    ) -> Any:
        """Send with retries; the decoded JSON body of the 2xx answer.

        ``json`` sends a JSON body, ``data`` a form-encoded one (RFC 6749's token requests),
        or a function making a fresh form for each attempt.

        Raises:
            IdPError: the mapped failure (see the module docstring).
            UsageError: ``url`` is not http(s).
        """
        attempts = _Attempts(
            method, url, self.policy, self.clock, self.rng, _redactions(headers, redact)
        )
        while True:
            try:
                response = self.client.request(
                    method,
                    url,
                    json=json,
                    data=_form(data, attempts),
                    params=params,
                    headers=headers,
                )
            except httpx.HTTPError as exc:
                self.sleep(attempts.failure(exc))
                continue
            except httpx.InvalidURL:
                raise UsageError(f"{method}: the IdP URL is not a valid URL") from None
            wait = attempts.response(response)
            if wait is None:
                return attempts.json(response)
            self.sleep(wait)


class AsyncIdPHttp:
    """The asyncio twin of ``IdPHttp`` (same arguments; ``sleep`` is awaited)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        policy: HttpRetry | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.policy = policy or HttpRetry()
        self.sleep, self.clock = sleep, clock
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: Form | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        redact: Iterable[str] = (),
    ) -> Any:
        """Send with retries; the decoded JSON body of the 2xx answer (see ``IdPHttp``)."""
        attempts = _Attempts(
            method, url, self.policy, self.clock, self.rng, _redactions(headers, redact)
        )
        while True:
            try:
                response = await self.client.request(
                    method,
                    url,
                    json=json,
                    data=_form(data, attempts),
                    params=params,
                    headers=headers,
                )
            except httpx.HTTPError as exc:
                await self.sleep(attempts.failure(exc))
                continue
            except httpx.InvalidURL:
                raise UsageError(f"{method}: the IdP URL is not a valid URL") from None
            wait = attempts.response(response)
            if wait is None:
                return attempts.json(response)
            await self.sleep(wait)
