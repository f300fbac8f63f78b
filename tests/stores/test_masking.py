"""The masker: every form of every value, however the stream is chunked, released or split."""

from __future__ import annotations

import base64
import itertools
import re
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vaultborn.stores.masking import MASK, MIN_ENCODED_LENGTH, Masker, forms_of
from vaultborn.stores.streams import MaskedStreams

pytestmark = pytest.mark.robustness("secret canaries: masked output of run")


def _run(values: list[bytes], chunks: list[bytes]) -> bytes:
    masker = Masker(values)
    return b"".join(masker.feed(c) for c in chunks) + masker.flush()


def test_split_anywhere_is_masked() -> None:
    data = b"a=hunter2;b=hunter2"
    for cut in range(len(data) + 1):
        assert _run([b"hunter2"], [data[:cut], data[cut:]]) == b"a=" + MASK + b";b=" + MASK


def test_nothing_held_back_that_cannot_start_a_value() -> None:
    masker = Masker([b"hunter2"])
    assert masker.feed(b"prompt> ") == b"prompt> "
    assert masker.feed(b"hun") == b""
    assert masker.feed(b"gry\n") == b"hungry\n"


def test_a_longer_value_is_not_cut_short_by_a_shorter_prefix() -> None:
    assert _run([b"abc", b"abcdef"], [b"x abc", b"def y"]) == b"x " + MASK + b" y"
    assert _run([b"abc", b"abcdef"], [b"x abc", b"dXf y"]) == b"x " + MASK + b"dXf y"


def test_overlapping_values_are_one_masked_span() -> None:
    assert _run([b"xab", b"abcd"], [b"1xa", b"bcd2"]) == b"1" + MASK + b"2"


# Digits and spaces only: no value can be formed from the mask's own text.
_BYTES = st.text(alphabet="0123 ", max_size=60).map(str.encode)


@given(
    values=st.lists(
        st.text(alphabet="0123", min_size=1, max_size=6).map(str.encode), min_size=1, max_size=3
    ),
    data=_BYTES,
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=6),
)
def test_chunking_never_changes_the_result(
    values: list[bytes], data: bytes, cuts: list[int]
) -> None:
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    whole = _run(values, [data])
    assert _run(values, chunks) == whole
    for value in values:
        assert value not in whole


# --- encoded forms ---------------------------------------------------------------------------

VALUE = b"s3cr3t/V+al ue?0123"  # 19 bytes: '/', '+', ' ' and '?' differ between encodings


def _b64_core(encoded: bytes, before: int, length: int) -> bytes:
    """The characters of ``encoded`` that carry bits of bytes [before, before+length) only."""
    return encoded[-(-8 * before // 6) : 8 * (before + length) // 6]


ENCODINGS = {
    "exact": lambda b: b,
    "reversed": lambda b: b[::-1],
    "hex": lambda b: b.hex().encode(),
    "HEX": lambda b: b.hex().upper().encode(),
    "base64": base64.b64encode,
    "base64url": base64.urlsafe_b64encode,
    "base64url-unpadded": lambda b: base64.urlsafe_b64encode(b).rstrip(b"="),
    "percent": lambda b: quote(b, safe="").encode(),
    "percent-path": lambda b: quote(b).encode(),
    "percent-plus": lambda b: quote_plus(b).encode(),
    "percent-lower": lambda b: re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(b)).encode(),
}


def _hidden_part(name: str, before: bytes, value: bytes, after: bytes) -> bytes:
    """What of ``value``'s encoding must not survive: all of it, or base64's own characters."""
    if name.startswith("base64"):
        return _b64_core(ENCODINGS[name](before + value + after), len(before), len(value))
    if name == "reversed":
        return value[::-1]
    return ENCODINGS[name](value)


@pytest.mark.parametrize("name", list(ENCODINGS))
@pytest.mark.parametrize("before", [b"", b"k", b"ke", b"key=", b"x" * 11])
def test_each_encoding_at_each_alignment_is_masked(name: str, before: bytes) -> None:
    text = ENCODINGS[name](before + VALUE + b";")
    masked = _run([VALUE], [text])
    assert MASK in masked
    assert _hidden_part(name, before, VALUE, b";") not in masked


@given(
    value=st.binary(min_size=MIN_ENCODED_LENGTH, max_size=40),
    before=st.binary(max_size=7),
    after=st.binary(max_size=7),
    name=st.sampled_from(sorted(ENCODINGS)),
    cut=st.integers(min_value=0, max_value=200),
)
def test_any_value_in_any_encoding_is_masked_however_cut(
    value: bytes, before: bytes, after: bytes, name: str, cut: int
) -> None:
    hidden = _hidden_part(name, before, value, after)
    assume(hidden not in MASK)  # a value spelling '<conceal' shows in every mask
    text = ENCODINGS[name](before + value + after)
    masked = _run([value], [text[:cut], text[cut:]])
    assert hidden not in masked
    assert MASK in masked


def test_short_values_are_masked_exactly_only() -> None:
    short, long = b"p4ss-w0", b"p4ss-w0r"  # 7 and 8 bytes
    assert len(short) == MIN_ENCODED_LENGTH - 1 and len(long) == MIN_ENCODED_LENGTH
    assert forms_of(short) == {short}
    text = b"id " + short.hex().encode() + b" " + base64.b64encode(short) + b" " + short
    assert _run([short], [text]) == text.replace(short, MASK) != text
    assert long.hex().encode() in forms_of(long)
    assert MASK in _run([long], [long.hex().encode()])


@given(value=st.binary(min_size=MIN_ENCODED_LENGTH, max_size=64))
def test_every_encoded_form_is_long_enough_not_to_mask_ordinary_text(value: bytes) -> None:
    assert min(len(form) for form in forms_of(value)) >= MIN_ENCODED_LENGTH


# --- release of a held tail, and what follows it ---------------------------------------------


def test_a_short_tail_is_released_as_it_is_and_the_rest_of_the_value_masked() -> None:
    masker = Masker([b"hunter2"])
    assert masker.feed(b"prompt> hun") == b"prompt> "
    assert masker.holding
    assert masker.release() == b"hun"
    assert not masker.holding and masker.release() == b""
    assert masker.feed(b"ter2!") == MASK + b"!"  # the value never shows whole
    assert masker.feed(b"hun") + masker.release() + masker.feed(b"gry") == b"hungry"


def test_a_long_tail_is_released_as_the_mask_and_the_rest_swallowed() -> None:
    masker = Masker([b"hunter2-secret"])
    assert masker.feed(b"<hunter") == b"<"
    assert masker.release() == MASK
    assert masker.feed(b"2-sec") == b""  # still the value: held, and the mask stands for it
    assert masker.release() == b""
    assert masker.feed(b"ret>") == b">"
    assert masker.feed(b"hunt") + masker.release() + masker.feed(b"ing\n") == MASK + b"ing\n"
    assert masker.flush() == b""


# Values and data drawn from digits and spaces: no form can be made of the mask's own text,
# and the hex forms of digit values are digits too.
_DIGITS = st.text(alphabet="0123", min_size=1, max_size=12).map(str.encode)


def _forms(values: list[bytes]) -> set[bytes]:
    return set().union(*(forms_of(v) for v in values))


@given(
    values=st.lists(_DIGITS, min_size=1, max_size=3),
    data=st.text(alphabet="0123 ", max_size=80).map(str.encode),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=8),
    releases=st.lists(st.booleans(), max_size=9),
)
def test_releases_never_let_a_form_out_whole(
    values: list[bytes], data: bytes, cuts: list[int], releases: list[bool]
) -> None:
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    masker, out = Masker(values), b""
    for chunk, release in zip(chunks, [*releases, *[False] * len(chunks)], strict=False):
        out += masker.feed(chunk) + (masker.release() if release else b"")
    out += masker.flush()
    for form in _forms(values):
        assert form not in out
    if not any(releases[: len(chunks)]):
        assert out == _run(values, [data])  # without releases, cutting changes nothing


@given(
    values=st.lists(_DIGITS, min_size=1, max_size=2),
    writes=st.lists(
        st.tuples(st.integers(0, 1), st.text(alphabet="0123 ", max_size=12).map(str.encode)),
        max_size=12,
    ),
    releases=st.lists(st.booleans(), max_size=12),
)
def test_a_value_split_across_stdout_and_stderr_is_masked(
    values: list[bytes], writes: list[tuple[int, bytes]], releases: list[bool]
) -> None:
    written: list[tuple[int, bytes]] = []
    streams = MaskedStreams(
        [lambda b: written.append((0, b)), lambda b: written.append((1, b))], values
    )
    maskers = [streams.masker(), streams.masker()]
    for (origin, chunk), release in zip(writes, [*releases, *[False] * len(writes)], strict=False):
        streams.send(origin, maskers[origin].feed_pieces(chunk, origin))
        if release:
            streams.send(origin, maskers[origin].release_pieces())
    for origin in (0, 1):
        streams.send(origin, maskers[origin].flush_pieces(), last=True)
    seen = [b"".join(b for o, b in written if o == origin) for origin in (0, 1)]
    interleaved = b"".join(b for _, b in written)
    for form in _forms(values):
        assert form not in seen[0] and form not in seen[1] and form not in interleaved
