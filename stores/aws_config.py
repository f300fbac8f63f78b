"""Which AWS the stores talk to: the user's configuration, or an embedded emulator.

With any AWS configuration present (credentials or a profile in the environment, an endpoint
URL, ``~/.aws/config`` or ``~/.aws/credentials``), boto3 is left to read it as usual,
``AWS_ENDPOINT_URL`` included. With none at all, the embedded default starts moto's server on
127.0.0.1 (a free port) inside this process, so the whole flow runs on a laptop with no
account. Given a data directory, what is seeded there is kept in it between commands (sealed,
``stores.aws_emulator_state``) and the notice is said once, when the emulator is first used
there; without one it is gone when the process exits, and said each time.

Both AWS stores (Secrets Manager and SSM Parameter Store) share one ``AwsConnection``: one
session, one retry configuration and, embedded, one emulator.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "AWS_CONFIG_ENV",
    "AwsConnection",
    "ClientsByRegion",
    "aws_configured",
    "embedded_moto",
    "open_aws",
]

AWS_CONFIG_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
"""Variables that mean "this machine has an AWS configuration" (AWS_CA_BUNDLE etc. do not)."""
DEFAULT_MAX_ATTEMPTS = 5
"""Attempts per call, the first included (``AWS_MAX_ATTEMPTS`` overrides)."""


def aws_configured(env: Mapping[str, str], home: Path) -> bool:
    """True if the environment or ``home/.aws`` holds any AWS configuration."""
    if any(env.get(name) for name in AWS_CONFIG_ENV):
        return True
    return any((home / ".aws" / name).exists() for name in ("config", "credentials"))


_STOP_POLL = 0.05
"""Seconds between the emulator's checks for a stop: the socketserver default (0.5 s) would add
half a second to every command that used it."""


@contextmanager
def embedded_moto() -> Iterator[str]:
    """Run moto's server on 127.0.0.1 (a free port) for the block; yields its endpoint URL.

    moto's own server (its WSGI app and request handler, as ``ThreadedMotoServer`` serves
    them) in a thread of this process.
    """
    import threading

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    # werkzeug logs every request to stderr otherwise, even with verbose=False.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(
        "127.0.0.1",
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": _STOP_POLL}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


class ClientsByRegion:
    """One boto3 client per region, made on first use and shared by every thread.

    boto3's clients are thread-safe, and making one costs tens of milliseconds of CPU (its
    service model is read and checked): a fleet's flows, seeding at the same moment, would
    otherwise each make their own.

    Args:
        make: Makes the client of a region.
    """

    def __init__(self, make: Callable[[str], Any]) -> None:
        self._make = make
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, region: str) -> Any:
        """The client of ``region``."""
        with self._lock:
            if region not in self._clients:
                self._clients[region] = self._make(region)
            return self._clients[region]


class AwsConnection:
    """boto3 clients of one session and retry configuration, one per service and region.

    Args:
        session: The boto3 session (the user's, or the embedded emulator's dummy keys).
        config: The botocore ``Config`` (retries).
        endpoint: The embedded emulator's URL; None lets boto3 find the endpoint.
    """

    def __init__(self, session: Any, config: Any, endpoint: str | None = None) -> None:
        self._session = session
        self._config = config
        self.endpoint = endpoint
        """The embedded emulator's URL, or None for the user's AWS."""
        self.used: set[tuple[str, str]] = set()
        """The (service, region) pairs clients were made for (what the embedded emulator's
        contents kept at the end span)."""

    def client(self, service: str, region: str) -> Any:
        """A new boto3 client of ``service`` in ``region``."""
        self.used.add((service, region))
        return self._session.client(
            service, region_name=region, config=self._config, endpoint_url=self.endpoint
        )


@contextmanager
def open_aws(
    notice: Callable[[str], None],
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
    data_dir: Path | None = None,
) -> Iterator[AwsConnection]:
    """The AWS of this environment, for the duration of the block.

    Args:
        notice: Receives the one line saying that the embedded emulator serves.
        env: Where to look for AWS configuration (boto3 itself reads ``os.environ``).
        home: Where ``.aws/`` would be; None means the user's home directory.
        data_dir: Where the embedded emulator keeps its contents between commands; None
            keeps them in memory only.

    Raises:
        ConfigurationError: The kept contents are held by another process, or do not open.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        retries={
            "mode": env.get("AWS_RETRY_MODE", "standard"),
            "total_max_attempts": _attempts(env.get("AWS_MAX_ATTEMPTS")),
        }
    )
    if aws_configured(env, Path.home() if home is None else home):
        yield AwsConnection(boto3.session.Session(), config)
        return
    session = boto3.session.Session(
        aws_access_key_id="embedded",
        aws_secret_access_key="embedded",  # noqa: S106
    )
    if data_dir is None:
        with embedded_moto() as endpoint:
            notice(
                f"no AWS configuration found: using an embedded AWS emulator (moto) at {endpoint} "
                "for Secrets Manager and Parameter Store; what is seeded there is gone when this "
                "command exits"
            )
            yield AwsConnection(session, config, endpoint)
        return
    from vaultborn.stores.aws_emulator_state import kept_emulator

    with kept_emulator(data_dir, notice) as emulator:
        connection = AwsConnection(session, config, emulator.endpoint)
        connection.used = emulator.used  # what the contents kept at the end span
        yield connection


def _attempts(text: str | None) -> int:
    """``AWS_MAX_ATTEMPTS`` as a count of 1–20, or the default when unset."""
    from vaultborn.stores.errors import StoreNotConfigured

    if not text:
        return DEFAULT_MAX_ATTEMPTS
    if not text.strip().isdigit() or not 1 <= int(text) <= 20:
        raise StoreNotConfigured(
            f"AWS_MAX_ATTEMPTS={text[:20]!r} is not a whole number of attempts from 1 to 20"
        )
    return int(text)
