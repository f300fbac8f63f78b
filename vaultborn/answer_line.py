"""Reading a person's answer from the terminal so that Ctrl-C always ends the wait.

The kernel gives a process's SIGINT to any of its threads. When a helper thread (the dev IdP's
server, an executor worker) takes it, Python's handler is only noted, for the main thread to
run at its next instruction, and a main thread blocked in ``input()`` never gets there: the
prompt sat through the Ctrl-C until Enter. Here the main thread waits in ``select`` on the
terminal and on a signal wake-up pipe (``signal.set_wakeup_fd``) together, so whichever thread
took the signal, the wait ends and the handler raises ``KeyboardInterrupt`` in it.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

from vaultborn.core.terminal import is_terminal

__all__ = ["AnswerLine", "answer_stream"]


class AnswerLine:
    """A ``readline`` for rich's prompts (``stream=``) that behaves as ``input()`` does.

    The line comes without its newline (Enter alone is ``""``, so a prompt's default applies),
    and the end of input raises ``EOFError``.
    """

    def __init__(self, stdin: TextIO | None = None) -> None:
        self._stdin = stdin

    def readline(self) -> str:
        """The next line typed, once there is one; ``KeyboardInterrupt`` at a Ctrl-C."""
        stdin = self._stdin or sys.stdin
        if is_terminal(stdin) and threading.current_thread() is threading.main_thread():
            _wait_for_line_or_signal(stdin.fileno())
        line = stdin.readline()
        if not line:
            raise EOFError
        return line.removesuffix("\n")


def answer_stream(stdin: TextIO | None = None) -> TextIO:
    """An ``AnswerLine`` as the ``stream`` rich's prompts take (they only call ``readline``)."""
    return cast(TextIO, AnswerLine(stdin))


def _wait_for_line_or_signal(fd: int) -> None:
    with _wakeup_pipe() as woken:
        while fd not in select.select([fd, woken], [], [])[0]:
            # A signal's byte: its handler runs as this loop goes round (a Ctrl-C raises
            # KeyboardInterrupt here); any other signal leaves the wait as it was.
            os.read(woken, 512)


@contextmanager
def _wakeup_pipe() -> Iterator[int]:
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    try:
        yield read
    finally:
        signal.set_wakeup_fd(previous)
        os.close(read)
        os.close(write)
