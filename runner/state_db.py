"""The run database of one invocation: its URL, its keys, and the key sealing its checkpoints.

Light on purpose: the commands that only look at runs use it without loading LangGraph, which
``StateDb.open`` and ``StateDb.open_async`` import only when a checkpointer is asked for.

The keys are the database's own (``runner.run_keys``: born in the vault on the first setup,
recorded in the database by reference): they seal the checkpoints and key the audit chain, whose
head is also kept in a witness file of ``$VAULTBORN_HOME`` and in the keys' vault item.
``VAULTBORN_CHECKPOINT_KEY`` overrides the sealing: an ``op://`` reference to another 32-byte
key, or ``off`` for none (the audit chain stays keyed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from vaultborn.core.database import DatabaseUrl, UrlLike, database_url
from vaultborn.core.errors import UsageError
from vaultborn.runner.run_keys import KeysHome, KeysRecord, RunKeys, derive_keys, recorded_keys
from vaultborn.runner.wiring import Settings, open_vault
from vaultborn.vault.protocol import Vault

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from vaultborn.approvals.audit import AuditLog

__all__ = ["KEY_ENV", "UNSEALED", "StateDb", "home_of", "keys_home", "state_db"]

KEY_ENV = "VAULTBORN_CHECKPOINT_KEY"
"""An op:// reference to 32 bytes (base64) that seal every checkpoint instead of the run
database's own key; ``off``: nothing is sealed. Unset: the run keys seal them."""
UNSEALED = "off"
"""The value of ``KEY_ENV`` that opts out of sealing."""


class StateDb:
    """The run database: its URL, its keys, and the key checkpoints are sealed with.

    Args:
        url: The URL (text is checked here, once).
        key: 32 bytes that seal every checkpoint blob (None: unsealed).
        keys: The database's run keys (None: it has none, or they are not at hand).
        home: Where its witness file goes (None: no witness file).
        sealing: How its checkpoints are sealed, for ``doctor``.
        vault: Opens the vault that holds the keys (for the audit head kept there).
    """

    __slots__ = ("home", "key", "keys", "sealing", "url", "vault")

    def __init__(
        self,
        url: UrlLike,
        key: bytes | None = None,
        *,
        keys: RunKeys | None = None,
        home: Path | None = None,
        sealing: str = "",
        vault: Callable[[], Vault] | None = None,
    ) -> None:
        self.url = DatabaseUrl.parse(url)
        self.key, self.keys, self.home, self.vault = key, keys, home, vault
        self.sealing = sealing or ("sealed" if key is not None else "unsealed")

    def __repr__(self) -> str:
        return f"StateDb({self.url!r}, sealed={self.key is not None})"

    def open(self) -> AbstractContextManager[BaseCheckpointSaver[str]]:
        """A checkpointer for looking (sync)."""
        from vaultborn.graphs.checkpoint import open_checkpointer

        return open_checkpointer(self.url, key=self.key)

    def open_async(self) -> AbstractAsyncContextManager[BaseCheckpointSaver[str]]:
        """A checkpointer for running the graph (async)."""
        from vaultborn.graphs.checkpoint import open_async_checkpointer

        return open_async_checkpointer(self.url, key=self.key)

    @property
    def witness(self) -> Path | None:
        """The file in ``home`` that holds this database's audit head (one per database)."""
        if self.home is None:
            return None
        name = hashlib.sha256(self.url.text.encode()).hexdigest()[:24]
        return self.home / "audit-heads" / f"{name}.json"

    def audit_log(self, *, clock: Callable[[], float] = time.time) -> AuditLog:
        """The audit log, keyed and anchored when the database has keys.

        Raises:
            ConfigurationError: The database cannot be opened.
        """
        from vaultborn.approvals.audit import AuditLog
        from vaultborn.approvals.audit_anchor import Anchor, VaultAnchor, WitnessFile
        from vaultborn.vault.reference import parse_reference

        if self.keys is None:
            return AuditLog(self.url, clock=clock)
        anchors: list[Anchor] = []
        if self.witness is not None:
            anchors.append(WitnessFile(self.witness))
        if self.vault is not None:
            ref = parse_reference(self.keys.record.reference)
            shown = f"op://{ref.vault}/{ref.item}"
            anchors.append(VaultAnchor(self.vault(), ref.vault, ref.item, shown))
        return AuditLog(self.url, clock=clock, key=self.keys.audit, anchors=anchors)


def state_db(
    settings: Settings, db: str | None, *, make_keys_in: KeysHome | None = None
) -> StateDb:
    """The run database this invocation uses (``--db``, the variable, or the home's file).

    Args:
        settings: The invocation's choices.
        db: ``--db``.
        make_keys_in: Where to make the database's keys if it has none (a process about to
            start a run: the plan's vault); None uses the keys it has, if any.

    Raises:
        UsageError: ``$VAULTBORN_CHECKPOINT_KEY`` names something that is not a 32-byte key.
        ConfigurationError: The keys cannot be made or read (the vault or the database refused).
    """
    home = home_of(settings)
    url = database_url(home, db)
    record = recorded_keys(url)
    if record is None and make_keys_in is not None:
        from vaultborn.graphs.checkpoint import prepare_database
        from vaultborn.runner.run_keys import make_keys

        prepare_database(url)
        vault = open_vault(replace(settings, vault_backend=make_keys_in.backend))
        try:
            record = make_keys(url, make_keys_in, vault)
        finally:
            _close(vault)
    keys = None if record is None else _opened_keys(settings, record)
    key, sealing = _sealing(settings, keys)
    opener = None if record is None else _opener(settings, record)
    return StateDb(url, key, keys=keys, home=home, sealing=sealing, vault=opener)


def keys_home(settings: Settings, backend: str, vault: str) -> KeysHome:
    """Where a run of a plan (its ``vault.backend`` and ``vault.name``) makes missing keys.

    Raises:
        UsageError: A flag or the environment chose another backend than the plan.
    """
    return KeysHome(settings.for_plan(backend).vault_backend, vault)


def _sealing(settings: Settings, keys: RunKeys | None) -> tuple[bytes | None, str]:
    """The checkpoint key, and how the checkpoints are sealed in words."""
    ref = os.environ.get(KEY_ENV)
    if ref and ref.strip().lower() == UNSEALED:
        return None, f"unsealed ({KEY_ENV}={UNSEALED})"
    if ref:
        return _explicit_key(settings, ref), f"sealed with {KEY_ENV} ({ref})"
    if keys is None:
        return None, "unsealed: no run keys yet (the first setup makes them in the plan's vault)"
    if not keys.record.sealed:
        return None, (
            "unsealed: it held unsealed checkpoints when its keys were made (written before "
            "sealing was the default); its audit chain is keyed"
        )
    return keys.checkpoint, f"sealed with the run keys {keys.record.reference}"


def _explicit_key(settings: Settings, ref: str) -> bytes:
    try:
        key = base64.b64decode(open_vault(settings).read(ref).reveal(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise UsageError(f"{KEY_ENV}: {ref} must hold 32 bytes, base64-encoded")
    return key


_opened: dict[tuple[str, str, str], RunKeys] = {}
"""Keys read in this process, by home, backend and reference: one vault read per process."""


def _opened_keys(settings: Settings, record: KeysRecord) -> RunKeys:
    at = (str(home_of(settings)), record.backend, record.reference)
    found = _opened.get(at)
    if found is None or found.record != record:
        vault = open_vault(replace(settings, vault_backend=record.backend))
        try:
            found = _opened[at] = derive_keys(record, vault)
        finally:
            _close(vault)
    return found


def _opener(settings: Settings, record: KeysRecord) -> Callable[[], Vault]:
    def opened() -> Vault:
        return open_vault(replace(settings, vault_backend=record.backend))

    return opened


def _close(vault: Vault) -> None:
    close = getattr(vault, "close", None)  # the local vault and the SDK client hold resources
    if callable(close):
        close()


def home_of(settings: Settings) -> Path:
    """``$VAULTBORN_HOME`` (default ``~/.vaultborn``)."""
    return Path(settings.env().get("VAULTBORN_HOME") or Path.home() / ".vaultborn")
