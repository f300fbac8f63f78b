"""The ``Vault`` protocol: every operation the setup flow needs from the trust anchor.

Values leave a vault only as ``Secret`` (``read``, ``otp_code``, ``get_item(reveal=True)``);
everything else returns metadata. A key pair is generated inside the vault
(``create_item`` with ``ItemSpec(category=SSH_KEY, generate_key=…)``) and only its public half
comes out of ``public_key``; a signer reads the private half by reference, in memory. Vaults
and items are named by name or id, matched as ``vault.resolve`` describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.keypair import PublicKey
from vaultborn.vault.model import Category, Item, ItemSummary, VaultInfo
from vaultborn.vault.reference import SecretReference
from vaultborn.vault.secret import Secret

__all__ = ["Health", "Vault"]


@dataclass(frozen=True)
class Health:
    """One line of ``vaultborn doctor`` about a vault backend."""

    name: str
    ok: bool
    detail: str


@runtime_checkable
class Vault(Protocol):
    """A vault backend (the embedded local vault, or 1Password through ``op``)."""

    backend: str
    """``local``, ``op`` or ``op-sdk``."""
    creates_revealed: bool
    """Whether ``create_item(reveal=True)`` costs no more calls than a concealed create: the
    backend's answer to a create carries the values."""

    def vaults(self) -> Sequence[VaultInfo]:
        """Every vault this account can see."""
        ...

    def resolve(self, ref: str | SecretReference) -> SecretReference:
        """The canonical id-based form of ``ref``; raises if it does not point at a field."""
        ...

    def read(self, ref: str | SecretReference) -> Secret:
        """The value ``ref`` points at (the current code for ``?attribute=otp``)."""
        ...

    def create_item(self, vault: str, spec: ItemSpec, *, reveal: bool = False) -> Item:
        """Create an item (its password or key pair generated inside the vault); concealed.

        With ``reveal``, the item with its values, as the vault made them: for a caller that
        uses the generated password at once, so it need not read the item back.

        Raises:
            KeyGenerationUnsupported: the backend cannot generate ``spec.generate_key``.
        """
        ...

    def public_key(self, vault: str | None, item: str) -> PublicKey:
        """The public half of an SSH Key item's key pair (JWK, ``kid``, PEM, OpenSSH)."""
        ...

    def get_item(self, vault: str | None, item: str, *, reveal: bool = False) -> Item:
        """One item by title or id; secret values only if ``reveal``."""
        ...

    def find_items(
        self,
        vault: str | None = None,
        *,
        title: str | None = None,
        tags: Sequence[str] = (),
        categories: Sequence[Category] = (),
    ) -> list[ItemSummary]:
        """Items matching every given filter (title case-insensitively; all ``tags``)."""
        ...

    def edit_item(self, vault: str | None, item: str, edit: ItemEdit) -> Item:
        """Apply ``edit``; the version increases only if something changed. Returns concealed."""
        ...

    def set_otp(self, vault: str | None, item: str, uri: str | Secret) -> Item:
        """Set the item's OTP field from an otpauth URI (idempotent for the same URI)."""
        ...

    def otp_code(self, vault: str | None, item: str, *, at: float | None = None) -> Secret:
        """The current code (or the code at unix time ``at``) of the item's OTP field."""
        ...

    def health(self) -> list[Health]:
        """Checks for ``vaultborn doctor``; never raises for an unhealthy backend."""
        ...
