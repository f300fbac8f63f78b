"""``vaultborn mcp --http``: loopback only, a bearer token, and a call that waits for a person.

The MCP SDK's client connects over streamable HTTP with the token from the token file; a
request without it is refused. The first call waits (``--wait``) while a person approves the
vault session from the CLI, and answers within the same call. Every byte the server sent is
scanned for secrets.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from tests.faults.clikit import assert_no_secret_at_rest, moto_server
from tests.mcp.kit import (
    CANARY_REF,
    call,
    decide,
    http_server,
    http_session,
    plant_canary,
    server_messages,
    waiting_runs,
)

pytestmark = pytest.mark.robustness("agent toolkit: MCP host through the gates")


def test_http_needs_the_token_and_a_call_waits_for_the_person(home: Path, tmp_path: Path) -> None:
    canary = plant_canary(home)
    log = tmp_path / "http.log"
    recorded: list[bytes] = []
    with moto_server() as endpoint, http_server(home, endpoint, log, "--wait", "90") as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        token = (home / "mcp.token").read_text().strip()
        assert (home / "mcp.token").stat().st_mode & 0o777 == 0o600
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            refused = httpx.post(url, json={}, headers=headers, timeout=10)
            assert refused.status_code == 401
        anyio.run(_scenario, home, endpoint, url, token, recorded)
        stderr = log.with_suffix(".stderr").read_text()
        assert token not in stderr
    outputs = [*server_messages(recorded), stderr]
    assert len(outputs) > 3
    assert_no_secret_at_rest(home, outputs)
    assert all(canary not in text for text in outputs)


async def _scenario(home: Path, endpoint: str, url: str, token: str, log: list[bytes]) -> None:
    async with http_session(url, token, log) as client:
        assert len((await client.list_tools()).tools) == 8
        answers: dict[str, object] = {}

        async def host_call() -> None:
            answers["read"] = await call(client, "resolve_reference", reference=CANARY_REF)

        async with anyio.create_task_group() as group:
            group.start_soon(host_call)
            while not (waiting := await waiting_runs(home, endpoint)):
                await anyio.sleep(0.5)
            (run,) = waiting
            assert run["waiting"]["kind"] == "vault_session"
            approved = await decide(home, endpoint, "approve", run["run_id"])
            assert approved.returncode == 0, approved.stderr
        read = answers["read"]
        assert not read.is_error, read  # type: ignore[attr-defined]
        assert read.structured_content["item"] == "Canary API"  # type: ignore[attr-defined]
