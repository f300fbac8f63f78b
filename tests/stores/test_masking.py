"""The masker: every occurrence of every value, however the stream is chunked."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from vaultborn.stores.masking import MASK, Masker


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
