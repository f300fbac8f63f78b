"""The previous value an item keeps while its field is being rotated.

A rotation (``vaultborn rotate``) makes the new value the field's own at once and keeps the old
one beside it, in the same item, as a concealed field labelled ``previous <label>``, until the
new value has reached the IdP and been checked; then the old one is retired (the vault's item
history still has it). A client reading the field meanwhile gets the new value; if the IdP does
not take it yet, the old one is right there in the vault (``TokenSource`` tries it). Nothing
outside the vault ever holds either.
"""

from __future__ import annotations

from vaultborn.vault.errors import FieldNotFound
from vaultborn.vault.model import Item
from vaultborn.vault.protocol import Vault
from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.resolve import field_in
from vaultborn.vault.secret import Secret

__all__ = ["PREVIOUS", "ROTATION_FIELD", "current_and_previous", "previous_label"]

PREVIOUS = "previous "
"""How the label of a field's previous value starts."""
ROTATION_FIELD = "vaultborn rotation"
"""The text field naming the run that last rotated the item (its idempotency key)."""


def previous_label(label: str) -> str:
    """The label of the field that keeps ``label``'s previous value during a rotation."""
    return PREVIOUS + label


def current_and_previous(vault: Vault, ref: str | SecretReference) -> tuple[Secret, Secret | None]:
    """The field's value now and, while a rotation is under way, its previous value.

    One vault call (the item is read once, revealed).

    Raises:
        FieldNotFound: The reference names no field with a value.
    """
    parsed = parse_reference(ref) if isinstance(ref, str) else ref
    item = vault.get_item(parsed.vault, parsed.item, reveal=True)
    fld = field_in(item, parsed)
    current = _value(item, fld.label, fld.value)
    if current is None:
        raise FieldNotFound(f"{item.reference(fld)} has no value")
    kept = next((f for f in item.fields if f.label == previous_label(fld.label)), None)
    return current, None if kept is None else _value(item, kept.label, kept.value)


def _value(item: Item, label: str, value: str | Secret | None) -> Secret | None:
    if value is None:
        return None
    text = value.reveal() if isinstance(value, Secret) else value
    return Secret(text, label=f"{item.title} {label}") if text else None
