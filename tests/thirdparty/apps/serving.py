"""What both sites share: bind 127.0.0.1 port 0, announce the URL, serve until told to stop.

A site prints one JSON line on stdout once it accepts connections, ``{"base_url": ...,
"port": ...}``, then serves with werkzeug's threaded WSGI server (no reloader, no debugger).
It stops on SIGTERM/SIGINT and, with ``--exit-on-stdin-eof``, when its stdin reaches end-of-file:
the harness holds the write end of that pipe, so a test run that dies without cleaning up still
takes its servers down.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

WSGIApp = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler, logging one plain line per request to stderr (no ANSI colours)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        sys.stderr.write(f"{self.command} {self.path} {code}\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line options every site takes."""
    parser.add_argument("--data-dir", required=True, help="directory for the SQLite database")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when stdin reaches end-of-file (the harness keeps a pipe open)",
    )


def serve(
    app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0, exit_on_stdin_eof: bool = False
) -> None:
    """Serve ``app`` until SIGTERM, SIGINT or (if asked) end-of-file on stdin."""
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    server.daemon_threads = True
    bound = server.server_address[1]
    signal.signal(signal.SIGTERM, _exit_now)
    signal.signal(signal.SIGINT, _exit_now)
    if exit_on_stdin_eof:
        threading.Thread(target=_watch_stdin, daemon=True).start()
    line = json.dumps({"base_url": f"http://{host}:{bound}/", "port": bound, "pid": os.getpid()})
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.5)


def _exit_now(*_: object) -> None:
    """Leave at once, status 0: every request has committed its writes, nothing is lost."""
    sys.stderr.flush()
    os._exit(0)


def _watch_stdin() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    _exit_now()
