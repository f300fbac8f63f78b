"""Masking secret values, and their common encodings, in output that arrives in pieces.

**Forms** (``forms_of``). A value is masked as it is, as ``op run`` does. A value of at least
``MIN_ENCODED_LENGTH`` bytes is also masked reversed, in hex (lower and upper case),
percent-encoded (``quote`` with and without ``/`` kept, ``quote_plus``; upper- and lower-case
escapes), and in standard and URL-safe base64 at each of the three alignments it can have
inside a longer encoded text: for each, the characters that depend on the value's bytes only
(so ``aHVudGVyM`` of ``aHVudGVyMg==``, whatever comes before or after it). Shorter values are
masked exactly only: their encodings are a few characters long and would turn up in ordinary
text (hex digits, words).

**Streaming.** A value may be split across reads (``"hun"`` then ``"ter2"``), so the masker
holds back the shortest tail that could still be the start of a form and decides it when more
data, or the end, arrives. Overlapping occurrences are masked as one span.

**Release.** Held-back output must not stall (a prompt that ends with a value's first
character), so the caller releases the tail after a short wait (``release``): a tail shorter
than ``REVEAL_BELOW`` bytes goes out as it is, a longer one as the mask. Either way the masker
remembers what went out: if the rest of the value follows, it is masked too (or swallowed, when
the mask already stands for it), so a value never appears whole however it is timed.

**Interleaving.** ``feed_pieces`` tags data with an origin (0 stdout, 1 stderr) and answers
``Piece`` s routed back to their origin, a mask as ``None``: one masker over both streams, in
the order they were written, catches a value split across stdout and stderr.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "MIN_ENCODED_LENGTH", "REVEAL_BELOW", "Masker", "Piece", "forms_of"]

MASK = b"<concealed by vaultborn>"
MIN_ENCODED_LENGTH = 8
"""Values shorter than this (in bytes) are masked in their exact form only."""
REVEAL_BELOW = 4
"""A held tail shorter than this is released as it is; from this length on, as the mask."""

Piece = tuple[int, bytes | None]
"""Output for one origin: bytes to write as they are, or None where the mask goes."""

_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def forms_of(value: bytes) -> set[bytes]:
    """Every form of ``value`` that is masked (see the module's documentation)."""
    forms = {value}
    if len(value) >= MIN_ENCODED_LENGTH:
        forms.add(value[::-1])
        forms.update({value.hex().encode(), value.hex().upper().encode()})
        for quoted in (quote(value, safe=""), quote(value, safe="/"), quote_plus(value, safe="")):
            lower = _ESCAPE.sub(lambda m: m.group().lower(), quoted)
            forms.update({quoted.encode(), lower.encode()})
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.update(_base64_core(encode, value, shift) for shift in range(3))
    return {form for form in forms if form}


def _base64_core(encode: Callable[[bytes], bytes], value: bytes, shift: int) -> bytes:
    """The base64 characters that carry bits of ``value`` only, when ``shift`` bytes precede it."""
    encoded = encode(bytes(shift) + value).rstrip(b"=")
    first = (8 * shift + 5) // 6  # the characters before hold bits of the preceding bytes
    last = 8 * (shift + len(value)) // 6  # the one after holds bits of the following bytes
    return encoded[first:last]


class Masker:
    """Replaces every form of any of ``values`` by ``MASK`` across chunk boundaries.

    >>> m = Masker([b"hunter2"])
    >>> m.feed(b"pw=hun") + m.feed(b"ter2!") + m.flush()
    b'pw=<concealed by vaultborn>!'

    Args:
        values: The secret values.
        mask: What stands in for a value.
        encodings: Mask the encoded forms too (``forms_of``), not only the exact values.
    """

    def __init__(
        self, values: Iterable[bytes], mask: bytes = MASK, *, encodings: bool = True
    ) -> None:
        forms: set[bytes] = set()
        for value in values:
            if value:
                forms |= forms_of(value) if encodings else {value}
        self._forms = sorted(forms, key=len, reverse=True)
        self._mask = mask
        self._pending = b""
        self._origins = bytearray()  # the origin of each pending byte
        self._released = 0  # how many leading pending bytes went out already
        self._released_as_mask = False  # whether the last of them went out as the mask

    @property
    def holding(self) -> bool:
        """Whether output is held back that no one has seen yet (``release`` would send it)."""
        return len(self._pending) > self._released

    def feed(self, chunk: bytes) -> bytes:
        """The masked output that ``chunk`` makes certain; the rest waits for more data."""
        return self._joined(self.feed_pieces(chunk))

    def release(self) -> bytes:
        """What is held back, sent out now: as it is if short, else as the mask."""
        return self._joined(self.release_pieces())

    def flush(self) -> bytes:
        """Everything still held back, masked: call at the end of the stream."""
        return self._joined(self.flush_pieces())

    def feed_pieces(self, chunk: bytes, origin: int = 0) -> list[Piece]:
        """Like ``feed`` for data from ``origin``, as pieces routed to their origins."""
        data = self._pending + chunk
        origins = self._origins + bytes([origin]) * len(chunk)
        spans = self._spans(data)
        cut = self._undecided_from(data)
        for start, end in spans:
            if start < cut < end:
                cut = start  # keep a whole occurrence together so it is masked as one span
        return self._emit(data, origins, spans, cut)

    def release_pieces(self) -> list[Piece]:
        """Like ``release``, as pieces."""
        if not self.holding:
            return []
        held, origins = self._pending, self._origins
        pieces: list[Piece] = []
        if self._released_as_mask:
            pass  # the mask already out stands for what followed it
        elif len(held) < REVEAL_BELOW:
            # As at the end of the stream (a value complete in it is masked), but kept, so
            # that the rest of a value begun here is masked when it comes.
            pieces, self._released_as_mask = self._render(
                held, origins, self._spans(held), len(held)
            )
        else:
            pieces.append((origins[self._released], None))
            self._released_as_mask = True
        self._released = len(held)
        return pieces

    def flush_pieces(self) -> list[Piece]:
        """Like ``flush``, as pieces."""
        data = self._pending
        return self._emit(data, self._origins, self._spans(data), len(data))

    def _emit(
        self, data: bytes, origins: bytearray, spans: list[tuple[int, int]], cut: int
    ) -> list[Piece]:
        """Send out ``data[:cut]`` (masked, minus what went out before); keep the rest."""
        pieces, _ = self._render(data, origins, spans, cut)
        self._pending, self._origins = data[cut:], origins[cut:]
        self._released = max(0, self._released - cut)
        if not self._released:
            self._released_as_mask = False
        return pieces

    def _render(
        self, data: bytes, origins: bytearray, spans: list[tuple[int, int]], cut: int
    ) -> tuple[list[Piece], bool]:
        """The pieces of ``data[:cut]`` not yet out, and whether its last byte is masked."""
        pieces: list[Piece] = []
        pos = self._released
        masked = self._released_as_mask
        for start, end in spans:
            if end > cut:
                break
            if end <= pos:
                continue
            if start < pos:  # a value whose start went out already, plain or as the mask
                if not self._released_as_mask:
                    pieces.append((origins[pos], None))
            else:
                _plain(pieces, data, origins, pos, start)
                pieces.append((origins[start], None))
            pos, masked = end, True
        if pos < cut:
            _plain(pieces, data, origins, pos, cut)
            masked = False
        return pieces, masked

    def _spans(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for form in self._forms:
            at = data.find(form)
            while at != -1:
                found.append((at, at + len(form)))
                at = data.find(form, at + 1)
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def _undecided_from(self, data: bytes) -> int:
        """The first index whose suffix is a proper prefix of some form (or ``len(data)``)."""
        earliest = len(data)
        for form in self._forms:
            # Candidates are where the form's first byte occurs in the last len(form)-1 bytes.
            at = data.find(form[:1], max(0, len(data) - len(form) + 1), earliest)
            while at != -1:
                if form.startswith(data[at:]):
                    earliest = at
                    break
                at = data.find(form[:1], at + 1, earliest)
        return earliest

    def _joined(self, pieces: list[Piece]) -> bytes:
        return b"".join(self._mask if data is None else data for _, data in pieces)


def _plain(pieces: list[Piece], data: bytes, origins: bytearray, start: int, end: int) -> None:
    """Append ``data[start:end]`` as pieces, one per run of bytes from the same origin."""
    while start < end:
        origin = origins[start]
        if origins.count(origin, start, end) == end - start:  # one origin: the usual case
            run = end
        else:
            others = set(origins[start:end]) - {origin}
            run = min(at for other in others if (at := origins.find(other, start, end)) != -1)
        pieces.append((origin, data[start:run]))
        start = run
