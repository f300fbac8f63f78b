"""Resolving names in a reference to ids, leniently where the meaning is unambiguous.

Each segment is matched in tiers, and the first tier with any match decides:

1. the id itself;
2. the name, case-insensitively (1Password's own rule);
3. the name loosely: Unicode-normalized, dashes unified, whitespace collapsed — so
   ``Auth0 M2M - my-agent`` finds ``Auth0 M2M — my-agent``.

Several matches within the deciding tier raise ``AmbiguousReference`` listing their ids.
Backends supply a ``Catalog`` (metadata only, never values); the logic here is pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from vaultborn.vault.errors import (
    AmbiguousReference,
    FieldNotFound,
    ItemNotFound,
    NotFound,
    VaultNotFound,
)
from vaultborn.vault.model import Field, FieldType, Item, ItemSummary, VaultInfo
from vaultborn.vault.reference import SecretReference

__all__ = [
    "Catalog",
    "field_in",
    "loose_name",
    "match_one",
    "resolve_reference",
]

T = TypeVar("T")
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")


class Catalog(Protocol):
    """The metadata a backend exposes for resolution."""

    def vaults(self) -> Sequence[VaultInfo]:
        """Every vault the account can see."""
        ...

    def item_summaries(self, vault: VaultInfo) -> Sequence[ItemSummary]:
        """Every item of ``vault`` (no fields)."""
        ...

    def item_metadata(self, vault: VaultInfo, item_id: str) -> Item:
        """The item with its fields and sections; secret values may be absent."""
        ...


def loose_name(name: str) -> str:
    """The key for tier-3 matching: NFKC, case-folded, dashes unified, whitespace collapsed."""
    text = _DASHES.sub("-", unicodedata.normalize("NFKC", name)).casefold()
    return " ".join(text.split())


def match_one(
    kind: str,
    name: str,
    candidates: Sequence[T],
    ident: Callable[[T], str],
    label: Callable[[T], str],
    not_found: Callable[[str], NotFound],
) -> T:
    """The one candidate ``name`` means, by the tiers above."""
    tiers: list[Callable[[T], bool]] = [
        lambda c: ident(c) == name,
        lambda c: label(c).casefold() == name.casefold(),
        lambda c: loose_name(label(c)) == loose_name(name),
    ]
    for tier in tiers:
        hits = [c for c in candidates if tier(c)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise AmbiguousReference(kind, name, [ident(h) for h in hits])
    raise not_found(name)


def resolve_reference(ref: SecretReference, catalog: Catalog) -> tuple[SecretReference, Item]:
    """The canonical id-based reference for ``ref``, and the item it points into."""
    vault = match_one(
        "vault",
        ref.vault,
        catalog.vaults(),
        lambda v: v.id,
        lambda v: v.name,
        lambda n: VaultNotFound(f"{n!r} isn't a vault in this account"),
    )
    summary = match_one(
        "item",
        ref.item,
        catalog.item_summaries(vault),
        lambda i: i.id,
        lambda i: i.title,
        lambda n: ItemNotFound(f"{n!r} isn't an item in the {vault.name!r} vault"),
    )
    item = catalog.item_metadata(vault, summary.id)
    return item.reference(field_in(item, ref), ref.attribute), item


def field_in(item: Item, ref: SecretReference) -> Field:
    """The field of ``item`` that ``ref``'s section and field name, by the same tiers.

    Raises:
        FieldNotFound: No field (or section) matches, or ``?attribute=otp`` names a field
            that is not a one-time password.
        AmbiguousReference: Several match in the deciding tier.
    """
    fields: Sequence[Field] = item.fields
    if ref.section is not None:
        section = match_one(
            "section",
            ref.section,
            item.sections,
            lambda s: s.id,
            lambda s: s.label,
            lambda n: FieldNotFound(f"item {item.title!r} has no section {n!r}"),
        )
        fields = [f for f in fields if f.section and f.section.id == section.id]
    fld = match_one(
        "field",
        ref.field,
        fields,
        lambda f: f.id,
        lambda f: f.label,
        lambda n: FieldNotFound(f"item {item.title!r} ({item.id}) has no field {n!r}"),
    )
    if ref.wants_otp and fld.type is not FieldType.OTP:
        raise FieldNotFound(
            f"field {fld.label!r} of item {item.title!r} is not a one-time password field"
        )
    return fld
