"""A run that starts waiting posts to the webhook; a webhook that fails stops nothing."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.graph.test_setup_cli import _secret_values

pytestmark = pytest.mark.robustness("fault: a webhook that fails")


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook on loopback that keeps what it is sent."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_waiting_run_posts_to_the_webhook(
    cli: Run, home: Path, hook: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = hook
    monkeypatch.setenv("VAULTBORN_NOTIFY_WEBHOOK", url)
    first = cli("setup", "--json")

    assert first.code == 3, first
    run_id = json.loads(first.out)["run_id"]
    assert len(received) == 1 and set(received[0]) == {"text", "blocks"}
    assert f"run {run_id} waits for its vault session and its plan" in received[0]["text"]
    assert f"vaultborn approve {run_id}" in received[0]["text"]
    assert "could not notify" not in first.err
    for value in _secret_values(home):
        assert value not in json.dumps(received)


def test_a_webhook_that_fails_stops_nothing(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("VAULTBORN_NOTIFY_WEBHOOK", f"http://127.0.0.1:{port}/nobody")
    first = cli("setup", "--json")

    assert first.code == 3, first
    assert json.loads(first.out)["waiting"]["kind"] == "vault_session"
    assert "could not notify the webhook (ConnectError); the run goes on" in first.err
    assert "/nobody" not in first.err  # the URL may be a credential
