"""Secret references: ``op://vault/item/[section/]field[?attribute=otp]``.

The syntax is 1Password's (reference/credentials.md §1.2): ``/`` delimits, names are
case-insensitive, and 1Password itself accepts only letters, digits, ``-``, ``_``, ``.`` and
whitespace in names. vaultborn parses a wider set (any printable character but ``/``), so a
reference to an item titled ``Auth0 M2M — my-agent`` parses; such a reference is not
``op_compatible`` and is resolved to ids before it is handed to ``op``.

The *canonical* reference that the rest of vaultborn stores is id-based (see
``vault.resolve``), so renaming an item never breaks a run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from vaultborn.vault.errors import InvalidReference

__all__ = ["OP_ID", "SecretReference", "is_op_id", "parse_reference"]

SCHEME = "op://"
MAX_LENGTH = 1024
# 1Password ids are 26 lowercase base32-ish characters (e.g. 7rvotkfz4has7lojakwstlwprm).
OP_ID = re.compile(r"[a-z0-9]{26}")
_OP_NAME = re.compile(r"[A-Za-z0-9\-_. ]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ATTRIBUTES = {"otp", "totp"}
_QUERY_KEYS = {"attribute": _ATTRIBUTES, "ssh-format": {"openssh"}}


def is_op_id(segment: str) -> bool:
    """True if ``segment`` has the shape of a 1Password vault or item id."""
    return OP_ID.fullmatch(segment) is not None


@dataclass(frozen=True)
class SecretReference:
    """A parsed ``op://`` reference. Holds names or ids, never a value.

    >>> ref = parse_reference("op://ACL/Auth0 — admin/password")
    >>> ref.vault, ref.item, ref.field
    ('ACL', 'Auth0 — admin', 'password')
    >>> str(ref.with_attribute("otp"))
    'op://ACL/Auth0 — admin/password?attribute=otp'
    """

    vault: str
    """Vault name or id."""
    item: str
    """Item title or id."""
    field: str
    """Field label or id."""
    section: str | None = None
    """Section label or id, when the reference names one."""
    attribute: str | None = None
    """``otp`` (or the SDK's ``totp``): the current code of an OTP field instead of its value."""
    ssh_format: str | None = None
    """``openssh`` for SSH keys; carried through unchanged."""

    @property
    def wants_otp(self) -> bool:
        """True if the reference asks for the current one-time code."""
        return self.attribute in _ATTRIBUTES

    @property
    def op_compatible(self) -> bool:
        """True if ``op`` itself accepts every name in this reference."""
        parts = [self.vault, self.item, self.field] + ([self.section] if self.section else [])
        return all(_OP_NAME.fullmatch(p) for p in parts)

    def with_attribute(self, attribute: str | None) -> SecretReference:
        """The same reference asking for ``attribute`` (``"otp"``) or for the plain value."""
        return replace(self, attribute=attribute)

    def __str__(self) -> str:
        path = [self.vault, self.item] + ([self.section] if self.section else []) + [self.field]
        query = []
        if self.attribute:
            query.append(f"attribute={self.attribute}")
        if self.ssh_format:
            query.append(f"ssh-format={self.ssh_format}")
        return SCHEME + "/".join(path) + ("?" + "&".join(query) if query else "")


def parse_reference(text: str) -> SecretReference:
    """Parse and validate an ``op://`` reference, or raise ``InvalidReference`` saying why."""
    if not isinstance(text, str):
        raise InvalidReference("a secret reference must be a string like op://vault/item/field")
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise InvalidReference(f"secret reference is longer than {MAX_LENGTH} characters")
    if not text.startswith(SCHEME):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise InvalidReference(
            f"secret reference must start with op:// (got {shown!r}); "
            "the form is op://vault/item/[section/]field"
        )
    if _CONTROL.search(text):
        raise InvalidReference("secret reference contains a control character")
    path, _, query = text[len(SCHEME) :].partition("?")
    segments = path.split("/")
    if len(segments) < 3:
        raise InvalidReference(
            f"secret reference {text!r} has {len(segments)} part(s); "
            "the form is op://vault/item/[section/]field"
        )
    if len(segments) > 4:
        raise InvalidReference(
            f"secret reference {text!r} has too many '/' parts; a name with '/' in it "
            "must be replaced by its id"
        )
    names = (
        ("vault", "item", "section", "field") if len(segments) == 4 else ("vault", "item", "field")
    )
    for name, segment in zip(names, segments, strict=True):
        if not segment.strip():
            raise InvalidReference(f"secret reference {text!r} has an empty {name} name")
    params = _parse_query(text, query)
    if len(segments) == 4:
        vault, item, section, field = segments
    else:
        (vault, item, field), section = segments, None
    return SecretReference(
        vault=vault,
        item=item,
        field=field,
        section=section,
        attribute=params.get("attribute"),
        ssh_format=params.get("ssh-format"),
    )


def _parse_query(text: str, query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    if not query:
        return params
    for pair in query.split("&"):
        key, sep, value = pair.partition("=")
        key = key.strip().lower()
        value = value.strip().lower()
        if key not in _QUERY_KEYS:
            known = ", ".join(sorted(_QUERY_KEYS))
            raise InvalidReference(
                f"secret reference {text!r} has an unknown query parameter {key!r} (known: {known})"
            )
        if not sep or value not in _QUERY_KEYS[key]:
            allowed = "|".join(sorted(_QUERY_KEYS[key]))
            raise InvalidReference(f"secret reference {text!r}: {key} must be one of {allowed}")
        if key in params:
            raise InvalidReference(f"secret reference {text!r} repeats {key!r}")
        params[key] = value
    return params
