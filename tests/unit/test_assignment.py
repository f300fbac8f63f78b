from __future__ import annotations

import re

import pytest

from vaultborn.core.errors import UsageError
from vaultborn.vault.assignment import Assignment, parse_assignment
from vaultborn.vault.model import FieldType
from vaultborn.vault.secret import Secret

URI = "otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&issuer=X"


def test_builtin_field_without_type_holds_a_secret_until_typed() -> None:
    a = parse_assignment("username=jane@acme.com")
    assert (a.label, a.type, a.section) == ("username", None, None)
    assert isinstance(a.value, Secret) and a.value.reveal() == "jane@acme.com"


def test_typed_custom_field_in_a_section() -> None:
    a = parse_assignment(f"Test Section 1.Test Field3[otp]={URI}")
    assert (a.section, a.label, a.type) == ("Test Section 1", "Test Field3", FieldType.OTP)
    assert isinstance(a.value, Secret) and a.value.reveal() == URI


def test_text_values_are_plain_and_equals_signs_survive() -> None:
    a = parse_assignment("note[text]=a=b=c")
    assert a == Assignment(label="note", value="a=b=c", type=FieldType.STRING)


def test_escapes_in_names() -> None:
    a = parse_assignment(r"my\.section.user\=name[text]=x")
    assert (a.section, a.label) == ("my.section", "user=name")


def test_delete() -> None:
    assert parse_assignment("sec.old[delete]") == Assignment(
        label="old", section="sec", delete=True
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("password", "has no '='"),
        ("=value", "no field name"),
        ("x[otp=1", "'[' without ']'"),
        ("x[colour]=1", "unknown field type 'colour'"),
        ("x[delete]=1", "nothing may follow"),
    ],
)
def test_malformed_assignments(text: str, why: str) -> None:
    with pytest.raises(UsageError, match=re.escape(why)):
        parse_assignment(text)


def test_errors_never_show_the_value() -> None:
    with pytest.raises(UsageError) as err:
        parse_assignment("x[colour]=SUPER-SECRET-VALUE")
    assert "SUPER-SECRET-VALUE" not in str(err.value)
