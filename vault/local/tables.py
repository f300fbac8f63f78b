"""The tables of the vault file and the row operations on them (the standard ``sqlite3``).

``meta`` holds the schema version and the sealed key check; ``vaults`` the id, plaintext name
and creation time of each vault; ``items`` the id, vault, version and sealed JSON of each item;
``item_versions`` every earlier version of each item, sealed as it was (1Password keeps an
item's history too: a rotated password stays recoverable). Nothing else is stored: titles,
tags, labels and values live only inside the sealed blobs.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from vaultborn.vault.model import VaultInfo

__all__ = [
    "SCHEMA_VERSION",
    "ItemRow",
    "add_item",
    "add_vault",
    "count_vaults",
    "create_tables",
    "get_item",
    "list_item_versions",
    "list_items",
    "list_vaults",
    "read_meta",
    "replace_item",
    "write_meta",
]

SCHEMA_VERSION = b"1"

# Added after schema 1 without changing it: made where it is first written, so older files
# gain it on their first edit.
_HISTORY_DDL = (
    "CREATE TABLE IF NOT EXISTS item_versions (id VARCHAR NOT NULL, vault_id VARCHAR NOT NULL, "
    "version INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (id, version))"
)

# The tables as SQLAlchemy's create_all wrote them for schema 1, so older files keep opening.
_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (name VARCHAR NOT NULL, value BLOB NOT NULL, "
    "PRIMARY KEY (name))",
    "CREATE TABLE IF NOT EXISTS vaults (id VARCHAR NOT NULL, name VARCHAR NOT NULL, "
    "created_at VARCHAR NOT NULL, PRIMARY KEY (id), UNIQUE (name))",
    "CREATE TABLE IF NOT EXISTS items (id VARCHAR NOT NULL, vault_id VARCHAR NOT NULL, "
    "version INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (id), "
    "FOREIGN KEY(vault_id) REFERENCES vaults (id))",
    "CREATE INDEX IF NOT EXISTS ix_items_vault_id ON items (vault_id)",
    _HISTORY_DDL,
)


@dataclass(frozen=True, repr=False)
class ItemRow:
    """One row of ``items``: where an item lives and its sealed JSON."""

    id: str
    vault_id: str
    version: int
    sealed: bytes

    def __repr__(self) -> str:
        return f"ItemRow({self.id} v{self.version} in {self.vault_id})"


def create_tables(conn: sqlite3.Connection) -> None:
    """Create whichever tables are missing."""
    for statement in _DDL:
        conn.execute(statement)


def write_meta(conn: sqlite3.Connection, key_check: bytes) -> None:
    """Record the schema version and the sealed key check of a new vault."""
    conn.executemany(
        "INSERT INTO meta (name, value) VALUES (?, ?)",
        [("schema", SCHEMA_VERSION), ("key_check", key_check)],
    )


def read_meta(conn: sqlite3.Connection) -> dict[str, bytes] | None:
    """The meta rows by name, or None if the file has no vault tables yet."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if exists is None:
        return None
    return {str(name): bytes(value) for name, value in conn.execute("SELECT name, value FROM meta")}


def list_vaults(conn: sqlite3.Connection) -> list[VaultInfo]:
    """Every vault, oldest first."""
    rows = conn.execute("SELECT id, name FROM vaults ORDER BY rowid")
    return [VaultInfo(str(vid), str(name)) for vid, name in rows]


def add_vault(conn: sqlite3.Connection, info: VaultInfo, created_at: str) -> None:
    """Insert a vault row."""
    conn.execute(
        "INSERT INTO vaults (id, name, created_at) VALUES (?, ?, ?)",
        (info.id, info.name, created_at),
    )


def list_items(conn: sqlite3.Connection, vault_id: str | None = None) -> list[ItemRow]:
    """The item rows of one vault (or of all vaults), oldest first."""
    columns = "SELECT id, vault_id, version, sealed FROM items"
    if vault_id is None:
        rows = conn.execute(f"{columns} ORDER BY rowid")
    else:
        rows = conn.execute(f"{columns} WHERE vault_id = ? ORDER BY rowid", (vault_id,))
    return [_item_row(row) for row in rows]


def get_item(conn: sqlite3.Connection, vault_id: str, item_id: str) -> ItemRow | None:
    """The row of one item, or None."""
    row = conn.execute(
        "SELECT id, vault_id, version, sealed FROM items WHERE id = ? AND vault_id = ?",
        (item_id, vault_id),
    ).fetchone()
    return _item_row(row) if row is not None else None


def add_item(conn: sqlite3.Connection, row: ItemRow) -> None:
    """Insert an item row."""
    conn.execute(
        "INSERT INTO items (id, vault_id, version, sealed) VALUES (?, ?, ?, ?)",
        (row.id, row.vault_id, row.version, row.sealed),
    )


def replace_item(conn: sqlite3.Connection, row: ItemRow, expected_version: int) -> bool:
    """Write ``row`` only if the stored version is still ``expected_version``.

    The version it replaces is kept in ``item_versions``, sealed as it was.
    """
    conn.execute(_HISTORY_DDL)
    conn.execute(
        "INSERT OR IGNORE INTO item_versions (id, vault_id, version, sealed) "
        "SELECT id, vault_id, version, sealed FROM items WHERE id = ? AND version = ?",
        (row.id, expected_version),
    )
    result = conn.execute(
        "UPDATE items SET version = ?, sealed = ? WHERE id = ? AND version = ?",
        (row.version, row.sealed, row.id, expected_version),
    )
    return result.rowcount == 1


def list_item_versions(conn: sqlite3.Connection, vault_id: str, item_id: str) -> list[ItemRow]:
    """The earlier versions of one item, oldest first (none for a file that has no history)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'item_versions'"
    ).fetchone()
    if exists is None:
        return []
    rows = conn.execute(
        "SELECT id, vault_id, version, sealed FROM item_versions "
        "WHERE id = ? AND vault_id = ? ORDER BY version",
        (item_id, vault_id),
    )
    return [_item_row(row) for row in rows]


def count_vaults(conn: sqlite3.Connection) -> int:
    """How many vaults there are."""
    (count,) = conn.execute("SELECT count(*) FROM vaults").fetchone()
    return int(count)


def _item_row(row: Any) -> ItemRow:
    vid, vault_id, version, sealed = row
    return ItemRow(str(vid), str(vault_id), int(version), bytes(sealed))
