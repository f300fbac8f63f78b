"""Seeding: one value from the vault into one runtime store, once, one way.

The value and the item version come from a single vault call (``get_item(reveal=True)``), so
the provenance always describes the value that was stored. The value goes straight from the
vault to the store; the receipt holds only references, versions and ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import TypedDict

from vaultborn.core.errors import UsageError
from vaultborn.stores.protocol import Provenance, SecretStore, idempotency_key
from vaultborn.vault.errors import FieldNotFound
from vaultborn.vault.protocol import Vault
from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.resolve import field_in
from vaultborn.vault.secret import Secret

__all__ = ["SeedReceipt", "SeedReceiptData", "seed", "snapshot"]


class SeedReceiptData(TypedDict):
    """``SeedReceipt`` as JSON data (a setup run keeps one per target in its state)."""

    target: str
    version_id: str
    source: str
    """The canonical ``op://`` reference that was read."""
    source_version: int
    outcome: str
    """``created``, ``updated`` or ``unchanged``."""


@dataclass(frozen=True)
class SeedReceipt:
    """What a seed did: safe to print, log and checkpoint."""

    target: str
    version_id: str
    source: str
    """The canonical ``op://`` reference that was read."""
    source_version: int
    outcome: str
    """``created``, ``updated`` or ``unchanged``."""

    def as_dict(self) -> SeedReceiptData:
        """The receipt as JSON-ready data."""
        return {
            "target": self.target,
            "version_id": self.version_id,
            "source": self.source,
            "source_version": self.source_version,
            "outcome": self.outcome,
        }


def snapshot(vault: Vault, ref: str | SecretReference) -> tuple[Secret, Provenance]:
    """The value ``ref`` points at, with the canonical reference and item version it had.

    One vault call: the item is read once, revealed, and the field found in it by the rules
    references resolve by (``vault.resolve.field_in``).
    """
    parsed = parse_reference(ref) if isinstance(ref, str) else ref
    item = vault.get_item(parsed.vault, parsed.item, reveal=True)
    fld = field_in(item, parsed)  # a non-OTP field asked for its code: FieldNotFound
    canonical = item.reference(fld)
    if parsed.wants_otp:
        raise UsageError(
            f"{item.reference(fld, parsed.attribute)} asks for a one-time code, which expires "
            "in seconds; seed the field without ?attribute=otp"
        )
    if fld.value is None:
        raise FieldNotFound(f"{canonical} has no value to seed")
    value = fld.value.reveal() if isinstance(fld.value, Secret) else fld.value
    secret = Secret(value, label=str(canonical))
    return secret, Provenance(source=str(canonical), version=item.version)


def seed(vault: Vault, ref: str | SecretReference, store: SecretStore, target: str) -> SeedReceipt:
    """Make the vault's current value of ``ref`` the current value of ``target``.

    Args:
        vault: The trust anchor.
        ref: Which value (any reference form; stored canonical).
        store: The runtime store serving ``target``.
        target: The store's target URI, in its canonical form.
    """
    secret, provenance = snapshot(vault, ref)
    result = store.put(target, secret, provenance, idempotency_key(target, provenance))
    return SeedReceipt(
        target=target,
        version_id=result.version_id,
        source=provenance.source,
        source_version=provenance.version,
        outcome=result.outcome.value,
    )
