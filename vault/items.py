"""Pure item building and editing, shared by the local backend and the fake ``op``.

These functions encode 1Password's documented item behaviour once: category templates, the
password generated inside the vault, custom fields defaulting to CONCEALED, OTP fields holding
a validated otpauth URI, and a version that increases only when something changed. An SSH Key
item's key pair is generated here too (``vault.keypair``), and its key fields are the vault's
alone: an edit may not replace them, so the public half always matches the private one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from vaultborn.core.errors import UsageError
from vaultborn.vault.assignment import Assignment
from vaultborn.vault.errors import FieldNotFound
from vaultborn.vault.keypair import KeyKind, generate_key
from vaultborn.vault.model import Category, Field, FieldType, Item, Purpose, Section, VaultInfo
from vaultborn.vault.otp import parse_otpauth_uri
from vaultborn.vault.recipe import Recipe, generate_password
from vaultborn.vault.secret import Secret

__all__ = [
    "KEY_FIELDS",
    "Generator",
    "ItemEdit",
    "ItemSpec",
    "apply_edit",
    "new_id",
    "new_item",
    "now_iso",
]

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
OTP_LABEL = "one-time password"
KEY_FIELDS = (
    ("private_key", "private key", FieldType.SSHKEY),
    ("public_key", "public key", FieldType.STRING),
    ("fingerprint", "fingerprint", FieldType.STRING),
)
"""An SSH Key item's key fields: (id, label, type)."""

Generator = Callable[[Recipe], Secret]
"""Makes a password from a recipe: vaultborn's own, or a vault's (the 1Password SDK's)."""

_TEMPLATES: dict[Category, tuple[tuple[str, FieldType, Purpose | None], ...]] = {
    Category.LOGIN: (
        ("username", FieldType.STRING, Purpose.USERNAME),
        ("password", FieldType.CONCEALED, Purpose.PASSWORD),
        ("notesPlain", FieldType.STRING, Purpose.NOTES),
    ),
    Category.PASSWORD: (
        ("password", FieldType.CONCEALED, Purpose.PASSWORD),
        ("notesPlain", FieldType.STRING, Purpose.NOTES),
    ),
    Category.API_CREDENTIAL: (
        ("username", FieldType.STRING, None),
        ("credential", FieldType.CONCEALED, None),
        ("notesPlain", FieldType.STRING, Purpose.NOTES),
    ),
    Category.SECURE_NOTE: (("notesPlain", FieldType.STRING, Purpose.NOTES),),
    Category.SSH_KEY: (("notesPlain", FieldType.STRING, Purpose.NOTES),),
}


def new_id(prefix: str = "") -> str:
    """A fresh 1Password-shaped id: 26 lowercase base32 characters."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))


def now_iso() -> str:
    """The current UTC time as op prints it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ItemSpec:
    """What to create: the vault fills in ids, timestamps and the generated password."""

    title: str
    category: Category = Category.LOGIN
    tags: tuple[str, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    generate_password: Recipe | None = None
    generate_key: KeyKind | None = None
    """For an SSH Key item (and only there): the key pair to generate inside the vault."""


@dataclass(frozen=True)
class ItemEdit:
    """What to change on an existing item; None leaves a part as it is."""

    title: str | None = None
    tags: tuple[str, ...] | None = None
    assignments: tuple[Assignment, ...] = ()
    generate_password: Recipe | None = None


def new_item(
    spec: ItemSpec,
    vault: VaultInfo,
    *,
    item_id: str | None = None,
    generate: Generator = generate_password,
) -> Item:
    """Build a new item (version 1) from ``spec``; ``generate`` makes its password."""
    if not spec.title.strip():
        raise UsageError("an item needs a title")
    stamp = now_iso()
    fields = tuple(
        Field(id=fid, type=ftype, label=fid, purpose=purpose)
        for fid, ftype, purpose in _TEMPLATES[spec.category]
    ) + _key_fields(spec)
    base = Item(
        id=item_id or new_id(),
        title=spec.title,
        version=1,
        vault=vault,
        category=spec.category,
        tags=_clean_tags(spec.tags),
        created_at=stamp,
        updated_at=stamp,
        fields=fields,
    )
    item = _apply(base, spec.assignments, spec.generate_password, generate)
    # Built-in fields left empty are not shown by op; keep the item tidy the same way.
    return replace(
        item, fields=tuple(f for f in item.fields if f.value is not None or f.section is not None)
    )


def _key_fields(spec: ItemSpec) -> tuple[Field, ...]:
    """A new SSH Key item's key pair, generated here; nothing for other categories."""
    if spec.category is not Category.SSH_KEY:
        if spec.generate_key is not None:
            raise UsageError("a key pair can be generated for SSH Key items only")
        return ()
    if spec.generate_key is None:
        raise UsageError(
            "an SSH Key item's key pair is generated in the vault: name its type (rsa or p256)"
        )
    _check_key_assignments(spec.assignments)
    made = generate_key(spec.generate_key)
    values: tuple[str | Secret, ...] = (
        made.private_pem,
        made.public.openssh,
        made.public.fingerprint,
    )
    return tuple(
        Field(id=fid, type=ftype, label=label, value=value)
        for (fid, label, ftype), value in zip(KEY_FIELDS, values, strict=True)
    )


def _check_key_assignments(assignments: Sequence[Assignment]) -> None:
    names = {n.casefold() for fid, label, _ in KEY_FIELDS for n in (fid, label)}
    for a in assignments:
        if a.section is None and a.label.casefold() in names:
            raise UsageError(
                f"the {a.label!r} of an SSH Key item is the vault's own: the key pair is "
                "generated inside the vault and never replaced (create a new item instead)"
            )


def apply_edit(item: Item, edit: ItemEdit, *, generate: Generator = generate_password) -> Item:
    """The item after ``edit``; the version goes up by one only if something changed."""
    if item.category is Category.SSH_KEY:
        _check_key_assignments(edit.assignments)
    changed = _apply(item, edit.assignments, edit.generate_password, generate)
    if edit.title is not None:
        if not edit.title.strip():
            raise UsageError("an item needs a title")
        changed = replace(changed, title=edit.title)
    if edit.tags is not None:
        changed = replace(changed, tags=_clean_tags(edit.tags))
    if _same(changed, item):
        return item
    return replace(changed, version=item.version + 1, updated_at=now_iso())


def _apply(
    item: Item, assignments: Sequence[Assignment], recipe: Recipe | None, generate: Generator
) -> Item:
    fields, sections = list(item.fields), list(item.sections)
    for a in assignments:
        section = _section(sections, a.section) if a.section else None
        index = next(
            (
                i
                for i, f in enumerate(fields)
                if f.matches(a.label)
                and (f.section.id if f.section else None) == (section.id if section else None)
            ),
            None,
        )
        if a.delete:
            if index is None:
                raise FieldNotFound(f"item {item.title!r} has no field {a.label!r} to delete")
            del fields[index]
            continue
        old = fields[index] if index is not None else None
        ftype = a.type or (old.type if old else FieldType.CONCEALED)
        value = _typed_value(a, ftype)
        fid = old.id if old else (new_id("TOTP_") if ftype is FieldType.OTP else new_id())
        label = old.label if old else a.label
        new = Field(
            id=fid,
            type=ftype,
            label=label,
            value=value,
            purpose=old.purpose if old else None,
            section=section,
        )
        if index is None:
            fields.append(new)
        else:
            fields[index] = new
    if recipe is not None:
        fields = _with_generated_password(item, fields, recipe, generate)
    used = {f.section.id for f in fields if f.section}
    return replace(item, fields=tuple(fields), sections=tuple(s for s in sections if s.id in used))


def _typed_value(a: Assignment, ftype: FieldType) -> str | Secret | None:
    raw = a.value.reveal() if isinstance(a.value, Secret) else a.value
    if raw is None:
        return None
    if ftype is FieldType.OTP:
        parse_otpauth_uri(raw)  # refuse a malformed seed before it reaches the vault
        return Secret(raw, label=a.label)
    return Secret(raw, label=a.label) if ftype.is_secret else raw


def _with_generated_password(
    item: Item, fields: list[Field], recipe: Recipe, generate: Generator
) -> list[Field]:
    if not item.category.can_generate_password:
        raise UsageError(
            f"a password can be generated for Login and Password items, not "
            f"{item.category.value.replace('_', ' ').title()} items"
        )
    password = generate(recipe)
    for i, f in enumerate(fields):
        if f.purpose is Purpose.PASSWORD:
            fields[i] = replace(f, value=password, generated=True)
            return fields
    fields.append(
        Field(
            id="password",
            type=FieldType.CONCEALED,
            label="password",
            value=password,
            purpose=Purpose.PASSWORD,
            generated=True,
        )
    )
    return fields


def _section(sections: list[Section], name: str) -> Section:
    for s in sections:
        if s.id == name or s.label.casefold() == name.casefold():
            return s
    created = Section(id=new_id("Section_"), label=name)
    sections.append(created)
    return created


def _clean_tags(tags: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))


def _same(a: Item, b: Item) -> bool:
    """Equal in everything but version and timestamps (``Secret`` compares in constant time)."""
    return replace(a, version=b.version, created_at=b.created_at, updated_at=b.updated_at) == b
