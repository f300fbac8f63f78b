"""Waits a person can see: the seconds left, counted down on stderr.

A TOTP code is sometimes held back until the next 30-second step (the IdP refuses a code of a
step it has seen); without a word the terminal looks hung.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

__all__ = ["countdown"]


def countdown(
    stream: TextIO | None = None,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] | None = None,
) -> Callable[[float], Awaitable[None]]:
    """A wait that says how long it takes: counted down in a terminal, one line elsewhere."""

    async def wait(seconds: float) -> None:
        out = sys.stderr if stream is None else stream
        now = clock or asyncio.get_running_loop().time
        what = "waiting for the next TOTP time step"
        if not out.isatty():
            out.write(f"vaultborn: {what}: {math.ceil(seconds)} s\n")
            out.flush()
            await sleep(seconds)
            return
        deadline = now() + seconds
        while (left := deadline - now()) > 0:
            out.write(f"\r{what}: {math.ceil(left):>2} s ")
            out.flush()
            await sleep(min(1.0, left))
        out.write("\r" + " " * (len(what) + 8) + "\r")
        out.flush()

    return wait
