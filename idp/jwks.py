"""Public signing keys by ``kid``: a JWKS fetched, cached, and refreshed at a bounded rate.

``HttpJwks`` reads ``https://{domain}/.well-known/jwks.json``; ``CallableJwks`` takes the same
document from a function (the dev IdP verifying its own tokens in-process). Both cache the keys
for ``ttl`` seconds and refetch at most once per ``min_refresh_interval``, whatever asks: a
flood of tokens with made-up ``kid``s costs one fetch per interval, not one per token. A failed
fetch keeps the keys already known, so an IdP hiccup does not reject valid tokens.

Only asymmetric signing keys are taken (``kty`` RSA, EC or OKP; ``use`` absent or ``sig``): a
symmetric key in a JWKS would let anyone holding the document mint tokens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import httpx
import jwt

from vaultborn.core.errors import VaultbornError
from vaultborn.core.tls import tls_context
from vaultborn.idp.errors import IdPUnavailable
from vaultborn.idp.http import HttpRetry, IdPHttp

__all__ = ["CallableJwks", "HttpJwks", "KeySource", "parse_jwks"]

_ASYMMETRIC = {"RSA", "EC", "OKP"}


@runtime_checkable
class KeySource(Protocol):
    """Where a verifier finds public keys."""

    def get(self, kid: str) -> Any | None:
        """A public key usable by PyJWT, or None if no key has that ``kid``."""
        ...

    def refresh(self) -> None:
        """Fetch the keys again (implementations may rate-limit this); never raises."""
        ...


def parse_jwks(document: Mapping[str, Any]) -> dict[str, Any]:
    """The usable public keys of a JWKS document, by ``kid``; unusable entries are skipped.

    Raises:
        IdPUnavailable: the document is not a key set at all.
    """
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list):
        raise IdPUnavailable("the JWKS document has no 'keys' list")
    out: dict[str, Any] = {}
    for jwk in keys:
        if not isinstance(jwk, dict) or jwk.get("kty") not in _ASYMMETRIC:
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig":
            continue
        try:
            out[kid] = jwt.PyJWK(jwk).key
        except (jwt.PyJWTError, TypeError, ValueError):
            continue
    return out


class _CachedKeys:
    """Keys cached for ``ttl`` seconds, fetched at most once per ``min_refresh_interval``."""

    def __init__(
        self,
        load: Callable[[], Mapping[str, Any]],
        *,
        ttl: float,
        min_refresh_interval: float,
        clock: Callable[[], float],
    ) -> None:
        self._load = load
        self.ttl, self.min_refresh_interval, self.clock = ttl, min_refresh_interval, clock
        self._keys: dict[str, Any] = {}
        self._loaded_at: float | None = None
        self._tried_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0
        """How many times the document was fetched (for tests and ``doctor``)."""
        self.last_error: str | None = None
        """Why the latest fetch failed, if it did (a one-line message without secrets)."""

    def get(self, kid: str) -> Any | None:
        """The key with that ``kid`` (loading or reloading the set when stale)."""
        with self._lock:
            now = self.clock()
            if self._loaded_at is None or now - self._loaded_at >= self.ttl:
                self._fetch(now)
            return self._keys.get(kid)

    def refresh(self) -> None:
        """Fetch again unless the last attempt was under ``min_refresh_interval`` ago."""
        with self._lock:
            self._fetch(self.clock())

    def _fetch(self, now: float) -> None:
        if self._tried_at is not None and now - self._tried_at < self.min_refresh_interval:
            return
        self._tried_at = now
        self.fetches += 1
        try:
            keys = parse_jwks(self._load())
        except VaultbornError as exc:
            self.last_error = str(exc)
            return
        self._keys, self._loaded_at, self.last_error = keys, now, None


class CallableJwks(_CachedKeys):
    """A ``KeySource`` over a function that returns a JWKS document (in-process use).

    >>> keys = CallableJwks(lambda: signer.jwks())
    >>> keys.get("k1")  # a cryptography public key, or None
    """

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        *,
        ttl: float = 60,
        min_refresh_interval: float = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(fetch, ttl=ttl, min_refresh_interval=min_refresh_interval, clock=clock)


class HttpJwks(_CachedKeys):
    """A ``KeySource`` over ``GET url`` (e.g. ``https://{domain}/.well-known/jwks.json``).

    Args:
        url: The JWKS document's URL.
        client: The httpx client to use; None makes one with a 5 s timeout (see ``close``).
        ttl: Seconds the key set is trusted before it is fetched again.
        min_refresh_interval: The least time between two fetches, whatever triggers them.
        clock: UNIX time now.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        ttl: float = 300,
        min_refresh_interval: float = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        # Made here (for its shorter timeout), so closed here: IdPHttp closes only its own.
        self._own_client = (
            httpx.Client(timeout=5.0, verify=tls_context()) if client is None else None
        )
        self._http = IdPHttp(
            client or self._own_client,
            policy=HttpRetry(attempts=2, backoff=0.2, max_rate_limit_wait=0),
            clock=clock,
        )
        super().__init__(
            self._get_document, ttl=ttl, min_refresh_interval=min_refresh_interval, clock=clock
        )

    def close(self) -> None:
        """Close the httpx client if this object made it."""
        if self._own_client is not None:
            self._own_client.close()

    def _get_document(self) -> Mapping[str, Any]:
        document = self._http.request("GET", self.url)
        if not isinstance(document, Mapping):
            raise IdPUnavailable(f"GET {self.url} did not answer a JWKS document")
        return document
