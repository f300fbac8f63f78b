"""Masking secret values in a byte stream that arrives in arbitrary chunks.

A value may be split across reads (``"hun"`` then ``"ter2"``), so the masker holds back the
shortest tail that could still be the start of a value (at most the longest value's length
minus one byte) and decides it when more data, or the end, arrives. Overlapping occurrences
of different values are masked as one span.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MASK", "Masker"]

MASK = b"<concealed by vaultborn>"


class Masker:
    """Replaces every occurrence of any of ``values`` by ``MASK`` across chunk boundaries.

    >>> m = Masker([b"hunter2"])
    >>> m.feed(b"pw=hun") + m.feed(b"ter2!") + m.flush()
    b'pw=<concealed by vaultborn>!'
    """

    def __init__(self, values: Iterable[bytes], mask: bytes = MASK) -> None:
        self._values = sorted({v for v in values if v}, key=len, reverse=True)
        self._mask = mask
        self._longest = len(self._values[0]) if self._values else 0
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        """The masked output that ``chunk`` makes certain; the rest waits for more data."""
        data = self._pending + chunk
        spans = self._spans(data)
        cut = self._undecided_from(data)
        for start, end in spans:
            if start < cut < end:
                cut = start  # keep a whole occurrence together so it is masked as one span
        self._pending = data[cut:]
        return self._masked(data[:cut], [(s, e) for s, e in spans if e <= cut])

    def flush(self) -> bytes:
        """Everything still held back, masked: call at the end of the stream."""
        data, self._pending = self._pending, b""
        return self._masked(data, self._spans(data))

    def _spans(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for value in self._values:
            at = data.find(value)
            while at != -1:
                found.append((at, at + len(value)))
                at = data.find(value, at + 1)
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def _undecided_from(self, data: bytes) -> int:
        """The first index whose suffix is a proper prefix of some value (or ``len(data)``)."""
        for at in range(max(0, len(data) - self._longest + 1), len(data)):
            rest = data[at:]
            if any(len(v) > len(rest) and v.startswith(rest) for v in self._values):
                return at
        return len(data)

    def _masked(self, data: bytes, spans: list[tuple[int, int]]) -> bytes:
        out, pos = bytearray(), 0
        for start, end in spans:
            out += data[pos:start] + self._mask
            pos = end
        out += data[pos:]
        return bytes(out)
