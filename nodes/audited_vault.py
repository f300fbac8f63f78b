"""``AuditedVault``: every vault operation of a run lands in the audit log — kind and reference.

It wraps the run's vault (the token source reads client secrets through it too) and appends
``vault`` events under the run it is bound to (``for_run``: ``Deps.for_run`` binds a run's
clients when the run is moved on; an unbound one records nothing). Only names, ids and
references are recorded, never a value: ``set_otp`` records the item, not the URI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vaultborn.approvals.audit import AuditLog
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.keypair import PublicKey
from vaultborn.vault.model import Category, Item, ItemSummary, VaultInfo
from vaultborn.vault.protocol import Health, Vault
from vaultborn.vault.reference import SecretReference
from vaultborn.vault.secret import Secret

__all__ = ["AuditedVault"]


class AuditedVault:
    """A ``Vault`` that records each operation under ``run_id`` before forwarding it to ``inner``.

    Args:
        inner: The vault.
        audit: The audit log.
        run_id: The run the operations belong to; None records nothing (a runtime's vault
            before a run is bound to it, e.g. the demo's own set-up).
    """

    def __init__(self, inner: Vault, audit: AuditLog, run_id: str | None = None) -> None:
        self.inner, self.audit, self.run_id = inner, audit, run_id
        self.backend, self.creates_revealed = inner.backend, inner.creates_revealed

    def for_run(self, run_id: str) -> AuditedVault:
        """The same vault, its operations recorded under ``run_id``."""
        return AuditedVault(self.inner, self.audit, run_id)

    def _record(self, op: str, subject: str, **detail: Any) -> None:
        if self.run_id is not None:
            self.audit.append(self.run_id, "vault", subject, {"op": op, **detail})

    def vaults(self) -> Sequence[VaultInfo]:
        """Forwarded (not audited: names only)."""
        return self.inner.vaults()

    def resolve(self, ref: str | SecretReference) -> SecretReference:
        """Resolve ``ref`` (audited)."""
        self._record("resolve", str(ref))
        return self.inner.resolve(ref)

    def read(self, ref: str | SecretReference) -> Secret:
        """Read ``ref`` (audited by reference)."""
        self._record("read", str(ref))
        return self.inner.read(ref)

    def create_item(self, vault: str, spec: ItemSpec, *, reveal: bool = False) -> Item:
        """Create an item (audited by vault and title, with whether values were revealed)."""
        self._record("create_item", f"{vault}/{spec.title}", **({"reveal": True} if reveal else {}))
        return self.inner.create_item(vault, spec, reveal=reveal)

    def get_item(self, vault: str | None, item: str, *, reveal: bool = False) -> Item:
        """Get an item (audited, with whether values were revealed)."""
        self._record("get_item", f"{vault}/{item}", reveal=reveal)
        return self.inner.get_item(vault, item, reveal=reveal)

    def find_items(
        self,
        vault: str | None = None,
        *,
        title: str | None = None,
        tags: Sequence[str] = (),
        categories: Sequence[Category] = (),
    ) -> list[ItemSummary]:
        """Find items (audited by filters)."""
        self._record("find_items", f"{vault}/{title or '*'}")
        return self.inner.find_items(vault, title=title, tags=tags, categories=categories)

    def edit_item(self, vault: str | None, item: str, edit: ItemEdit) -> Item:
        """Edit an item (audited by item; the assignments' values are not recorded)."""
        self._record("edit_item", f"{vault}/{item}")
        return self.inner.edit_item(vault, item, edit)

    def set_otp(self, vault: str | None, item: str, uri: str | Secret) -> Item:
        """Set the OTP field (audited by item; never the URI)."""
        self._record("set_otp", f"{vault}/{item}")
        return self.inner.set_otp(vault, item, uri)

    def otp_code(self, vault: str | None, item: str, *, at: float | None = None) -> Secret:
        """Generate a code (audited by item)."""
        self._record("otp_code", f"{vault}/{item}")
        return self.inner.otp_code(vault, item, at=at)

    def public_key(self, vault: str | None, item: str) -> PublicKey:
        """The public half of an item's key pair (audited by item)."""
        self._record("public_key", f"{vault}/{item}")
        return self.inner.public_key(vault, item)

    def health(self) -> list[Health]:
        """Forwarded."""
        return self.inner.health()
