"""Sealing rows with AES-256-GCM, each bound to its place by associated data.

A sealed blob is ``FORMAT || nonce (12 bytes) || ciphertext+tag``. The associated data names
the row (vault id, item id, version), so a blob copied onto another row, or a version number
changed without its blob, fails authentication instead of opening as the wrong item.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultborn.core.errors import VaultbornError
from vaultborn.vault.errors import VaultError
from vaultborn.vault.local.tables import ItemRow
from vaultborn.vault.model import Item, VaultInfo

__all__ = [
    "KEY_CHECK",
    "KEY_CHECK_AAD",
    "Sealer",
    "item_aad",
    "item_plaintext",
    "seal_item",
    "unseal_item",
]

FORMAT = b"\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_CHECK = b"vaultborn local vault key check"
"""The known plaintext sealed in the meta table; opening it proves the key is right."""
KEY_CHECK_AAD = b"vaultborn-key-check\0" + FORMAT


def item_aad(vault_id: str, item_id: str, version: int) -> bytes:
    """The associated data that binds an item's ciphertext to its row."""
    return b"\0".join(
        [b"vaultborn-item", vault_id.encode(), item_id.encode(), str(version).encode()]
    )


def item_plaintext(item: Item) -> bytes:
    """The revealed item as compact JSON, the plaintext that gets sealed."""
    return json.dumps(item.to_json(reveal=True), ensure_ascii=False, separators=(",", ":")).encode()


class Sealer:
    """AES-256-GCM with a fresh random nonce per seal.

    Args:
        key: The 32-byte vault key.
    """

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "Sealer(AES-256-GCM)"

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext`` bound to ``aad``."""
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes | None:
        """The plaintext of ``blob``, or None if it was not sealed with this key and ``aad``."""
        if (
            not isinstance(blob, bytes)
            or len(blob) < len(FORMAT) + NONCE_BYTES + TAG_BYTES
            or not blob.startswith(FORMAT)
        ):
            return None
        nonce = blob[len(FORMAT) : len(FORMAT) + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[len(FORMAT) + NONCE_BYTES :], aad)
        except InvalidTag:
            return None


def seal_item(sealer: Sealer, item: Item) -> ItemRow:
    """The row that stores ``item``: its whole revealed JSON sealed to its id and version."""
    aad = item_aad(item.vault.id, item.id, item.version)
    sealed = sealer.seal(item_plaintext(item), aad)
    return ItemRow(item.id, item.vault.id, item.version, sealed)


def unseal_item(sealer: Sealer, row: ItemRow, vault: VaultInfo, where: Path) -> Item:
    """The item stored in ``row`` (of ``vault``), values revealed.

    Raises:
        VaultError: The row does not open with the key and its own place (tampered, copied
            or stale), or holds no readable item; the message names the row, not its data.
    """
    plaintext = sealer.open(row.sealed, item_aad(row.vault_id, row.id, row.version))
    if plaintext is None:
        raise VaultError(
            f"item {row.id} in {where} does not open with the vault key: "
            "its row was altered or copied from another row"
        )
    try:
        item = Item.from_json(json.loads(plaintext))
    except (ValueError, KeyError, TypeError, VaultbornError):
        raise VaultError(f"item {row.id} in {where} is not a readable item") from None
    if item.id != row.id or item.version != row.version:
        raise VaultError(f"item {row.id} in {where} does not match its row")
    return replace(item, vault=vault)
