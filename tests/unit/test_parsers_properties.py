"""Every parser answers any input with a value or a one-line UsageError, nothing else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultborn.core.errors import UsageError
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.otp import parse_otpauth_uri
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.reference import SecretReference, parse_reference

pytestmark = pytest.mark.robustness("hostile input: references, otpauth, recipes")

_name_chars = st.characters(blacklist_characters="/?\x7f", blacklist_categories=("Cc", "Cs"))
names = st.text(_name_chars, min_size=1, max_size=20).filter(lambda s: s.strip() == s and s)


@settings(max_examples=150, deadline=None)
@given(
    vault=names,
    item=names,
    section=st.none() | names,
    field=names,
    attribute=st.sampled_from([None, "otp", "totp"]),
)
def test_references_round_trip(
    vault: str, item: str, section: str | None, field: str, attribute: str | None
) -> None:
    ref = SecretReference(vault, item, field, section=section, attribute=attribute)
    assert parse_reference(str(ref)) == ref


def _only_usage_errors(parse: Callable[[str], object], text: str) -> None:
    try:
        parse(text)
    except UsageError as exc:
        assert "\n" not in str(exc)


_texts = st.text(max_size=200) | st.from_regex(
    r"(op|otpauth)://[a-z/ ]{0,10}\??[a-z=&]{0,20}", fullmatch=True
)


@pytest.mark.parametrize(
    "parse",
    [parse_reference, parse_otpauth_uri, parse_recipe, parse_assignment],
    ids=["reference", "otpauth", "recipe", "assignment"],
)
@settings(max_examples=150, deadline=None)
@given(text=_texts)
def test_parsers_raise_only_usage_errors(parse: Callable[[str], object], text: str) -> None:
    _only_usage_errors(parse, text)


@settings(max_examples=150, deadline=None)
@given(
    secret=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567 -=", max_size=60),
    params=st.dictionaries(
        st.sampled_from(["issuer", "algorithm", "digits", "period", "counter", "x"]),
        st.text(max_size=8),
        max_size=4,
    ),
)
def test_otpauth_uris_with_odd_parameters(secret: str, params: dict[str, str]) -> None:
    from urllib.parse import urlencode

    uri = "otpauth://totp/Label?" + urlencode({"secret": secret, **params})
    try:
        parsed = parse_otpauth_uri(uri)
    except UsageError as exc:
        if len(secret.strip()) >= 8:
            assert secret.strip() not in str(exc)
        return
    assert parsed.digits in (6, 7, 8) and parsed.algorithm in ("SHA1", "SHA256", "SHA512")
