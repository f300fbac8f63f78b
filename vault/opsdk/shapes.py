"""The SDK's item models ↔ vaultborn's, without losing what vaultborn does not model.

The SDK's ``Item`` differs from op's JSON: field types are ``Text``, ``Concealed``, ``Totp`` …,
the notes are ``item.notes`` (not a ``notesPlain`` field), a field's title is its label, there
is no ``purpose`` (built-in fields are known by id: ``username``, ``password``) and no
"generated" flag. Fields of types vaultborn does not model are kept as secrets when revealed
and dropped when concealed; an edit sends back the SDK's own objects for every field it did
not change, so websites, files and foreign fields survive a ``put``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from vaultborn.vault.errors import VaultError, VaultUnavailable
from vaultborn.vault.model import (
    Category,
    Field,
    FieldType,
    Item,
    ItemSummary,
    Purpose,
    Section,
    VaultInfo,
)
from vaultborn.vault.secret import Secret

__all__ = ["NOTES", "create_params", "edited", "item_from_sdk", "summary_from_sdk"]

NOTES = "notesPlain"
"""The field vaultborn (and op) shows the notes as; the SDK keeps them in ``item.notes``."""

CATEGORIES = {
    "Login": Category.LOGIN,
    "Password": Category.PASSWORD,
    "ApiCredentials": Category.API_CREDENTIAL,
    "SecureNote": Category.SECURE_NOTE,
}
_SDK_CATEGORY = {v: k for k, v in CATEGORIES.items()}
FIELD_TYPES = {
    "Text": FieldType.STRING,
    "Concealed": FieldType.CONCEALED,
    "Totp": FieldType.OTP,
    "Email": FieldType.EMAIL,
    "Url": FieldType.URL,
    "Date": FieldType.DATE,
    "MonthYear": FieldType.MONTH_YEAR,
    "Phone": FieldType.PHONE,
}
_SDK_TYPE = {v: k for k, v in FIELD_TYPES.items()}


def _value(enum_or_text: Any) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text))


def _stamp(moment: Any) -> str:
    strftime = getattr(moment, "strftime", None)
    return str(strftime("%Y-%m-%dT%H:%M:%SZ")) if callable(strftime) else str(moment or "")


def category_of(data: Any) -> Category | None:
    """The item's category as vaultborn knows it (None for the ones it does not handle)."""
    return CATEGORIES.get(_value(data.category))


def summary_from_sdk(overview: Any, vault: VaultInfo, version: int = 0) -> ItemSummary | None:
    """An ``ItemOverview`` (or ``Item``) as a summary; None for categories vaultborn skips.

    ``ItemOverview`` has no version: ``version`` (0 when unknown) comes from elsewhere.
    """
    category = category_of(overview)
    if category is None:
        return None
    return ItemSummary(
        id=str(overview.id),
        title=str(overview.title),
        version=int(getattr(overview, "version", version) or version),
        vault=vault,
        category=category,
        tags=tuple(str(t) for t in overview.tags or ()),
        created_at=_stamp(overview.created_at),
        updated_at=_stamp(overview.updated_at),
    )


def _purpose(category: Category, field_id: str) -> Purpose | None:
    if field_id == "username" and category is Category.LOGIN:
        return Purpose.USERNAME
    if field_id == "password" and category.can_generate_password:
        return Purpose.PASSWORD
    return None


def item_from_sdk(data: Any, vault: VaultInfo, *, reveal: bool) -> Item:
    """An SDK ``Item`` as vaultborn's; without ``reveal`` no secret value remains."""
    summary = summary_from_sdk(data, vault)
    if summary is None:
        raise VaultError(
            f"item {data.id} is a {_value(data.category)} item; vaultborn handles Login, "
            "Password, API Credential and Secure Note items"
        )
    try:
        sections = {str(s.id): Section(str(s.id), str(s.title)) for s in data.sections or ()}
        fields = [_field(f, summary.category, sections) for f in data.fields or ()]
    except (AttributeError, TypeError, ValueError) as exc:
        raise VaultUnavailable(f"the SDK returned an item vaultborn cannot read ({exc})") from None
    if data.notes:
        fields.append(
            Field(id=NOTES, type=FieldType.STRING, label=NOTES, value=str(data.notes),
                  purpose=Purpose.NOTES)
        )  # fmt: skip
    item = Item(
        **{k: getattr(summary, k) for k in ItemSummary.__dataclass_fields__},
        sections=tuple(sections.values()),
        fields=tuple(fields),
    )
    return item if reveal else item.concealed()


def _field(data: Any, category: Category, sections: dict[str, Section]) -> Field:
    kind = FIELD_TYPES.get(_value(data.field_type))
    raw = str(data.value or "")
    if kind is None or kind.is_secret:
        value: str | Secret | None = Secret(raw, label=str(data.title)) if raw else None
    else:
        value = raw or None
    section = sections.get(str(data.section_id)) if data.section_id else None
    return Field(
        id=str(data.id),
        # A type vaultborn does not model is held as a secret it never shows (CONCEALED).
        type=kind or FieldType.CONCEALED,
        label=str(data.title),
        value=value,
        purpose=_purpose(category, str(data.id)),
        section=section,
    )


def _sdk_field(fld: Field) -> Any:
    from onepassword import ItemField, ItemFieldType

    raw = fld.value.reveal() if isinstance(fld.value, Secret) else (fld.value or "")
    return ItemField(
        id=fld.id,
        title=fld.label,
        section_id=fld.section.id if fld.section else None,
        field_type=ItemFieldType(_SDK_TYPE[fld.type]),
        value=raw,
    )


def _sdk_sections(item: Item) -> list[Any]:
    from onepassword import ItemSection

    return [ItemSection(id=s.id, title=s.label) for s in item.sections]


def _notes(item: Item) -> str:
    notes = next((f for f in item.fields if f.id == NOTES), None)
    return "" if notes is None or notes.value is None else str(notes.value)


def create_params(draft: Item, vault_id: str) -> Any:
    """``ItemCreateParams`` for ``draft`` (built by ``vault.items.new_item``)."""
    from onepassword import ItemCategory, ItemCreateParams

    return ItemCreateParams(
        category=ItemCategory(_SDK_CATEGORY[draft.category]),
        vault_id=vault_id,
        title=draft.title,
        fields=[_sdk_field(f) for f in draft.fields if f.id != NOTES],
        sections=_sdk_sections(draft),
        notes=_notes(draft) or None,
        tags=list(draft.tags),
    )


def edited(raw: Any, before: Item, after: Item) -> Any:
    """The SDK ``Item`` to ``put``: ``raw`` with ``after``'s changes, its own objects kept."""
    raw_fields = {str(f.id): f for f in raw.fields or ()}
    unchanged = {f.id for f in before.fields if f in after.fields}
    fields = [
        raw_fields[f.id] if f.id in unchanged and f.id in raw_fields else _sdk_field(f)
        for f in after.fields
        if f.id != NOTES
    ]
    return raw.model_copy(
        update={
            "title": after.title,
            "tags": list(after.tags),
            "sections": _sdk_sections(after),
            "fields": fields,
            "notes": _notes(after),
        }
    )


def marked_generated(item: Item, field_id: str) -> Item:
    """``item`` with its field ``field_id`` marked as generated by the vault."""
    return replace(
        item,
        fields=tuple(replace(f, generated=True) if f.id == field_id else f for f in item.fields),
    )
