"""The run database's keys, born in the vault: one item seals its checkpoints and keys its audit.

The first process that starts a run on a database makes a ``vaultborn run keys`` item in the
plan's vault (the local vault for the embedded defaults): a Password item whose password the
vault generates (64 letters and digits), tagged ``vaultborn-run-keys``. The database records
where it is — the vault backend and the item's id-based reference, never a value — in its
``run_keys`` table, and every later process reads the item from there, whatever its plan. Two
32-byte keys are derived from the one password (HKDF-SHA256, one label each): the checkpoint
key (AES-256-GCM on every checkpoint blob and kept run view) and the audit key (the HMAC of the
audit chain). Nobody configures anything, and no key rests outside the vault.

Whether the checkpoints are sealed is decided once, when the keys are made, and recorded with
them: a database that holds unsealed checkpoints already (written before sealing was the
default) stays unsealed, so that its runs go on, and ``doctor`` says so; its audit chain is
keyed from then on all the same. A row deleted from ``run_keys`` makes the next setup make new
keys, under which the old sealed checkpoints do not open and the old keyed rows do not check:
it shows, it does not pass.

Two processes making the keys at once each make an item; the first row recorded wins, and the
other item is retagged ``vaultborn-run-keys-unused`` (vaults here delete nothing).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from vaultborn.core.database import DatabaseUrl
from vaultborn.core.errors import ConfigurationError, VaultbornError
from vaultborn.core.sqltx import busy_timeout
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.model import Category
from vaultborn.vault.protocol import Vault
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.reference import parse_reference

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = [
    "KEYS_TAG",
    "KEYS_TITLE",
    "KeysHome",
    "KeysRecord",
    "RunKeys",
    "derive_keys",
    "make_keys",
    "recorded_keys",
]

KEYS_TITLE = "vaultborn run keys"
KEYS_TAG = "vaultborn-run-keys"
_UNUSED_TAG = "vaultborn-run-keys-unused"
_RECIPE = "letters,digits,64"
_ROW = "run keys"
_CHECKPOINT_INFO = b"vaultborn checkpoint key v1"
_AUDIT_INFO = b"vaultborn audit key v1"
# A sealed blob's type ends with "+aesgcm" (``graphs.serde.SEALED_SUFFIX``; not imported: that
# module loads LangGraph, and looking at runs does not). PostgresSaver's "empty" is no blob.
_UNSEALED_SQLITE = (
    "SELECT 1 FROM checkpoints WHERE type IS NOT NULL AND type NOT LIKE '%+aesgcm' LIMIT 1",
    "SELECT 1 FROM writes WHERE type IS NOT NULL AND type NOT LIKE '%+aesgcm' LIMIT 1",
)
_UNSEALED_POSTGRES = (
    (
        "checkpoint_blobs",
        "SELECT 1 FROM checkpoint_blobs WHERE type IS NOT NULL AND type <> 'empty' "
        "AND type NOT LIKE '%+aesgcm' LIMIT 1",
    ),
    (
        "checkpoint_writes",
        "SELECT 1 FROM checkpoint_writes WHERE type IS NOT NULL AND type <> 'empty' "
        "AND type NOT LIKE '%+aesgcm' LIMIT 1",
    ),
)

_CREATE = (
    "CREATE TABLE IF NOT EXISTS run_keys (name VARCHAR PRIMARY KEY, backend VARCHAR NOT NULL, "
    "reference VARCHAR NOT NULL, sealed INTEGER NOT NULL)"
)
_SELECT = "SELECT backend, reference, sealed FROM run_keys WHERE name = 'run keys'"


class KeysHome(NamedTuple):
    """Where new keys are made: a vault backend and a vault of it (the plan's)."""

    backend: str
    vault: str


@dataclass(frozen=True)
class KeysRecord:
    """Where a run database's keys are, as the database records it (no value).

    Attributes:
        backend: The vault backend holding the item (``local``, ``op``, ``op-sdk``).
        reference: The item's password, by ids (``op://<vault id>/<item id>/password``).
        sealed: Whether the checkpoints are sealed with them (False: an older database's
            unsealed checkpoints, left unsealed).
    """

    backend: str
    reference: str
    sealed: bool


@dataclass(frozen=True)
class RunKeys:
    """The two keys derived from the item ``record`` names (process memory only)."""

    record: KeysRecord
    checkpoint: bytes
    audit: bytes

    def __repr__(self) -> str:
        return f"RunKeys({self.record.reference!r}, sealed={self.record.sealed})"


def derive_keys(record: KeysRecord, vault: Vault) -> RunKeys:
    """The keys from the item's password, read from ``vault``.

    Raises:
        ConfigurationError: The item cannot be read (one line, naming its reference).
    """
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    try:
        secret = vault.read(record.reference)
    except VaultbornError as error:
        raise ConfigurationError(
            f"the run database's keys ({record.reference} in the {record.backend} vault) "
            f"cannot be read: {error}"
        ) from None
    material = secret.reveal().encode()
    if len(material) < 32:
        raise ConfigurationError(f"the run database's keys ({record.reference}) are too short")

    def derived(info: bytes) -> bytes:
        return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(material)

    return RunKeys(record, derived(_CHECKPOINT_INFO), derived(_AUDIT_INFO))


def recorded_keys(url: DatabaseUrl) -> KeysRecord | None:
    """Where the database at ``url`` has its keys (None: it has none, or does not exist).

    Raises:
        ConfigurationError: The database cannot be read.
    """
    if url.kind == "sqlite":
        if not url.path.exists():
            return None
        try:
            with closing(sqlite3.connect(url.path, timeout=busy_timeout())) as conn:
                row = conn.execute(_SELECT).fetchone()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return None
            raise _unreadable(url, error) from None
        except sqlite3.Error as error:
            raise _unreadable(url, error) from None
        return None if row is None else KeysRecord(str(row[0]), str(row[1]), bool(row[2]))
    return _postgres_record(url)


def make_keys(url: DatabaseUrl, home: KeysHome, vault: Vault) -> KeysRecord:
    """The keys of the database at ``url``, made in ``home`` first if it records none.

    Args:
        url: The run database (it exists: ``prepare_database`` made a SQLite file).
        home: Where to make them.
        vault: That backend's vault.

    Raises:
        ConfigurationError: The vault or the database refused.
    """
    found = recorded_keys(url)
    if found is not None:
        return found
    sealed = not _holds_unsealed_checkpoints(url)
    try:
        item = vault.create_item(
            home.vault,
            ItemSpec(
                title=KEYS_TITLE,
                category=Category.PASSWORD,
                tags=("vaultborn", KEYS_TAG),
                generate_password=parse_recipe(_RECIPE),
            ),
        )
    except VaultbornError as error:
        raise ConfigurationError(
            f"cannot make the run database's keys in vault {home.vault!r}: {error}"
        ) from None
    password = next(f for f in item.fields if f.id == "password")
    mine = KeysRecord(home.backend, str(item.reference(password)), sealed)
    kept = _record(url, mine)
    if kept != mine:  # another process recorded its keys first: those are the database's
        ref = parse_reference(mine.reference)
        with suppress(VaultbornError):  # an unused item left as it is is untidy, not wrong
            vault.edit_item(ref.vault, ref.item, ItemEdit(tags=("vaultborn", _UNUSED_TAG)))
    return kept


def _record(url: DatabaseUrl, mine: KeysRecord) -> KeysRecord:
    """Record ``mine`` unless a record is there already; the record kept."""
    from sqlalchemy import text

    from vaultborn.core.database import make_engine
    from vaultborn.core.sqltx import write_transaction

    engine = make_engine(url)
    try:
        with write_transaction(engine, "the run database's keys") as conn:
            conn.execute(text(_CREATE))
            row = conn.execute(text(_SELECT)).first()
            if row is not None:
                return KeysRecord(str(row[0]), str(row[1]), bool(row[2]))
            conn.execute(
                text(
                    "INSERT INTO run_keys (name, backend, reference, sealed) "
                    "VALUES (:name, :backend, :reference, :sealed)"
                ),
                {"name": _ROW, "backend": mine.backend, "reference": mine.reference,
                 "sealed": int(mine.sealed)},
            )  # fmt: skip
    finally:
        engine.dispose()
    return mine


def _postgres_record(url: DatabaseUrl) -> KeysRecord | None:
    from sqlalchemy import text

    with _postgres(url) as conn:
        if conn.execute(text("SELECT to_regclass('run_keys')")).scalar() is None:
            return None
        row = conn.execute(text(_SELECT)).first()
    return None if row is None else KeysRecord(str(row[0]), str(row[1]), bool(row[2]))


@contextmanager
def _postgres(url: DatabaseUrl) -> Iterator[Connection]:
    """A connection to read the PostgreSQL database at ``url``; its errors one line."""
    from vaultborn.core.database import make_engine
    from vaultborn.core.sqltx import translated_db_errors

    engine = make_engine(url)
    try:
        with (
            translated_db_errors(
                busy=lambda why: ConfigurationError(
                    f"the state database {url} is locked by another process ({why}); try again"
                ),
                broken=lambda why: ConfigurationError(
                    f"cannot use the state database {url}: {why}"
                ),
            ),
            engine.connect() as conn,
        ):
            yield conn
    finally:
        engine.dispose()


def _holds_unsealed_checkpoints(url: DatabaseUrl) -> bool:
    """Whether the database holds a checkpoint blob or write that is not sealed."""
    if url.kind == "sqlite":
        try:
            with closing(sqlite3.connect(url.path, timeout=busy_timeout())) as conn:
                return any(_found(conn, q) for q in _UNSEALED_SQLITE)
        except sqlite3.Error as error:
            raise _unreadable(url, error) from None
    from sqlalchemy import text

    with _postgres(url) as conn:
        for table, query in _UNSEALED_POSTGRES:
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
                continue
            if conn.execute(text(query)).first() is not None:
                return True
    return False


def _unreadable(url: DatabaseUrl, error: sqlite3.Error) -> ConfigurationError:
    """The words of ``graphs.checkpoint`` for a locked or damaged file (not imported: LangGraph)."""
    reason = " ".join(str(error).split()) or type(error).__name__
    if "locked" in reason or "busy" in reason:
        return ConfigurationError(
            f"the state database {url.path} is locked by another process ({reason}); try again"
        )
    return ConfigurationError(
        f"the state database {url.path} cannot be used ({reason}); move it aside to start over "
        "(its runs cannot be resumed)"
    )


def _found(conn: sqlite3.Connection, query: str) -> bool:
    try:
        return conn.execute(query).fetchone() is not None
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return False
        raise
