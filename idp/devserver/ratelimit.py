"""Auth0-style rate limiting: ``x-ratelimit-*`` headers on every response, 429 past the limit.

One global fixed window per server process: the first request after a window ends opens the
next one, which ends at a whole second (``x-ratelimit-reset`` is a UNIX timestamp, so a
client that sleeps until it always finds the window reset). Over the limit the answer is
Auth0's 429 with ``Retry-After``. Several processes on one database each count their own
requests: the limit is per process, which is what a dev server needs to exercise a client's
back-off.

The middleware is pure ASGI, so it stamps the headers on every response the app sends,
errors included; a crash in the app still gets a 500 carrying them (and is re-raised, so the
server logs it).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaultborn.idp.devserver.tenant import RateLimit

__all__ = ["Decision", "RateLimitMiddleware", "RateLimiter"]


@dataclass(frozen=True)
class Decision:
    """One request's verdict and the header values that go with it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    """UNIX time (whole seconds) at which the current window ends."""

    def headers(self) -> list[tuple[str, str]]:
        """The ``x-ratelimit-*`` headers."""
        return [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(self.remaining)),
            ("x-ratelimit-reset", str(self.reset)),
        ]


class RateLimiter:
    """A fixed-window request counter, adjustable at run time (thread-safe).

    Args:
        limit: Requests per window and the window's length.
        clock: UNIX time now.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self._limit, self._clock = limit, clock
        self._lock = threading.Lock()
        self._window_end = 0.0
        self._count = 0

    @property
    def limit(self) -> RateLimit:
        """The limit in force."""
        return self._limit

    def set(self, requests: int, per_seconds: float) -> None:
        """Change the limit; the next request opens a fresh window."""
        if requests < 1 or per_seconds <= 0:
            raise ValueError("a rate limit needs requests >= 1 and per_seconds > 0")
        with self._lock:
            self._limit = RateLimit(requests, per_seconds)
            self._window_end, self._count = 0.0, 0

    def take(self) -> Decision:
        """Count one request and say whether it may proceed."""
        with self._lock:
            now = self._clock()
            if now >= self._window_end:
                self._window_end = float(math.ceil(now + self._limit.per_seconds))
                self._count = 0
            self._count += 1
            allowed = self._count <= self._limit.requests
            remaining = max(0, self._limit.requests - self._count)
            return Decision(allowed, self._limit.requests, remaining, int(self._window_end))

    def retry_after(self, decision: Decision) -> int:
        """Whole seconds until ``decision``'s window ends (at least 1)."""
        return max(1, math.ceil(decision.reset - self._clock()))


_TOO_MANY = json.dumps(
    {"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached"}
).encode()
_CRASHED = json.dumps(
    {"statusCode": 500, "error": "Internal Server Error", "message": "Internal error"}
).encode()


class RateLimitMiddleware:
    """ASGI middleware applying a ``RateLimiter`` to every HTTP request."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request; answer 429 past the limit, else stamp the headers on the reply."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decision = self.limiter.take()
        if not decision.allowed:
            extra = [("retry-after", str(self.limiter.retry_after(decision)))]
            await _send_json(send, 429, _TOO_MANY, decision.headers() + extra)
            return
        started = False

        async def stamped(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in decision.headers():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception:
            if not started:
                await _send_json(send, 500, _CRASHED, decision.headers())
            raise


async def _send_json(send: Send, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
