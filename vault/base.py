"""Behaviour both vault backends share, written once over a few primitives."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from vaultborn.core.errors import UsageError
from vaultborn.vault.assignment import Assignment
from vaultborn.vault.errors import FieldNotFound, ItemNotFound, VaultNotFound
from vaultborn.vault.items import KEY_FIELDS, OTP_LABEL, ItemEdit
from vaultborn.vault.keypair import PublicKey
from vaultborn.vault.model import Category, FieldType, Item, ItemSummary, VaultInfo
from vaultborn.vault.otp import parse_otpauth_uri, totp_code
from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.resolve import match_one, resolve_reference
from vaultborn.vault.secret import Secret

__all__ = ["BaseVault"]


class BaseVault:
    """Resolution, lookup and OTP logic over the primitives a backend provides.

    A backend implements ``vaults``, ``item_summaries``, ``item_metadata`` (the
    ``vault.resolve.Catalog``), ``_get``, ``_edit`` and ``_read_canonical``.
    """

    backend = "base"
    creates_revealed = False
    clock: Callable[[], float] = staticmethod(time.time)
    """Unix time now; injected in tests so codes are deterministic."""

    # -- primitives -------------------------------------------------------------------------
    def vaults(self) -> Sequence[VaultInfo]:
        """Every vault this account can see."""
        raise NotImplementedError

    def item_summaries(self, vault: VaultInfo) -> Sequence[ItemSummary]:
        """Every item of ``vault``."""
        raise NotImplementedError

    def item_metadata(self, vault: VaultInfo, item_id: str) -> Item:
        """The item by id, concealed."""
        return self._get(vault, item_id, reveal=False)

    def _get(self, vault: VaultInfo, item_id: str, *, reveal: bool) -> Item:
        raise NotImplementedError

    def _edit(self, vault: VaultInfo, item_id: str, edit: ItemEdit) -> Item:
        raise NotImplementedError

    def _read_canonical(self, ref: SecretReference, item: Item) -> Secret:
        raise NotImplementedError

    # -- shared behaviour -------------------------------------------------------------------
    def resolve(self, ref: str | SecretReference) -> SecretReference:
        """The canonical id-based form of ``ref``."""
        parsed = parse_reference(ref) if isinstance(ref, str) else ref
        return resolve_reference(parsed, self)[0]

    def read(self, ref: str | SecretReference) -> Secret:
        """The value ``ref`` points at (the current code for ``?attribute=otp``)."""
        parsed = parse_reference(ref) if isinstance(ref, str) else ref
        canonical, item = resolve_reference(parsed, self)
        return self._read_canonical(canonical, item)

    def _vaults_named(self, vault: str | None) -> list[VaultInfo]:
        """Every vault when ``vault`` is None, else the one vault that name (or id) means."""
        vaults = list(self.vaults())
        if vault is None:
            return vaults
        return [
            match_one("vault", vault, vaults, lambda v: v.id, lambda v: v.name, _vault_not_found)
        ]

    def locate(self, vault: str | None, item: str) -> tuple[VaultInfo, ItemSummary]:
        """The vault and item that the names (or ids) mean; ``vault=None`` searches all."""
        vaults = self._vaults_named(vault)
        summaries = [s for v in vaults for s in self.item_summaries(v)]
        where = f" in the {vaults[0].name!r} vault" if vault is not None and vaults else ""
        found = match_one(
            "item",
            item,
            summaries,
            lambda s: s.id,
            lambda s: s.title,
            lambda n: ItemNotFound(f"{n!r} isn't an item{where}"),
        )
        return next(v for v in vaults if v.id == found.vault.id), found

    def get_item(self, vault: str | None, item: str, *, reveal: bool = False) -> Item:
        """One item by title or id; secret values only if ``reveal``."""
        info, summary = self.locate(vault, item)
        return self._get(info, summary.id, reveal=reveal)

    def find_items(
        self,
        vault: str | None = None,
        *,
        title: str | None = None,
        tags: Sequence[str] = (),
        categories: Sequence[Category] = (),
    ) -> list[ItemSummary]:
        """Items matching every filter given."""
        vaults = self._vaults_named(vault)
        wanted_tags = {t.casefold() for t in tags}
        out = []
        for v in vaults:
            for s in self.item_summaries(v):
                if title is not None and s.title.casefold() != title.casefold():
                    continue
                if not wanted_tags <= {t.casefold() for t in s.tags}:
                    continue
                if categories and s.category not in categories:
                    continue
                out.append(s)
        return out

    def edit_item(self, vault: str | None, item: str, edit: ItemEdit) -> Item:
        """Apply ``edit`` to the item; returns it concealed."""
        info, summary = self.locate(vault, item)
        return self._edit(info, summary.id, edit)

    def set_otp(self, vault: str | None, item: str, uri: str | Secret) -> Item:
        """Set (or replace) the item's OTP field from a validated otpauth URI."""
        parse_otpauth_uri(uri)
        info, summary = self.locate(vault, item)
        current = self._get(info, summary.id, reveal=False)
        existing = current.otp_field
        label = existing.label if existing else OTP_LABEL
        section = existing.section.id if existing and existing.section else None
        value = uri if isinstance(uri, Secret) else Secret(uri, label=label)
        edit = ItemEdit(
            assignments=(Assignment(label=label, value=value, type=FieldType.OTP, section=section),)
        )
        return self._edit(info, summary.id, edit)

    def otp_code(self, vault: str | None, item: str, *, at: float | None = None) -> Secret:
        """The code of the item's OTP field at ``at`` (now if None)."""
        info, summary = self.locate(vault, item)
        full = self._get(info, summary.id, reveal=True)
        fld = full.otp_field
        if fld is None or not isinstance(fld.value, Secret):
            raise FieldNotFound(f"item {full.title!r} ({full.id}) has no one-time password field")
        return totp_code(parse_otpauth_uri(fld.value), self.clock() if at is None else at)

    def public_key(self, vault: str | None, item: str) -> PublicKey:
        """The public half of an SSH Key item's key pair; the private half is not read."""
        info, summary = self.locate(vault, item)
        meta = summary if isinstance(summary, Item) else self._get(info, summary.id, reveal=False)
        if meta.category is not Category.SSH_KEY:
            raise UsageError(
                f"item {meta.title!r} ({meta.id}) is a {meta.category.value.replace('_', ' ')} "
                "item, not an SSH Key item: it holds no key pair"
            )
        _, label, _ = KEY_FIELDS[1]
        fld = meta.field_named(label)
        if not isinstance(fld.value, str) or not fld.value:
            raise FieldNotFound(f"item {meta.title!r} ({meta.id}) has an empty {label!r}")
        return PublicKey.from_openssh(fld.value)


def _vault_not_found(name: str) -> VaultNotFound:
    return VaultNotFound(f"{name!r} isn't a vault in this account")
