"""``AnswerLine``: a prompt's answer read as ``input()`` reads it, and a Ctrl-C that ends it.

The Ctrl-C case is the one CI met: the terminal's SIGINT taken by a helper thread left the
main thread blocked in ``input()``. Here a timer thread sends SIGINT to itself, which is what
the kernel does when it picks that thread; a line typed 10 s later unblocks a reader that
missed it, so the test fails instead of hanging.
"""

from __future__ import annotations

import io
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.ptykit import keyboard_and_stdin, typed_late
from vaultborn.answer_line import AnswerLine


@contextmanager
def _ctrl_c_heard() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_this_thread() -> None:
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)


def test_a_ctrl_c_taken_by_another_thread_ends_the_wait() -> None:
    with keyboard_and_stdin() as (keyboard, stdin), _ctrl_c_heard():
        other = threading.Timer(0.3, _interrupt_this_thread)
        other.start()
        try:
            with typed_late(keyboard, b"typed too late\n") as typed:
                with pytest.raises(KeyboardInterrupt):
                    AnswerLine(stdin).readline()
                assert not typed.is_set(), "the Ctrl-C ended nothing; the late line did"
        finally:
            other.join()


def test_a_line_comes_as_input_gives_it() -> None:
    with keyboard_and_stdin() as (keyboard, stdin):
        os.write(keyboard, b"y\n\n")
        reader = AnswerLine(stdin)
        assert reader.readline() == "y"
        assert reader.readline() == ""  # Enter alone: the prompt's default applies
        os.write(keyboard, b"\x04")  # Ctrl-D at the start of a line: the end of input
        with pytest.raises(EOFError):
            reader.readline()


def test_a_stream_that_is_no_terminal_is_read_as_it_is() -> None:
    reader = AnswerLine(io.StringIO("n\nbecause\n"))
    assert [reader.readline(), reader.readline()] == ["n", "because"]
    with pytest.raises(EOFError):
        reader.readline()


def test_the_wakeup_fd_in_place_before_is_put_back() -> None:
    read, write = os.pipe()
    os.set_blocking(write, False)
    before = signal.set_wakeup_fd(write)
    try:
        with keyboard_and_stdin() as (keyboard, stdin):
            os.write(keyboard, b"a\n")
            assert AnswerLine(stdin).readline() == "a"
        assert signal.set_wakeup_fd(before) == write
    finally:
        os.close(read)
        os.close(write)
