"""The masked output of ``vaultborn run``'s command: two pipes in, our stdout and stderr out.

Each pipe has a pump thread and a ``Masker`` of its own, so a value is masked in stdout alone
and in stderr alone. What the two maskers let out goes, under one lock, through a third masker
over the interleaving of both (``MaskedStreams``), so a value written half to stdout and half to
stderr is masked too, as a terminal would show it whole.

A pump that holds back a tail (the start of a value, perhaps) waits at most ``HOLD_SECONDS``
for more before releasing it (``Masker.release``): output never stalls on a prompt that ends
with a value's first character.

When a write to our stdout or stderr fails (its reader went away: ``| head -1``), that output
is closed: its pump stops reading and closes its pipe, so the command gets SIGPIPE (or EPIPE)
at its next write there, exactly as if it had written to the closed pipe itself.
"""

from __future__ import annotations

import os
import selectors
import threading
from collections.abc import Callable, Sequence
from typing import IO

from vaultborn.stores.masking import MASK, Masker, Piece

__all__ = ["HOLD_SECONDS", "MaskedStreams", "Sink", "pump"]

HOLD_SECONDS = 0.1
"""The longest a held-back tail waits for the data that would decide it."""
_CHUNK = 65536

Sink = Callable[[bytes], None]
"""Where a masked output stream goes (our stdout or stderr)."""


class MaskedStreams:
    """Our outputs by origin (0 stdout, 1 stderr), and the masker over their interleaving.

    Args:
        sinks: Where each origin's output is written.
        values: The values to mask.
    """

    def __init__(self, sinks: Sequence[Sink], values: Sequence[bytes]) -> None:
        self._sinks = list(sinks)
        self._values = list(values)
        self._mix = Masker(values)
        self._lock = threading.Lock()
        self._ended: set[int] = set()
        self.errors: dict[int, OSError] = {}
        """Why writing to an origin failed, by origin; that origin is closed."""

    def masker(self) -> Masker:
        """A masker for one pipe, over the same values."""
        return Masker(self._values)

    def closed(self, origin: int) -> bool:
        """Whether writing to ``origin`` failed (its reader is gone)."""
        return origin in self.errors

    def send(self, origin: int, pieces: list[Piece], *, last: bool = False) -> None:
        """Write what one pipe's masker let out; ``last`` at the end of that pipe."""
        with self._lock:
            for _, data in pieces:
                if data is None:
                    # No value runs on across a mask, in the interleaving either.
                    self._write(self._mix.flush_pieces())
                    self._write([(origin, None)])
                else:
                    self._write(self._mix.feed_pieces(data, origin))
            if last:
                self._ended.add(origin)
            # Nothing waits here for more: a pipe's masker already waited. What the interleaving
            # holds goes out now, and a value it starts is still masked if the other pipe goes on.
            if len(self._ended) == len(self._sinks):
                self._write(self._mix.flush_pieces())
            else:
                self._write(self._mix.release_pieces())

    def _write(self, pieces: list[Piece]) -> None:
        for origin, data in pieces:
            if origin in self.errors:
                continue
            try:
                self._sinks[origin](MASK if data is None else data)
            except OSError as exc:
                self.errors[origin] = exc


def pump(stream: IO[bytes], origin: int, streams: MaskedStreams) -> None:
    """Copy ``stream`` (a pipe from the command) to ``origin``, masked, until its end.

    Closes ``stream`` when done, or as soon as ``origin`` is closed.
    """
    masker = streams.masker()
    fd = stream.fileno()
    with stream, selectors.DefaultSelector() as waiting:
        waiting.register(fd, selectors.EVENT_READ)
        while not streams.closed(origin):
            if masker.holding and not waiting.select(HOLD_SECONDS):
                streams.send(origin, masker.release_pieces())
                continue
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                streams.send(origin, masker.flush_pieces(), last=True)
                return
            streams.send(origin, masker.feed_pieces(chunk, origin))
        streams.send(origin, [], last=True)
