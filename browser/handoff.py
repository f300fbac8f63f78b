"""Hand a page to the person at the terminal: they act in the headed window, then press Enter."""

from __future__ import annotations

import asyncio
from typing import TextIO

from vaultborn.browser.errors import NeedsHuman
from vaultborn.browser.runner import HumanHandler

__all__ = ["terminal_handoff"]


def terminal_handoff(stdin: TextIO, stdout: TextIO) -> HumanHandler:
    """A ``HumanHandler`` that prints the instructions and waits for Enter on ``stdin``.

    End of input (nobody there) raises the ``NeedsHuman`` it was given.
    """

    async def hand_off(needed: NeedsHuman) -> None:
        stdout.write(f"\nA person is needed at {needed.url}:\n  {needed.instructions}\n")
        stdout.write("Press Enter when done (Ctrl-D to give up) ")
        stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            raise needed

    return hand_off
