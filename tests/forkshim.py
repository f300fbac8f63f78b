"""The tests' ``vaultborn`` command: asks the fork server for the process and stands in for it.

Run by the executable ``vaultborn`` that ``tests.forkserver`` writes, with ``python -SE``: only
the standard library, no site packages, so it starts in milliseconds. It hands
the server its environment, working directory and standard streams, forwards the signals a
process gets from a test or a shell (Ctrl-C, ``kill``, a hang-up), and ends as the command
ended: with its exit status, or killed by the same signal. Killed itself (``kill -9``), it
closes its connection, and the server kills the command.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys

FORWARDED = (
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
)  # fmt: skip


def _open_streams() -> list[int]:
    """Descriptors 0-2, with /dev/null standing in for any that is closed."""
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            fds.append(os.open(os.devnull, os.O_RDWR))
    return fds


def _line(conn: socket.socket, buffer: bytearray) -> str:
    while b"\n" not in buffer:
        chunk = conn.recv(256)
        if not chunk:
            sys.stderr.write("vaultborn (test fork server): the server went away\n")
            sys.exit(70)
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


def main(path: str, args: list[str]) -> int:
    request = json.dumps(
        {"argv": ["vaultborn", *args], "env": dict(os.environ), "cwd": os.getcwd()}
    ).encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    socket.send_fds(conn, [len(request).to_bytes(4, "big") + request], _open_streams())
    buffer = bytearray()
    pid = int(_line(conn, buffer).removeprefix("pid "))

    def forward(number: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, number)

    for number in FORWARDED:
        signal.signal(number, forward)
    code = int(_line(conn, buffer).removeprefix("exit "))
    if code < 0:  # ended by a signal: end the same way, so the caller sees the same status
        for number in FORWARDED:
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
