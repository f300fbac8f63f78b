"""``start_dev_idp``: the dev IdP on a real socket, served by uvicorn in a daemon thread.

The socket is bound before uvicorn starts, so ``port=0`` gets a free port that is known (and
in the base URL) before the first request; ``start_dev_idp`` returns once the server accepts
connections. The same function serves the tests, the orchestrator's embedded demo and
``vaultborn idp serve``::

    with start_dev_idp(tenant_path, db=home / "devidp.db") as idp:
        httpx.get(idp.base_url + ".well-known/jwks.json")

Client secrets are resolved (environment, vault, memory) and hashed into the database before
the server starts; the ``Secret`` values are not kept. Key clients' public keys are read
(given, or from the vault) and stored as public JWKs. uvicorn's access log is off. Core dumps of
the process are turned off first (``core.hardening``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import uvicorn

from vaultborn.core import hardening
from vaultborn.core.errors import ConfigurationError
from vaultborn.idp.devserver.app import build_app
from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.ratelimit import RateLimiter
from vaultborn.idp.devserver.store import Store
from vaultborn.idp.devserver.tenant import Tenant, resolve_client_keys, resolve_client_secrets
from vaultborn.idp.devserver.tenant_file import load_tenant
from vaultborn.vault.secret import Secret

__all__ = ["RunningDevIdP", "start_dev_idp"]

STARTUP_TIMEOUT = 15.0


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _url_host(host: str, bound: str) -> str:
    # A wildcard address is not something a client can connect to: name loopback instead.
    if host in ("", "0.0.0.0"):  # noqa: S104 - recognising the wildcard, not binding to it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{bound}]" if ":" in host else host


class RunningDevIdP:
    """A dev IdP serving in a background thread; stop it with ``stop()`` or ``with``."""

    def __init__(
        self,
        context: DevIdPContext,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
        port: int,
    ) -> None:
        self.context = context
        self.base_url = context.base_url
        """``http://host:port/`` (always ending in ``/``)."""
        self.port = port
        """The port actually bound (useful with ``port=0``)."""
        self._server, self._thread, self._sock = server, thread, sock

    @property
    def issuer(self) -> str:
        """The ``iss`` of this server's tokens (the base URL)."""
        return self.context.issuer

    @property
    def management_audience(self) -> str:
        """``<base URL>api/v2/``."""
        return self.context.management_audience

    @property
    def alive(self) -> bool:
        """Whether the server thread is still serving."""
        return self._thread.is_alive()

    def set_rate_limit(self, requests: int, per_seconds: float) -> None:
        """Change the rate limit now (a fresh window opens with the next request)."""
        self.context.limiter.set(requests, per_seconds)

    def rotate_keys(self) -> str:
        """Rotate the signing key; returns the new ``kid`` (the old one stays published)."""
        return self.context.rotate_keys()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, wait for the thread, release the database. Safe to call twice."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._sock.close()
        self.context.store.close()

    def __enter__(self) -> RunningDevIdP:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_dev_idp(
    tenant: Tenant | Path | str,
    *,
    db: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    env: Mapping[str, str] = os.environ,
    resolve_secret: Callable[[str], Secret] | None = None,
    clock: Callable[[], float] = time.time,
) -> RunningDevIdP:
    """Start a dev IdP and return once it accepts connections.

    Args:
        tenant: A ``Tenant``, a tenant file's path, or tenant TOML text.
        db: The SQLite file (created 0600 if missing; reused as is if present).
        host: The address to listen on.
        port: The port; 0 picks a free one (see ``RunningDevIdP.port``).
        env: Where ``secret_env`` variables are read.
        resolve_secret: Reads a ``secret_ref`` (an ``op://`` reference) from the vault.
        clock: UNIX time now, for tokens, tickets, keys and the rate limiter.

    Raises:
        UsageError: The tenant is invalid or a client's secret is missing.
        ConfigurationError: The address cannot be bound or the server did not start.
    """
    hardening.disable_core_dumps()  # client secrets pass through this process
    parsed = load_tenant(tenant)
    secrets = resolve_client_secrets(parsed, env=env, resolve_secret=resolve_secret)
    keys = resolve_client_keys(parsed, resolve_secret=resolve_secret)
    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    store: Store | None = None
    try:
        store = Store.open(db)
        context = DevIdPContext(
            store=store,
            tenant=parsed,
            base_url=f"http://{_url_host(host, bound_host)}:{bound_port}/",
            clock=clock,
            limiter=RateLimiter(parsed.rate_limit, clock),
        )
        store.sync_tenant(
            parsed, secrets, now=clock(), audience_key=context.audience_key, keys=keys
        )
        del secrets
        config = uvicorn.Config(
            build_app(context),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="dev-idp", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise ConfigurationError(f"the dev IdP did not start on {host}:{bound_port}")
            time.sleep(0.005)
    except BaseException:
        sock.close()
        if store is not None:
            store.close()
        raise
    return RunningDevIdP(context, server, thread, sock, bound_port)
