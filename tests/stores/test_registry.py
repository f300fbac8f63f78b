"""The store registry picks a backend by scheme and names the known ones otherwise."""

from __future__ import annotations

import pytest

from stores.errors import InvalidTarget
from stores.registry import known_schemes, parse_target
from stores.target import AWS_SCHEME


def test_a_known_scheme_is_parsed_by_its_backend() -> None:
    assert parse_target(f"{AWS_SCHEME}://us-east-1/prod/api-key") == (
        f"{AWS_SCHEME}://us-east-1/prod/api-key"
    )


def test_the_backend_parser_stays_strict() -> None:
    with pytest.raises(InvalidTarget, match="not an AWS region"):
        parse_target(f"{AWS_SCHEME}://nowhere/prod/api-key")


@pytest.mark.parametrize("text", ["gh-actions://org/repo/KEY", "prod/api-key", ""])
def test_an_unknown_scheme_is_one_line_listing_the_known_ones(text: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target(text)
    message = str(caught.value)
    assert "\n" not in message
    assert all(f"{s}://" in message for s in known_schemes())
