"""``vaultborn doctor`` lines for the local vault: directory, key and database."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from vaultborn.core.errors import VaultbornError
from vaultborn.vault.local.fs import DIR_MODE, FILE_MODE
from vaultborn.vault.local.keys import VaultKey
from vaultborn.vault.protocol import Health

__all__ = ["database_health", "home_health", "key_health", "one_line"]

HOME, KEY, DATABASE = "local vault home", "local vault key", "local vault database"


def one_line(exc: BaseException) -> str:
    """A one-line description of ``exc`` (our errors never carry secret values)."""
    text = str(exc) if isinstance(exc, VaultbornError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def home_health(home: Path, tightened_from: int | None) -> Health:
    """The data directory exists, belongs to this user and is mode 0700."""
    problem = _private(home, DIR_MODE)
    if problem:
        return Health(HOME, False, problem)
    note = f"; was {tightened_from:04o}, tightened to 0700" if tightened_from else ""
    return Health(HOME, True, f"{home} (mode 0700{note})")


def key_health(key: VaultKey | None) -> Health:
    """Where the key came from; a key file must be mode 0600 and this user's."""
    if key is None:
        return Health(KEY, False, "no key was loaded (see the database check)")
    if key.path is None:
        return Health(KEY, True, f"from {key.origin}")
    problem = _private(key.path, FILE_MODE)
    if problem:
        return Health(KEY, False, f"{problem}; whoever could read it can open the vault")
    return Health(KEY, True, f"{key.origin} (mode 0600)")


def database_health(db_path: Path, census: Callable[[], tuple[int, int, int]]) -> Health:
    """The database opens with the key, is mode 0600, and every item row opens.

    Args:
        db_path: ``<home>/vault.db``.
        census: Opens the vault and returns (vaults, items, items that do not open).
    """
    try:
        vaults, items, broken = census()
    except Exception as exc:  # a health check reports, never raises
        return Health(DATABASE, False, one_line(exc))
    problem = _private(db_path, FILE_MODE)
    if problem:
        return Health(DATABASE, False, problem)
    counts = f"{vaults} vault(s), {items} item(s)"
    if broken:
        return Health(
            DATABASE,
            False,
            f"{db_path}: {broken} of {items} item(s) do not open with the key "
            "(rows altered or copied)",
        )
    return Health(DATABASE, True, f"{db_path}: key check passed; {counts}")


def _private(path: Path, wanted: int) -> str | None:
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if info.st_uid != os.getuid():
        return f"{path} belongs to uid {info.st_uid}, not to this user"
    mode = stat.S_IMODE(info.st_mode)
    if mode != wanted:
        return f"{path} is mode {mode:04o}; it should be {wanted:04o} (chmod {wanted:o} {path})"
    return None
