"""Hand a page to the person at the terminal: they act in the headed window, then press Enter."""

from __future__ import annotations

import asyncio
from typing import TextIO

from vaultborn.browser.errors import NeedsHuman
from vaultborn.browser.runner import HumanHandler
from vaultborn.core.terminal import is_terminal

__all__ = ["terminal_handoff"]


def terminal_handoff(stdin: TextIO, stdout: TextIO) -> HumanHandler:
    """A ``HumanHandler`` that prints the instructions and waits for Enter on ``stdin``.

    End of input (nobody there) raises the ``NeedsHuman`` it was given.
    """

    async def hand_off(needed: NeedsHuman) -> None:
        stdout.write(f"\nA person is needed at {needed.url}:\n  {needed.instructions}\n")
        stdout.write("Press Enter when done (Ctrl-D to give up) ")
        stdout.flush()
        if not await _next_line(stdin):
            raise needed

    return hand_off


async def _next_line(stdin: TextIO) -> str:
    """The next line of ``stdin`` ("" at its end), read without blocking the loop.

    A terminal is watched by the loop itself: a thread blocked in ``readline`` would outlive a
    Ctrl-C, whose loop waits for its threads as it closes, until someone pressed Enter. Other
    input (a pipe, a file, a test's string) is read in a thread.
    """
    if not is_terminal(stdin):
        return await asyncio.to_thread(stdin.readline)
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    fd = stdin.fileno()

    def wake() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await readable
    finally:
        loop.remove_reader(fd)
    return stdin.readline()
