r"""op's assignment statements: ``[<section>.]<field>[[<fieldType>]]=<value>`` (§1.4).

``.``, ``=`` and ``\\`` in names are escaped with a backslash; ``field[delete]`` removes a field.
Values of secret types (password, concealed, otp) become ``Secret``s as soon as they are parsed.
"""

from __future__ import annotations

from dataclasses import dataclass

from vaultborn.core.errors import UsageError
from vaultborn.vault.model import FieldType
from vaultborn.vault.secret import Secret

__all__ = ["FIELD_TYPE_NAMES", "Assignment", "parse_assignment"]

FIELD_TYPE_NAMES: dict[str, FieldType] = {
    "password": FieldType.CONCEALED,
    "concealed": FieldType.CONCEALED,
    "text": FieldType.STRING,
    "string": FieldType.STRING,
    "email": FieldType.EMAIL,
    "url": FieldType.URL,
    "date": FieldType.DATE,
    "monthyear": FieldType.MONTH_YEAR,
    "phone": FieldType.PHONE,
    "otp": FieldType.OTP,
}


@dataclass(frozen=True)
class Assignment:
    """Set (or delete) one field of an item."""

    label: str
    value: str | Secret | None = None
    type: FieldType | None = None
    """None: a built-in field keeps its type; a new custom field becomes CONCEALED."""
    section: str | None = None
    delete: bool = False


def parse_assignment(text: str) -> Assignment:
    """Parse one assignment statement, or raise ``UsageError`` naming what is wrong."""
    name_chars: list[str] = []
    section: str | None = None
    i, n = 0, len(text)
    while i < n and text[i] not in "=[":
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            name_chars.append(text[i + 1])
            i += 2
            continue
        if ch == "." and section is None:
            section, name_chars = "".join(name_chars), []
        else:
            name_chars.append(ch)
        i += 1
    label = "".join(name_chars).strip()
    type_name: str | None = None
    if i < n and text[i] == "[":
        close = text.find("]", i)
        if close < 0:
            raise UsageError(f"assignment {_shown(text)}: '[' without ']'")
        type_name = text[i + 1 : close].strip().lower()
        i = close + 1
    if not label:
        raise UsageError(f"assignment {_shown(text)} has no field name")
    if type_name == "delete":
        if i != n:
            raise UsageError(f"assignment {_shown(text)}: nothing may follow [delete]")
        return Assignment(label=label, section=section or None, delete=True)
    if i >= n or text[i] != "=":
        raise UsageError(
            f"assignment {_shown(text)} has no '='; the form is [section.]field[[type]]=value"
        )
    ftype = None
    if type_name is not None:
        if type_name not in FIELD_TYPE_NAMES:
            known = ", ".join(sorted(FIELD_TYPE_NAMES))
            raise UsageError(
                f"assignment {_shown(text)}: unknown field type {type_name!r} "
                f"(known: {known}, delete)"
            )
        ftype = FIELD_TYPE_NAMES[type_name]
    raw = text[i + 1 :]
    secret_type = ftype is None or ftype.is_secret
    value: str | Secret = Secret(raw, label=label) if secret_type else raw
    return Assignment(label=label, value=value, type=ftype, section=section or None)


def _shown(text: str) -> str:
    """The part of an assignment that is safe to print: its name, never its value."""
    return repr(text.split("=", 1)[0] + ("=…" if "=" in text else ""))
