"""A person at a terminal: the CLI in a real pseudo-terminal, as its controlling terminal.

The child is a session leader whose controlling terminal is the pty, so a ``^C`` written to the
pty reaches it the way a person's Ctrl-C does: the terminal turns it into SIGINT for its
foreground process group. Limits are only how long to wait before giving up, never assertions
about speed.

``keyboard_and_stdin`` is the same pty for code tested in this process (a prompt's reader),
and ``typed_late`` the line that unblocks a reader which missed what should have ended it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

__all__ = ["Terminal", "cli_env", "keyboard_and_stdin", "typed_late"]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for the CLI in ``home`` (no AWS, a wide terminal)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "VAULTBORN_HOME": str(home / "home"),
        "TERM": "dumb",
        "COLUMNS": "200",
        "LINES": "50",
        **extra,
    }


@contextmanager
def keyboard_and_stdin() -> Iterator[tuple[int, TextIO]]:
    """A pty: the keyboard's end (write keys to it) and a text stream on the program's end."""
    leader, follower = pty.openpty()
    stdin = open(follower, encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        yield leader, stdin
    finally:
        stdin.close()
        os.close(leader)


@contextmanager
def typed_late(keyboard: int, line: bytes, after: float = 10.0) -> Iterator[threading.Event]:
    """Type ``line`` ``after`` seconds from now unless the block has ended; the event is set
    once it is typed, so a test can tell a wait that ended by itself from one this line ended
    (and fails instead of hanging)."""
    typed = threading.Event()

    def type_it() -> None:
        typed.set()
        os.write(keyboard, line)

    timer = threading.Timer(after, type_it)
    timer.start()
    try:
        yield typed
    finally:
        timer.cancel()


def _controlling_terminal() -> None:  # runs in the child, after setsid (start_new_session)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    # A person's terminal starts its shell with Ctrl-C heard. A test run started in the
    # background (a script's `&`) hands its children SIGINT and SIGQUIT ignored, and Python
    # keeps an ignored SIGINT ignored: the CLI would be deaf to the ^C this harness types.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


class Terminal:
    """``vaultborn ARGS`` on a pty: read what it shows, type, press Ctrl-C."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        self._leader, follower = pty.openpty()
        self.child = subprocess.Popen(
            [sys.executable, "-m", "vaultborn", *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            # A process that never ends shows where it is stuck: faulthandler dumps every
            # thread's stack on the SIGABRT that ``wait`` sends before giving up.
            env={"PYTHONFAULTHANDLER": "1", **env},
            start_new_session=True,
            preexec_fn=_controlling_terminal,
        )
        os.close(follower)
        self.seen = ""
        self._mark = 0

    def expect(self, text: str, timeout: float = 120.0) -> str:
        """Read until ``text`` appears after the last match; what was read up to it."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[self._mark :] and time.monotonic() < deadline:
            if not self._read(0.2) and self.child.poll() is not None:
                break
        at = self.seen.find(text, self._mark)
        if at < 0:
            raise AssertionError(f"never saw {text!r}; the terminal showed:\n{self.seen[-3000:]}")
        self._mark = at + len(text)
        return self.seen[:at]

    def type(self, text: str) -> None:
        """Type ``text`` (add ``\\n`` for Enter)."""
        os.write(self._leader, text.encode())

    def interrupt(self) -> None:
        """Press Ctrl-C."""
        os.write(self._leader, b"\x03")

    def wait(self, timeout: float = 120.0) -> int:
        """Read until the process ends; its exit code."""
        deadline = time.monotonic() + timeout
        while self.child.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        while self._read(0.1):
            pass
        if self.child.poll() is None:
            shown = self.seen
            self.child.send_signal(signal.SIGABRT)
            with suppress(subprocess.TimeoutExpired):
                self.child.wait(5)
            while self._read(0.5):
                pass
            stacks = self.seen[len(shown) :]
            if self.child.poll() is None:
                self.child.kill()
            raise AssertionError(
                f"still running; the terminal showed:\n{shown[-3000:]}\n"
                f"its threads, when stopped:\n{stacks[-6000:]}"
            )
        return self.child.returncode

    def close(self) -> None:
        """Kill the process if it still runs and close the pty."""
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        os.close(self._leader)

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self._leader], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self._leader, 65536)
        except OSError:  # the child closed its end
            return False
        self.seen += chunk.decode(errors="replace")
        return bool(chunk)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
