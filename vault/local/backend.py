"""``LocalVault``: the embedded vault, one encrypted SQLite file under ``VAULTBORN_HOME``.

Every item is sealed whole (AES-256-GCM, ``vault.local.crypto``); only ids, versions and
vault names are stored in plaintext. Item logic lives in ``vault.items``; this module stores
items and never builds or edits one itself.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from vaultborn.core.errors import UsageError
from vaultborn.vault.base import BaseVault
from vaultborn.vault.errors import FieldNotFound, ItemNotFound, VaultConflict, VaultNotFound
from vaultborn.vault.items import ItemEdit, ItemSpec, apply_edit, new_id, new_item, now_iso
from vaultborn.vault.local import store, tables
from vaultborn.vault.local.crypto import Sealer, item_aad, seal_item, unseal_item
from vaultborn.vault.local.fs import ensure_private_dir, ensure_private_file, tighten_file
from vaultborn.vault.local.health import database_health, home_health, key_health
from vaultborn.vault.local.keys import KEY_ENV, VaultKey, check_key, decode_key, key_file
from vaultborn.vault.model import FieldType, Item, ItemSummary, VaultInfo
from vaultborn.vault.otp import parse_otpauth_uri, totp_code
from vaultborn.vault.protocol import Health
from vaultborn.vault.reference import SecretReference
from vaultborn.vault.resolve import match_one
from vaultborn.vault.secret import Secret

__all__ = ["LocalVault"]

DEFAULT_HOME = "~/.vaultborn"
EDIT_ATTEMPTS = 50
"""Optimistic edits re-read and re-apply this often before giving up with ``VaultConflict``."""


@dataclass(frozen=True)
class _Opened:
    database: store.Database
    sealer: Sealer


class LocalVault(BaseVault):
    """The ``Vault`` protocol over an encrypted SQLite file, ``<home>/vault.db``.

    Nothing touches the disk until the first call; then the home directory is made (or
    tightened to) 0700, the key is loaded (or ``<home>/vault.key`` created, 0600) and checked
    against the database before anything else is read or written. Usable as a context manager;
    ``close()`` releases the database and a later call opens it again.

    Args:
        home: The data directory (``VAULTBORN_HOME``).
        key: The 32-byte vault key; None means the key file in ``home``.
        clock: Unix time now, for ``?attribute=otp`` codes.

    Raises:
        ConfigurationError: ``key`` is not 32 bytes.
    """

    backend = "local"
    creates_revealed = True

    def __init__(
        self,
        home: Path,
        *,
        key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = Path(home)
        self.clock = clock
        self._given_key = (
            VaultKey(check_key(key, source="the vault key"), "the caller")
            if key is not None
            else None
        )
        self._opened: _Opened | None = None
        self._lock = threading.Lock()
        # Item id -> (the sealed row it was read from, its summary): finding an item by title
        # opens only the rows that changed since, not every item of the vault on every call.
        self._summaries: dict[str, tuple[bytes, ItemSummary]] = {}
        self._home_tightened_from: int | None = None
        self._loaded_key: VaultKey | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> LocalVault:
        """Configured by ``VAULTBORN_HOME`` (default ``~/.vaultborn``) and ``VAULTBORN_VAULT_KEY``.

        Raises:
            ConfigurationError: ``VAULTBORN_VAULT_KEY`` is not a base64 32-byte key.
        """
        home = Path(env.get("VAULTBORN_HOME") or DEFAULT_HOME).expanduser()
        raw = env.get(KEY_ENV, "")
        vault = cls(home)
        if raw.strip():
            vault._given_key = VaultKey(decode_key(raw, source=KEY_ENV), KEY_ENV)
        return vault

    @property
    def db_path(self) -> Path:
        """The database file, ``<home>/vault.db``."""
        return self.home / "vault.db"

    @property
    def key_path(self) -> Path:
        """The generated key file, ``<home>/vault.key`` (unused when a key is given)."""
        return self.home / "vault.key"

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Release the database's connections."""
        with self._lock:
            if self._opened is not None:
                self._opened.database.close()
                self._opened = None
            self._summaries.clear()

    def __enter__(self) -> LocalVault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalVault({str(self.home)!r})"

    def _open(self) -> _Opened:
        with self._lock:
            if self._opened is None:
                self._opened = self._open_now()
            return self._opened

    def _open_now(self) -> _Opened:
        tightened = ensure_private_dir(self.home)
        if tightened is not None:
            self._home_tightened_from = tightened
        has_data = self.db_path.exists() and self.db_path.stat().st_size > 0
        key = self._given_key or key_file(self.key_path, may_create=not has_data)
        self._loaded_key = key
        if not has_data:
            ensure_private_file(self.db_path)
        sealer = Sealer(key.material)
        database = store.Database(self.db_path, sealer, key.origin)
        database.open()
        try:
            tighten_file(self.db_path)
        except BaseException:
            database.close()
            raise
        return _Opened(database, sealer)

    # -- catalog ------------------------------------------------------------------------------
    def vaults(self) -> Sequence[VaultInfo]:
        """Every vault, oldest first."""
        with self._open().database.transaction() as conn:
            return tables.list_vaults(conn)

    def item_summaries(self, vault: VaultInfo) -> Sequence[ItemSummary]:
        """Every item of ``vault`` (each row is opened to read its title and tags, once).

        A row whose sealed bytes were opened before gives the summary read then: the same
        ciphertext under the same key holds the same item, so nothing is trusted unopened.
        """
        opened = self._open()
        with opened.database.transaction() as conn:
            rows = tables.list_items(conn, vault.id)
        return [self._summary_of(opened, row, vault) for row in rows]

    def _summary_of(self, opened: _Opened, row: tables.ItemRow, vault: VaultInfo) -> ItemSummary:
        known = self._summaries.get(row.id)
        if known is not None and known[0] == row.sealed:
            summary = known[1]
        else:
            summary = _summary(unseal_item(opened.sealer, row, vault, self.db_path))
            self._summaries[row.id] = (row.sealed, summary)
        return summary if summary.vault == vault else replace(summary, vault=vault)

    def _get(self, vault: VaultInfo, item_id: str, *, reveal: bool) -> Item:
        opened = self._open()
        with opened.database.transaction() as conn:
            row = tables.get_item(conn, vault.id, item_id)
        if row is None:
            raise ItemNotFound(f"{item_id!r} isn't an item in the {vault.name!r} vault")
        item = unseal_item(opened.sealer, row, vault, self.db_path)
        return item if reveal else item.concealed()

    def history(self, vault: str | None, item: str, *, reveal: bool = False) -> list[Item]:
        """The item's earlier versions, oldest first; values only if ``reveal``.

        Every edit keeps the version it replaced (sealed as it was), as 1Password keeps an
        item's history: a rotated password stays recoverable from the vault, and only there.
        """
        info, summary = self.locate(vault, item)
        opened = self._open()
        with opened.database.transaction() as conn:
            rows = tables.list_item_versions(conn, info.id, summary.id)
        items = [unseal_item(opened.sealer, row, info, self.db_path) for row in rows]
        return items if reveal else [i.concealed() for i in items]

    # -- writes -------------------------------------------------------------------------------
    def create_vault(self, name: str) -> VaultInfo:
        """The vault called ``name``, created if no vault matches (idempotent by name)."""
        with self._open().database.transaction(write=True) as conn:
            return _vault_named(conn, name)

    def create_item(self, vault: str, spec: ItemSpec, *, reveal: bool = False) -> Item:
        """Create an item, and its vault if none matches ``vault``; concealed unless ``reveal``."""
        opened = self._open()
        with opened.database.transaction(write=True) as conn:
            info = _vault_named(conn, vault)
            item = new_item(spec, info)
            tables.add_item(conn, seal_item(opened.sealer, item))
        return item if reveal else item.concealed()

    def _edit(self, vault: VaultInfo, item_id: str, edit: ItemEdit) -> Item:
        opened = self._open()
        for attempt in range(EDIT_ATTEMPTS):
            current = self._get(vault, item_id, reveal=True)
            changed = apply_edit(current, edit)
            if changed is current:
                return current.concealed()
            with opened.database.transaction(write=True) as conn:
                landed = tables.replace_item(
                    conn, seal_item(opened.sealer, changed), current.version
                )
            if landed:
                return changed.concealed()
            # Another writer moved the version first: back off a little, then re-apply.
            time.sleep(0.001 * attempt)
        raise VaultConflict(f"item {item_id} kept changing during the edit; try again")

    # -- values -------------------------------------------------------------------------------
    def _read_canonical(self, ref: SecretReference, item: Item) -> Secret:
        full = self._get(item.vault, item.id, reveal=True)
        fld = full.field_named(ref.field, ref.section)
        label = str(ref)
        if ref.wants_otp:
            if fld.type is not FieldType.OTP or not isinstance(fld.value, Secret):
                raise FieldNotFound(
                    f"field {fld.label!r} of item {full.title!r} is not a one-time password field"
                )
            code = totp_code(parse_otpauth_uri(fld.value), self.clock())
            return Secret(code.reveal(), label=label)
        value = fld.value.reveal() if isinstance(fld.value, Secret) else fld.value
        return Secret(value or "", label=label)

    # -- doctor -------------------------------------------------------------------------------
    def health(self) -> list[Health]:
        """Home directory, key, then database (key check, counts, every row opens); never raises."""
        database = database_health(self.db_path, self._census)
        home = home_health(self.home, self._home_tightened_from)
        return [home, key_health(self._loaded_key), database]

    def _census(self) -> tuple[int, int, int]:
        opened = self._open()
        with opened.database.transaction() as conn:
            vaults = tables.count_vaults(conn)
            rows = tables.list_items(conn)
        broken = sum(
            opened.sealer.open(row.sealed, item_aad(row.vault_id, row.id, row.version)) is None
            for row in rows
        )
        return vaults, len(rows), broken


def _summary(item: Item) -> ItemSummary:
    return ItemSummary(**{k: getattr(item, k) for k in ItemSummary.__dataclass_fields__})


def _vault_named(conn: sqlite3.Connection, name: str) -> VaultInfo:
    if not name.strip():
        raise UsageError("a vault needs a name")
    vaults = tables.list_vaults(conn)
    try:
        return match_one("vault", name, vaults, lambda v: v.id, lambda v: v.name, _no_vault)
    except VaultNotFound:
        info = VaultInfo(new_id(), name.strip())
        tables.add_vault(conn, info, now_iso())
        return info


def _no_vault(name: str) -> VaultNotFound:
    return VaultNotFound(f"{name!r} isn't a vault in this account")
