"""The terminal hand-off: a Ctrl-C while it waits for Enter ends the command at once.

A Ctrl-C cancels the run's task (``asyncio.Runner``); then the loop closes, and closing waits
for its worker threads. A hand-off that waited for Enter in a worker thread kept the command
alive until someone pressed Enter. Here the wait is cancelled as a Ctrl-C cancels it, and a
line typed 10 s later unblocks a reader that missed it, so the test fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import suppress
from io import StringIO
from typing import TextIO

import pytest

from tests.ptykit import keyboard_and_stdin, typed_late
from vaultborn.browser.errors import NeedsHuman
from vaultborn.browser.handoff import terminal_handoff

NEEDED = NeedsHuman("https://tenant.example.com/mfa", "tick the box")


async def _hand_off(stdin: TextIO) -> None:
    await terminal_handoff(stdin, StringIO())(NEEDED)


def test_a_cancelled_hand_off_leaves_no_thread_waiting_for_enter() -> None:
    async def cancelled_while_waiting(stdin: TextIO) -> None:
        waiting = asyncio.ensure_future(_hand_off(stdin))
        await asyncio.sleep(0.3)
        waiting.cancel()
        with suppress(asyncio.CancelledError):
            await waiting

    with keyboard_and_stdin() as (keyboard, stdin), typed_late(keyboard, b"\n") as typed:
        asyncio.run(cancelled_while_waiting(stdin))
        assert not typed.is_set(), "the loop's close waited for Enter"


def test_enter_on_a_terminal_ends_the_hand_off_and_ctrl_d_gives_up() -> None:
    with keyboard_and_stdin() as (keyboard, stdin):
        os.write(keyboard, b"\n")
        asyncio.run(_hand_off(stdin))
        os.write(keyboard, b"\x04")  # Ctrl-D at the start of a line: the end of input
        with pytest.raises(NeedsHuman):
            asyncio.run(_hand_off(stdin))
