"""The tables of the vault file and the row operations on them (SQLAlchemy Core).

``meta`` holds the schema version and the sealed key check; ``vaults`` the id, plaintext name
and creation time of each vault; ``items`` the id, vault, version and sealed JSON of each item.
Nothing else is stored: titles, tags, labels and values live only inside the sealed blobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    insert,
    literal_column,
    select,
    update,
)

from vault.model import VaultInfo

__all__ = [
    "SCHEMA_VERSION",
    "ItemRow",
    "add_item",
    "add_vault",
    "count_vaults",
    "create_tables",
    "get_item",
    "list_items",
    "list_vaults",
    "read_meta",
    "replace_item",
    "write_meta",
]

SCHEMA_VERSION = b"1"

_metadata = MetaData()
_meta = Table(
    "meta",
    _metadata,
    Column("name", String, primary_key=True),
    Column("value", LargeBinary, nullable=False),
)
_vaults = Table(
    "vaults",
    _metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("created_at", String, nullable=False),
)
_items = Table(
    "items",
    _metadata,
    Column("id", String, primary_key=True),
    Column("vault_id", String, ForeignKey("vaults.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
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


def create_tables(conn: Connection) -> None:
    """Create whichever tables are missing."""
    _metadata.create_all(conn)


def write_meta(conn: Connection, key_check: bytes) -> None:
    """Record the schema version and the sealed key check of a new vault."""
    conn.execute(
        insert(_meta),
        [{"name": "schema", "value": SCHEMA_VERSION}, {"name": "key_check", "value": key_check}],
    )


def read_meta(conn: Connection) -> dict[str, bytes] | None:
    """The meta rows by name, or None if the file has no vault tables yet."""
    exists = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).first()
    if exists is None:
        return None
    return {str(name): bytes(value) for name, value in conn.execute(select(_meta))}


def list_vaults(conn: Connection) -> list[VaultInfo]:
    """Every vault, oldest first."""
    rows = conn.execute(select(_vaults.c.id, _vaults.c.name).order_by(literal_column("rowid")))
    return [VaultInfo(str(vid), str(name)) for vid, name in rows]


def add_vault(conn: Connection, info: VaultInfo, created_at: str) -> None:
    """Insert a vault row."""
    conn.execute(insert(_vaults).values(id=info.id, name=info.name, created_at=created_at))


def list_items(conn: Connection, vault_id: str | None = None) -> list[ItemRow]:
    """The item rows of one vault (or of all vaults), oldest first."""
    query = select(_items).order_by(literal_column("rowid"))
    if vault_id is not None:
        query = query.where(_items.c.vault_id == vault_id)
    return [_item_row(row) for row in conn.execute(query)]


def get_item(conn: Connection, vault_id: str, item_id: str) -> ItemRow | None:
    """The row of one item, or None."""
    query = select(_items).where(_items.c.id == item_id, _items.c.vault_id == vault_id)
    row = conn.execute(query).first()
    return _item_row(row) if row is not None else None


def add_item(conn: Connection, row: ItemRow) -> None:
    """Insert an item row."""
    conn.execute(
        insert(_items).values(
            id=row.id, vault_id=row.vault_id, version=row.version, sealed=row.sealed
        )
    )


def replace_item(conn: Connection, row: ItemRow, expected_version: int) -> bool:
    """Write ``row`` only if the stored version is still ``expected_version``."""
    result = conn.execute(
        update(_items)
        .where(_items.c.id == row.id, _items.c.version == expected_version)
        .values(version=row.version, sealed=row.sealed)
    )
    return result.rowcount == 1


def count_vaults(conn: Connection) -> int:
    """How many vaults there are."""
    return int(conn.execute(select(func.count()).select_from(_vaults)).scalar_one())


def _item_row(row: Any) -> ItemRow:
    return ItemRow(str(row.id), str(row.vault_id), int(row.version), bytes(row.sealed))
