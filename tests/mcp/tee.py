"""A recording relay between an MCP client and a stdio server: every message, both ways.

``python -m tests.mcp.tee LOG -- COMMAND…`` starts COMMAND and copies this process's stdin to
its stdin and its stdout to this process's stdout, line by line, writing each line to LOG
as ``C> …`` (client to server) or ``S> …`` (server to client). The server's stderr is left to
this process's stderr. It exits with the server's exit status, so the client sees a crash.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO


def _pump(source: BinaryIO, sink: BinaryIO, log: BinaryIO, mark: bytes, lock: threading.Lock,
          close_sink: bool) -> None:  # fmt: skip
    for line in iter(source.readline, b""):
        with lock:
            log.write(mark + line if line.endswith(b"\n") else mark + line + b"\n")
            log.flush()
        try:
            sink.write(line)
            sink.flush()
        except (BrokenPipeError, ValueError):
            break
    if close_sink:
        with contextlib.suppress(BrokenPipeError, OSError):
            sink.close()


def main(argv: list[str]) -> int:
    log_path, separator, *command = argv
    assert separator == "--" and command, "usage: tee LOG -- COMMAND..."
    lock = threading.Lock()
    with Path(log_path).open("ab") as log:
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert child.stdin is not None and child.stdout is not None
        inbound = threading.Thread(
            target=_pump, args=(sys.stdin.buffer, child.stdin, log, b"C> ", lock, True),
            daemon=True,
        )  # fmt: skip
        inbound.start()
        _pump(child.stdout, sys.stdout.buffer, log, b"S> ", lock, False)
        return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
