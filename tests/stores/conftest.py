"""moto's server on 127.0.0.1 for the whole session, reset before each test that uses it."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx
import pytest

from tests.conftest import Run
from vaultborn.stores.aws_config import embedded_moto

REGION = "eu-west-1"
TITLE = "app — api"
REF = f"op://ACL/{TITLE}/api key"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The endpoint URL of one moto server for the session."""
    with embedded_moto() as endpoint:
        yield endpoint


@pytest.fixture
def fresh_moto(moto_endpoint: str) -> str:
    """moto reset to empty; its backends are per process, so this also empties the embedded one."""
    httpx.post(f"{moto_endpoint}/moto-api/reset").raise_for_status()
    return moto_endpoint


@pytest.fixture
def aws(fresh_moto: str, clean_environ: None) -> Any:
    """A fresh moto, with this process's AWS configuration pointing at it.

    Returns a boto3 ``secretsmanager`` client for looking behind the CLI's back.
    """
    moto_endpoint = fresh_moto
    os.environ.update(
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    return boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def ssm(aws: Any, fresh_moto: str) -> Any:
    """Like ``aws``, but a boto3 ``ssm`` client of the same moto for looking behind the CLI."""
    return boto3.client(
        "ssm",
        region_name=REGION,
        endpoint_url=fresh_moto,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def make_item(cli: Run, value: str) -> None:
    """Create the item behind ``REF`` with ``value`` in its "api key" field."""
    created = cli("item", "create", "--vault", "ACL", "--title", TITLE, "--category", "password",
                  f"api key[password]={value}")  # fmt: skip
    assert created.code == 0, created.err


def change_item(cli: Run, value: str) -> None:
    """Give the "api key" field a new value (the item version goes up)."""
    edited = cli("item", "edit", TITLE, "--vault", "ACL", f"api key[password]={value}")
    assert edited.code == 0, edited.err


@dataclass
class Stub:
    """A tiny AWS JSON endpoint that answers every request with one error."""

    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def aws_error_stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
    """An endpoint answering ``(status, __type, message)`` from the test's parametrization."""
    status, kind, message = request.param
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(self.headers.get("X-Amz-Target", ""))
            body = json.dumps({"__type": kind, "message": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Stub(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
