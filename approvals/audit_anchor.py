"""The audit chain's head kept outside the database, so that a log cut short shows.

A keyed chain cannot be rewritten without the key, but its newest rows (or all of them) can be
deleted and what is left still checks. So the head — the newest row's ``seq`` and digest, and
the chain it belongs to — is kept elsewhere too, and ``AuditLog.verify`` requires the row it
names to be in the log, unchanged:

- ``WitnessFile``: a small JSON file (0600, in a 0700 folder of ``$VAULTBORN_HOME``) written
  after every append, under a lock. It never moves back: a head older than the one it holds is
  not written, so writers finishing out of order cannot lower it, and a head of another chain
  (a new database where this one was) is not written over it either — verify says so.
- ``VaultAnchor``: a text field of the vault item that holds the run database's keys, written
  when a process has finished moving its runs (``flush``), not on every append: with 1Password
  each write is an ``op`` call of about a second that counts against the account's hourly and
  daily write limits, which a write per audit row would soon use up. It is what catches a
  witness file deleted or rolled back along with the log, and it is shared by every host of a
  PostgreSQL run database, where each host has its own witness file.

A problem reading an anchor is a ``ConfigurationError`` (one line): ``verify`` reports it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Protocol

from vaultborn.approvals.audit_chain import Head
from vaultborn.core.errors import ConfigurationError, VaultbornError
from vaultborn.vault.assignment import Assignment
from vaultborn.vault.items import ItemEdit
from vaultborn.vault.model import FieldType
from vaultborn.vault.protocol import Vault

__all__ = ["ANCHOR_FIELD", "Anchor", "VaultAnchor", "WitnessFile", "parse_head"]

ANCHOR_FIELD = "audit head"
"""The label of the vault item's text field that holds the head."""

_MAX_BYTES = 4096


class Anchor(Protocol):
    """Somewhere outside the database that holds the chain's head."""

    name: str
    """What it is, for ``verify``'s verdict ("the witness file …", "the vault item …")."""

    def held(self) -> Head | None:
        """The head it holds (None: none yet).

        Raises:
            ConfigurationError: It cannot be read, or holds something that is not a head.
        """
        ...

    def note(self, head: Head) -> None:
        """The chain has grown to ``head`` (called after every append)."""
        ...

    def flush(self, *, final: bool = False) -> None:
        """Write what ``note`` deferred (after a run's move; ``final``: the process is done)."""
        ...

    def close(self) -> None:
        """Let go of what it holds (a vault's connection)."""
        ...


def parse_head(text: str, where: str) -> Head:
    """A head from its JSON text.

    Raises:
        ConfigurationError: ``text`` is not one (``where`` names the anchor).
    """
    try:
        data = json.loads(text)
        head = Head(str(data["chain"]), int(data["seq"]), str(data["hash"]))
    except (ValueError, KeyError, TypeError):
        raise ConfigurationError(f"{where} does not hold an audit head") from None
    if head.seq < 1:
        raise ConfigurationError(f"{where} does not hold an audit head")
    return head


def _text(head: Head) -> str:
    return json.dumps({"chain": head.chain, "seq": head.seq, "hash": head.hash}, sort_keys=True)


def _supersedes(new: Head, old: Head | None) -> bool:
    """Whether ``new`` may replace ``old``: a later row of the same chain, or a first head."""
    return old is None or (old.chain == new.chain and new.seq > old.seq)


class WitnessFile:
    """The head in a private file, written after every append.

    Args:
        path: The file (made 0600, its folder 0700).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"the witness file {path}"

    def held(self) -> Head | None:
        """The head in the file (None: no file yet)."""
        try:
            with open(self.path, "rb") as handle:
                data = handle.read(_MAX_BYTES)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ConfigurationError(f"{self.name} cannot be read: {error.strerror}") from None
        return parse_head(data.decode("utf-8", "replace"), self.name)

    def note(self, head: Head) -> None:
        """Write ``head`` unless the file holds a later row (or another chain's).

        Raises:
            ConfigurationError: The file cannot be written (a full disk, a read-only home).
        """
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # writers in other processes wait here
                old = os.read(fd, _MAX_BYTES).decode("utf-8", "replace")
                try:
                    held = parse_head(old, self.name) if old.strip() else None
                except ConfigurationError:
                    held = None  # a torn write (a crash mid-write): the new head replaces it
                if not _supersedes(head, held):
                    return
                data = _text(head).encode()
                # Written over the old head, then cut to length: a head of the same chain is
                # never shorter, so there is no moment the file is empty; and ext4 flushes a
                # file cut to zero and rewritten when it is closed, a disk wait per append.
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            finally:
                os.close(fd)
        except OSError as error:
            raise ConfigurationError(
                f"the audit head cannot be written to {self.path}: {error.strerror}"
            ) from None

    def flush(self, *, final: bool = False) -> None:
        """Nothing deferred: every head is written when noted."""

    def close(self) -> None:
        """Nothing held between writes."""


class VaultAnchor:
    """The head in a text field of a vault item, written on ``flush``.

    A process that moves many runs (a worker) writes it at most once per ``interval`` and
    when it ends, not after every move: each write is a vault call against rate limits.

    Args:
        vault: The vault holding the item.
        vault_name: Its vault (name or id).
        item: The item (title or id).
        shown: How to name it in messages (its ``op://`` reference).
        interval: Seconds between two writes that are not ``final``.
    """

    def __init__(
        self, vault: Vault, vault_name: str, item: str, shown: str, *, interval: float = 60.0
    ) -> None:
        self.vault, self.vault_name, self.item = vault, vault_name, item
        self.name = f"the vault item {shown}"
        self.interval = interval
        self._noted: Head | None = None
        self._written: Head | None = None
        self._last_write = -interval

    def held(self) -> Head | None:
        """The head in the item's field (None: the field is not there yet)."""
        try:
            found = self.vault.get_item(self.vault_name, self.item)
        except VaultbornError as error:
            raise ConfigurationError(f"{self.name} cannot be read: {error}") from None
        for field in found.fields:
            if field.label == ANCHOR_FIELD and isinstance(field.value, str):
                return parse_head(field.value, self.name)
        return None

    def note(self, head: Head) -> None:
        """Remember ``head`` for the next ``flush``."""
        if _supersedes(head, self._noted):
            self._noted = head

    def flush(self, *, final: bool = False) -> None:
        """Write the newest head noted, unless the item holds a later one (another host's).

        Raises:
            ConfigurationError: The vault refused the read or the write.
        """
        head = self._noted
        if head is None or head == self._written:
            return
        if not final and time.monotonic() - self._last_write < self.interval:
            return
        self._last_write = time.monotonic()
        if not _supersedes(head, self.held()):
            self._written = head
            return
        field = Assignment(label=ANCHOR_FIELD, value=_text(head), type=FieldType.STRING)
        try:
            self.vault.edit_item(self.vault_name, self.item, ItemEdit(assignments=(field,)))
        except VaultbornError as error:
            raise ConfigurationError(f"{self.name} cannot be written: {error}") from None
        self._written = head

    def close(self) -> None:
        """Close the vault (the local vault holds a database connection)."""
        close = getattr(self.vault, "close", None)
        if callable(close):
            close()
