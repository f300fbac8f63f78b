from __future__ import annotations

import pytest

from vaultborn.vault.errors import InvalidReference
from vaultborn.vault.reference import SecretReference, is_op_id, parse_reference


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("op://ACL/GitHub/password", SecretReference("ACL", "GitHub", "password")),
        (
            "op://app-prod/db/one-time password?attribute=otp",
            SecretReference("app-prod", "db", "one-time password", attribute="otp"),
        ),
        (
            "op://V/I/Sec tion/field",
            SecretReference("V", "I", "field", section="Sec tion"),
        ),
        (
            "op://ACL/Auth0 M2M — my-agent/credential",
            SecretReference("ACL", "Auth0 M2M — my-agent", "credential"),
        ),
        ("  op://a/b/c\n", SecretReference("a", "b", "c")),
        (
            "op://v/i/f?attribute=TOTP",
            SecretReference("v", "i", "f", attribute="totp"),
        ),
        (
            "op://v/server/ssh/key?ssh-format=openssh",
            SecretReference("v", "server", "key", section="ssh", ssh_format="openssh"),
        ),
    ],
)
def test_parses(text: str, expected: SecretReference) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "op://ACL/GitHub/password",
        "op://app-prod/db/one-time password?attribute=otp",
        "op://V/I/Section/field",
        "op://v/server/ssh/key?ssh-format=openssh",
    ],
)
def test_round_trips(text: str) -> None:
    assert str(parse_reference(text)) == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("ACL/GitHub/password", "must start with op://"),
        ("https://ACL/GitHub/password", "must start with op://"),
        ("op://ACL/GitHub", "has 2 part(s)"),
        ("op://ACL", "has 1 part(s)"),
        ("op://a/b/c/d/e", "too many '/' parts"),
        ("op://ACL//password", "empty item name"),
        ("op:// /x/password", "empty vault name"),
        ("op://a/b/c/", "empty field name"),
        ("op://a/b/c?attribute=code", "attribute must be one of otp|totp"),
        ("op://a/b/c?attribute", "attribute must be one of"),
        ("op://a/b/c?colour=red", "unknown query parameter 'colour'"),
        ("op://a/b/c?attribute=otp&attribute=otp", "repeats 'attribute'"),
        ("op://a/b\x00/c", "control character"),
        ("op://a/" + "b" * 2000 + "/c", "longer than 1024"),
    ],
)
def test_malformed_gives_one_line_naming_the_problem(text: str, why: str) -> None:
    with pytest.raises(InvalidReference) as err:
        parse_reference(text)
    message = str(err.value)
    assert why in message
    assert "\n" not in message


def test_non_string_is_a_usage_error() -> None:
    with pytest.raises(InvalidReference):
        parse_reference(None)  # type: ignore[arg-type]


def test_op_compatibility() -> None:
    assert parse_reference("op://ACL/my item_1.x/password").op_compatible
    assert not parse_reference("op://ACL/Auth0 M2M — my-agent/credential").op_compatible
    assert not parse_reference("op://ACL/a@b/password").op_compatible


def test_otp_helpers() -> None:
    ref = parse_reference("op://v/i/f")
    assert not ref.wants_otp
    assert ref.with_attribute("otp").wants_otp
    assert str(ref.with_attribute("otp")) == "op://v/i/f?attribute=otp"


def test_op_id_shape() -> None:
    assert is_op_id("7rvotkfz4has7lojakwstlwprm")
    assert not is_op_id("ACL")
    assert not is_op_id("7RVOTKFZ4HAS7LOJAKWSTLWPRM")
