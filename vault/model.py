"""Vault items in the shape of ``op item get --format json`` (reference/credentials.md §1.6).

Values of CONCEALED and OTP fields are ``Secret``s; ``to_json(reveal=False)`` leaves them out,
as ``op`` does without ``--reveal``. Everything else here is metadata and safe to print.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from vaultborn.core.errors import UsageError
from vaultborn.vault.errors import FieldNotFound
from vaultborn.vault.reference import SecretReference
from vaultborn.vault.secret import Secret

__all__ = [
    "Category",
    "Field",
    "FieldType",
    "Item",
    "ItemSummary",
    "Purpose",
    "Section",
    "VaultInfo",
]


class Category(StrEnum):
    """Item categories vaultborn creates (op's output names)."""

    LOGIN = "LOGIN"
    PASSWORD = "PASSWORD"  # noqa: S105 (a category name, not a password)
    API_CREDENTIAL = "API_CREDENTIAL"
    SECURE_NOTE = "SECURE_NOTE"
    SSH_KEY = "SSH_KEY"

    @classmethod
    def parse(cls, text: str) -> Category:
        """Parse as op does: case-insensitive, ignoring spaces and underscores."""
        key = re.sub(r"[\s_]", "", text).upper()
        for member in cls:
            if member.value.replace("_", "") == key:
                return member
        known = ", ".join(m.value.lower().replace("_", " ") for m in cls)
        raise UsageError(f"unknown item category {text!r} (known: {known})")

    @property
    def can_generate_password(self) -> bool:
        """Op generates passwords for Login and Password items only."""
        return self in (Category.LOGIN, Category.PASSWORD)


class FieldType(StrEnum):
    """Field types of op's JSON output."""

    STRING = "STRING"
    CONCEALED = "CONCEALED"
    OTP = "OTP"
    EMAIL = "EMAIL"
    URL = "URL"
    DATE = "DATE"
    MONTH_YEAR = "MONTH_YEAR"
    PHONE = "PHONE"
    SSHKEY = "SSHKEY"
    """An SSH Key item's private key (its public half and fingerprint are STRING fields)."""

    @property
    def is_secret(self) -> bool:
        """Values of this type are secrets (held as ``Secret``, concealed by default)."""
        return self in (FieldType.CONCEALED, FieldType.OTP, FieldType.SSHKEY)


class Purpose(StrEnum):
    """The role of a built-in field."""

    USERNAME = "USERNAME"
    PASSWORD = "PASSWORD"  # noqa: S105 (a category name, not a password)
    NOTES = "NOTES"


@dataclass(frozen=True)
class Section:
    """A named group of fields inside an item."""

    id: str
    label: str

    def to_json(self) -> dict[str, str]:
        """Op's section object."""
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True)
class Field:
    """One field of an item. ``value`` is a ``Secret`` for CONCEALED/OTP fields (or None)."""

    id: str
    type: FieldType
    label: str
    value: str | Secret | None = None
    purpose: Purpose | None = None
    section: Section | None = None
    generated: bool = False
    """True if the vault generated this password."""

    def matches(self, name: str) -> bool:
        """True if ``name`` is this field's id or (case-insensitively) its label."""
        return name == self.id or name.casefold() == self.label.casefold()

    def to_json(self, reference: str, *, reveal: bool) -> dict[str, Any]:
        """Op's field object; the value is included for secret fields only if ``reveal``."""
        out: dict[str, Any] = {"id": self.id, "type": self.type.value}
        if self.purpose:
            out["purpose"] = self.purpose.value
        out["label"] = self.label
        if self.section:
            out["section"] = self.section.to_json()
        if self.value is not None and (reveal or not self.type.is_secret):
            out["value"] = self.value.reveal() if isinstance(self.value, Secret) else self.value
        out["reference"] = reference
        if self.generated:
            out["password_details"] = {"generated": True, "strength": "FANTASTIC"}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Field:
        """Read op's field object; secret values become ``Secret``s."""
        ftype = (
            FieldType(data.get("type", "STRING"))
            if data.get("type") in set(FieldType)
            else FieldType.STRING
        )
        raw = data.get("value")
        value: str | Secret | None = None
        if isinstance(raw, str):
            value = Secret(raw, label=str(data.get("label", ""))) if ftype.is_secret else raw
        section = data.get("section")
        details = data.get("password_details") or {}
        return cls(
            id=str(data["id"]),
            type=ftype,
            label=str(data.get("label", data["id"])),
            value=value,
            purpose=Purpose(data["purpose"]) if data.get("purpose") in set(Purpose) else None,
            section=Section(str(section["id"]), str(section.get("label", "")))
            if isinstance(section, Mapping) and "id" in section
            else None,
            generated=bool(details.get("generated")),
        )


@dataclass(frozen=True)
class VaultInfo:
    """A vault's id and name."""

    id: str
    name: str


@dataclass(frozen=True)
class ItemSummary:
    """What ``op item list`` shows of an item: no fields, no values."""

    id: str
    title: str
    version: int
    vault: VaultInfo
    category: Category
    tags: tuple[str, ...] = ()
    created_at: str = ""
    updated_at: str = ""

    def summary_json(self) -> dict[str, Any]:
        """Op's item-list object."""
        return {
            "id": self.id,
            "title": self.title,
            "version": self.version,
            "vault": {"id": self.vault.id, "name": self.vault.name},
            "category": self.category.value,
            "tags": list(self.tags),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def summary_from_json(cls, data: Mapping[str, Any]) -> ItemSummary:
        """Read op's item-list object."""
        vault = data.get("vault") or {}
        return cls(
            id=str(data["id"]),
            title=str(data.get("title", "")),
            version=int(data.get("version", 1)),
            vault=VaultInfo(str(vault.get("id", "")), str(vault.get("name", ""))),
            category=Category.parse(str(data.get("category", "LOGIN"))),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            created_at=str(data.get("created_at", "")),
            updated_at=str(data.get("updated_at", "")),
        )


@dataclass(frozen=True)
class Item(ItemSummary):
    """A whole item: summary, sections and fields."""

    sections: tuple[Section, ...] = ()
    fields: tuple[Field, ...] = field(default_factory=tuple)

    @property
    def otp_field(self) -> Field | None:
        """The item's primary (first) one-time-password field, if it has one."""
        return next((f for f in self.fields if f.type is FieldType.OTP), None)

    def field_named(self, name: str, section: str | None = None) -> Field:
        """The field with that id or label (in that section), or ``FieldNotFound``."""
        for candidate in self.fields:
            if not candidate.matches(name):
                continue
            if section is None or (
                candidate.section
                and (
                    candidate.section.id == section
                    or candidate.section.label.casefold() == section.casefold()
                )
            ):
                return candidate
        raise FieldNotFound(f"item {self.title!r} ({self.id}) has no field {name!r}")

    def reference(self, fld: Field, attribute: str | None = None) -> SecretReference:
        """The canonical, id-based reference to ``fld`` of this item."""
        return SecretReference(
            vault=self.vault.id,
            item=self.id,
            section=fld.section.id if fld.section else None,
            field=fld.id,
            attribute=attribute,
        )

    def named_reference(self, fld: Field) -> str:
        """The human-readable reference op prints beside a field."""
        middle = f"{fld.section.label}/" if fld.section and fld.section.label else ""
        return f"op://{self.vault.name}/{self.title}/{middle}{fld.label}"

    def concealed(self) -> Item:
        """The same item with every secret value dropped."""
        return replace(
            self,
            fields=tuple(replace(f, value=None) if f.type.is_secret else f for f in self.fields),
        )

    def to_json(self, *, reveal: bool = False) -> dict[str, Any]:
        """Op's ``item get --format json`` object."""
        out = self.summary_json()
        if self.sections:
            out["sections"] = [s.to_json() for s in self.sections]
        out["fields"] = [f.to_json(self.named_reference(f), reveal=reveal) for f in self.fields]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Item:
        """Read op's ``item get --format json`` object."""
        summary = ItemSummary.summary_from_json(data)
        sections: Sequence[Mapping[str, Any]] = data.get("sections") or ()
        return cls(
            **{k: getattr(summary, k) for k in ItemSummary.__dataclass_fields__},
            sections=tuple(Section(str(s["id"]), str(s.get("label", ""))) for s in sections),
            fields=tuple(Field.from_json(f) for f in data.get("fields") or ()),
        )
