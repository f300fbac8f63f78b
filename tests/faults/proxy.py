"""A fault-injecting HTTP proxy on 127.0.0.1, in front of a real server.

Faults match by method and path (a regex; optionally the query string too) and fire for the
first ``times`` matching requests: ``status:N`` answers N without forwarding (429 with
``Retry-After: 0``), ``reset-before`` drops the connection without forwarding, ``reset-after``
forwards (the effect happens) and then drops the connection before the answer, ``delay:S``
waits S seconds, then forwards, ``hang`` never forwards nor answers, ``hang-after`` forwards
(the effect happens) and never answers — both hold the connection until the proxy closes —
and ``forward`` just forwards. A fault's ``on_fire`` is called when it fires, before its action
(to kill a process at the moment a page is requested, say).
Request bodies naming the proxy's URL (a management token's audience) are rewritten to the
upstream's, as a transparent front would be configured; with ``rewrite_answers`` the answers
naming the upstream's URL (an enrollment ticket's URL, a redirect) are rewritten to the
proxy's, so a browser sent there comes back through the proxy.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote_plus

import httpx

__all__ = ["Fault", "FaultProxy"]

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass
class Fault:
    """One fault: ``action`` on the first ``times`` requests matching ``method`` and ``path``.

    ``query``, when given, must match (a regex search) the query string too; ``on_fire`` is
    called (on the proxy's thread) each time the fault fires, before its action.
    """

    method: str
    path: str
    action: str
    times: int = 1
    query: str = ""
    on_fire: Callable[[], None] | None = None


class FaultProxy:
    """Forward everything to ``upstream`` except what a fault catches."""

    def __init__(self, upstream: str, *, rewrite_answers: bool = False) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrite_answers = rewrite_answers
        self.faults: list[Fault] = []
        self.fired: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def _handle(self) -> None:
                proxy.serve(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._client = httpx.Client(timeout=30, verify=False)  # noqa: S501 (loopback)

    @property
    def base_url(self) -> str:
        """The proxy's URL (with a trailing slash, as IdP base URLs have)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # releases the hung requests
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _take(self, method: str, path: str, query: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (
                    fault.times > 0
                    and fault.method == method
                    and re.search(fault.path, path)
                    and (not fault.query or re.search(fault.query, query))
                ):
                    fault.times -= 1
                    self.fired.append((method, path, fault.action))
                    return fault
        return None

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request: a fault, or the upstream's answer."""
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        path, _, query = handler.path.partition("?")
        fault = self._take(handler.command, path, query)
        action = fault.action if fault else ""
        if fault is not None and fault.on_fire is not None:
            fault.on_fire()
        if action.startswith("status:"):
            status = int(action.split(":", 1)[1])
            payload = json.dumps({"statusCode": status, "error": "injected", "message": "fault"})
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(payload)))
            if status == 429:
                handler.send_header("retry-after", "0")
            handler.end_headers()
            handler.wfile.write(payload.encode())
            return
        if action in ("reset-before", "hang"):
            if action == "hang":
                self._closing.wait()
            self._drop(handler)
            return
        if action.startswith("delay:"):
            time.sleep(float(action.split(":", 1)[1]))
        body = self._upstream_names(body)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP | {"host"}}
        answer = self._client.request(
            handler.command, self.upstream + handler.path, headers=headers, content=body
        )
        if action in ("reset-after", "hang-after"):
            if action == "hang-after":
                self._closing.wait()
            self._drop(handler)
            return
        content = self._front_names(answer.content)
        with contextlib.suppress(OSError):  # the client may be gone (a killed browser)
            handler.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in _HOP:
                    handler.send_header(key, self._front_names(value.encode()).decode())
            handler.send_header("content-length", str(len(content)))
            handler.end_headers()
            handler.wfile.write(content)

    def _upstream_names(self, body: bytes) -> bytes:
        """The body with the proxy's own URL replaced by the upstream's (token audiences)."""
        mine, theirs = self.base_url, self.upstream + "/"
        for a, b in ((mine, theirs), (quote_plus(mine), quote_plus(theirs))):
            body = body.replace(a.encode(), b.encode())
        return body

    def _front_names(self, data: bytes) -> bytes:
        """``data`` with the upstream's URL replaced by the proxy's, if answers are rewritten."""
        if not self.rewrite_answers:
            return data
        return data.replace((self.upstream + "/").encode(), self.base_url.encode())

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)
