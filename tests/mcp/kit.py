"""``vaultborn mcp`` in real processes, driven by the MCP SDK's own client, every message kept.

``stdio_session`` starts the server through ``tests.mcp.tee`` (which records each line both
ways) as a desktop host would; ``http_server`` starts it with ``--http`` and ``http_session``
connects with a recording ``httpx2`` transport. ``decide`` answers from the CLI, as a person
would. ``plant_canary`` puts a known secret in the vault before the server starts, so the
scans look for a value the tools were asked to touch.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.faults.clikit import cli_env, run_cli
from tests.forkserver import vaultborn_command
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category

ROOT = Path(__file__).resolve().parents[2]
HOST = types.Implementation(name="test-host", version="1.0")
CANARY_TITLE = "Canary API"
CANARY_REF = f"op://ACL/{CANARY_TITLE}/password"
TARGET = "aws-secretsmanager://us-east-1/mcp/canary"


def plant_canary(home: Path) -> str:
    """A vault item holding a known secret; returns the secret."""
    value = "CANARY-" + secrets.token_hex(12)
    vault = LocalVault(home)
    try:
        vault.create_item(
            "ACL",
            ItemSpec(
                title=CANARY_TITLE,
                category=Category.PASSWORD,
                assignments=(parse_assignment(f"password={value}"),),
            ),
        )
    finally:
        vault.close()  # fmt: skip
    return value


def server_env(home: Path, endpoint: str, **extra: str) -> dict[str, str]:
    """The only environment a server of these tests gets (as ``run_cli``'s, plus ``extra``)."""
    return {**cli_env(home, endpoint), "PYTHONPATH": str(ROOT), **extra}


@asynccontextmanager
async def stdio_session(home: Path, endpoint: str, log: Path, *args: str,
                        env: dict[str, str] | None = None) -> AsyncIterator[Client]:  # fmt: skip
    """A client of ``vaultborn mcp ARGS`` on stdio; messages in ``log``, stderr beside it."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tests.mcp.tee", str(log), "--", *vaultborn_command(), "mcp", *args],
        env=server_env(home, endpoint, **(env or {})),
        cwd=str(ROOT),
    )  # fmt: skip
    with log.with_suffix(".stderr").open("a", encoding="utf-8") as errlog:
        transport = stdio_client(params, errlog=errlog)
        async with Client(transport, client_info=HOST, read_timeout_seconds=180) as client:
            yield client


@contextmanager
def http_server(home: Path, endpoint: str, log: Path, *args: str) -> Iterator[str]:
    """``vaultborn mcp --http ARGS`` in a process; yields its URL (stderr kept beside ``log``)."""
    url_file = log.with_suffix(".url")
    with log.with_suffix(".stderr").open("a", encoding="utf-8") as errlog:
        server = subprocess.Popen(
            [*vaultborn_command(), "mcp", "--http", "--url-file", str(url_file), *args],
            env=server_env(home, endpoint), stdin=subprocess.DEVNULL, stdout=errlog,
            stderr=errlog, cwd=str(ROOT),
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not url_file.exists() or not url_file.read_text().strip():
                assert server.poll() is None, log.with_suffix(".stderr").read_text()
                assert time.monotonic() < deadline, "the MCP server did not start"
                time.sleep(0.1)
            yield url_file.read_text().strip()
        finally:
            server.terminate()
            server.wait(timeout=30)


class Recording(httpx2.AsyncBaseTransport):
    """An HTTP transport that keeps every request body and response chunk."""

    def __init__(self, log: list[bytes]) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.log = log

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.log.append(b"C> " + await request.aread())
        response = await self.inner.handle_async_request(request)
        return httpx2.Response(status_code=response.status_code, headers=response.headers,
                               stream=_Tee(response.stream, self.log), request=request,
                               extensions=response.extensions)  # fmt: skip

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Tee(httpx2.AsyncByteStream):
    def __init__(self, inner: Any, log: list[bytes]) -> None:
        self.inner, self.log = inner, log

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.log.append(b"S> " + chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


@asynccontextmanager
async def http_session(url: str, token: str, log: list[bytes]) -> AsyncIterator[Client]:
    """A client of the HTTP server at ``url`` with ``token``, recording into ``log``."""
    timeout = httpx2.Timeout(30, read=300)
    headers = {"Authorization": f"Bearer {token}"}
    http = httpx2.AsyncClient(headers=headers, transport=Recording(log), timeout=timeout)
    async with http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, client_info=HOST, read_timeout_seconds=180) as client:
            yield client


async def call(client: Client, name: str, **args: Any) -> types.CallToolResult:
    """One tool call."""
    return await client.call_tool(name, args)


def text_of(result: types.CallToolResult) -> str:
    """The text of a tool result."""
    (content,) = result.content
    assert isinstance(content, types.TextContent)
    return content.text


async def decide(home: Path, endpoint: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``vaultborn ARGV`` in a new process (a person answering from a terminal)."""
    return await anyio.to_thread.run_sync(lambda: run_cli(home, endpoint, *argv))


async def waiting_runs(home: Path, endpoint: str) -> list[dict[str, Any]]:
    """``vaultborn approvals --json``."""
    done = await decide(home, endpoint, "approvals", "--json")
    assert done.returncode == 0, done.stderr
    listed: list[dict[str, Any]] = json.loads(done.stdout)
    return listed


def server_messages(lines: list[bytes]) -> list[str]:
    """What the server sent (``S>`` lines of a recording)."""
    return [line[3:].decode("utf-8", "replace") for line in lines if line.startswith(b"S> ")]


def stdio_lines(log: Path) -> list[bytes]:
    """The recording of a stdio session, line by line."""
    return log.read_bytes().splitlines() if log.exists() else []


def env_without(*names: str) -> dict[str, str]:
    """This process's environment without ``names`` (for subprocesses that must not see them)."""
    return {k: v for k, v in os.environ.items() if k not in names}
