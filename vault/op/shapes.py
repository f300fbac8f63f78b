"""op's JSON ↔ vaultborn's model, without losing what the model does not know.

Field types outside ``vault.model.FieldType`` (SSH keys, card numbers, …) are treated as
secret: dropped when concealed, held as ``Secret`` when revealed. An edit starts from the
JSON op printed and replaces only what changed, so URLs, files and unknown keys survive.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from vaultborn.core.errors import UsageError
from vaultborn.vault.errors import VaultError, VaultUnavailable
from vaultborn.vault.model import Category, Field, FieldType, Item, ItemSummary, VaultInfo
from vaultborn.vault.secret import Secret

__all__ = [
    "create_template",
    "edit_payload",
    "item_from_op",
    "secret_values",
    "summaries_from_op",
    "vaults_from_op",
]

_PLAIN_TYPES = frozenset(t.value for t in FieldType if not t.is_secret)
_KNOWN_CATEGORIES = frozenset(c.value for c in Category)


def vaults_from_op(data: Any) -> list[VaultInfo]:
    """``op vault list --format json`` as ``VaultInfo``s."""
    try:
        return [VaultInfo(str(v["id"]), str(v["name"])) for v in data]
    except (KeyError, TypeError) as exc:
        raise VaultUnavailable(f"op vault list returned an unexpected shape ({exc!r})") from None


def summaries_from_op(data: Any) -> list[ItemSummary]:
    """``op item list --format json``; categories vaultborn does not model are left out."""
    try:
        return [
            ItemSummary.summary_from_json(s)
            for s in data
            if str(s.get("category", "")).upper() in _KNOWN_CATEGORIES
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise VaultUnavailable(f"op item list returned an unexpected shape ({exc!r})") from None


def item_from_op(data: Any, *, reveal: bool) -> Item:
    """An ``op item get`` object as an ``Item``; without ``reveal`` no secret value remains."""
    if not isinstance(data, Mapping) or not isinstance(data.get("fields", []), list):
        raise VaultUnavailable("op returned item JSON of an unexpected shape")
    category = str(data.get("category", "")).upper()
    if category not in _KNOWN_CATEGORIES:
        raise VaultError(
            f"item {data.get('id')} is a {category or 'category-less'} item; vaultborn handles "
            "Login, Password, API Credential, Secure Note and SSH Key items"
        )
    data = copy.deepcopy(dict(data))
    foreign: set[str] = set()
    for fld in data.get("fields", []):
        fld.pop("totp", None)  # the current code; vaultborn computes its own
        ftype = str(fld.get("type", "STRING"))
        if ftype not in _PLAIN_TYPES:
            if not reveal:
                fld.pop("value", None)
            elif ftype not in (FieldType.CONCEALED, FieldType.OTP):
                foreign.add(str(fld.get("id")))
    try:
        item = Item.from_json(data)
    except (KeyError, TypeError, ValueError, UsageError) as exc:
        raise VaultUnavailable(f"op returned item JSON vaultborn cannot read ({exc})") from None
    if not reveal:
        return item.concealed()
    return replace(item, fields=tuple(_as_secret(f) if f.id in foreign else f for f in item.fields))


def _as_secret(fld: Field) -> Field:
    if isinstance(fld.value, str):
        return replace(fld, value=Secret(fld.value, label=fld.label))
    return fld


def _field_json(fld: Field) -> dict[str, Any]:
    out = fld.to_json("", reveal=True)
    del out["reference"]
    return out


def create_template(draft: Item) -> dict[str, Any]:
    """The JSON template for ``op item create -``: title, category, tags, sections, fields."""
    return {
        "title": draft.title,
        "category": draft.category.value,
        "tags": list(draft.tags),
        "sections": [s.to_json() for s in draft.sections],
        "fields": [_field_json(f) for f in draft.fields],
    }


def edit_payload(raw: Mapping[str, Any], before: Item, after: Item) -> dict[str, Any]:
    """The full item JSON for ``op item edit`` on stdin: ``raw`` with ``after``'s changes."""
    raw_fields = {str(f.get("id")): f for f in raw.get("fields", [])}
    raw_sections = {str(s.get("id")): s for s in raw.get("sections") or []}
    unchanged = {f.id for f in before.fields if f in after.fields}
    fields = []
    for fld in after.fields:
        if fld.id in unchanged and fld.id in raw_fields:
            kept = copy.deepcopy(dict(raw_fields[fld.id]))
            kept.pop("totp", None)  # the code op computed when it printed the item
            fields.append(kept)
            continue
        merged = {
            k: v
            for k, v in raw_fields.get(fld.id, {}).items()
            if k not in ("value", "reference", "password_details", "entropy", "section")
        }
        merged.update(_field_json(fld))
        fields.append(merged)
    payload = copy.deepcopy(dict(raw))
    payload.update(
        title=after.title,
        tags=list(after.tags),
        sections=[{**raw_sections.get(s.id, {}), **s.to_json()} for s in after.sections],
        fields=fields,
    )
    return payload


def secret_values(item: Item) -> list[Secret]:
    """Every secret value the item holds (for the runner's argv guard)."""
    return [f.value for f in item.fields if isinstance(f.value, Secret)]
