"""Whether a stream is a person's terminal, for the waits that read a line from one."""

from __future__ import annotations

from typing import TextIO

__all__ = ["is_terminal"]


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for a pipe, a file, a closed or fake stream).

    A terminal's reads end at a line, so after ``readline`` nothing typed waits in Python's
    buffer where a wait on the file descriptor (``select``, the loop's reader) could not see it.
    """
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
