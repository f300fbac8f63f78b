"""Private files and directories: 0700 and 0600 whatever the process umask is."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vaultborn.core.errors import ConfigurationError

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "ensure_private_dir",
    "ensure_private_file",
    "mode_of",
    "tighten_file",
    "write_new_private_file",
]

DIR_MODE = 0o700
FILE_MODE = 0o600
_OURS = ("vault.", "state.db", "devidp.db", ".vault.", ".state.db", ".devidp.db")
"""What a data directory of vaultborn's holds: only such a directory is ever chmod-ed."""
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def mode_of(path: Path) -> int:
    """The permission bits of ``path`` (e.g. ``0o600``)."""
    return stat.S_IMODE(os.stat(path).st_mode)


def ensure_private_dir(path: Path) -> int | None:
    """Create ``path`` (mode 0700) or tighten it to 0700.

    Returns:
        The previous mode if an existing directory was readable by others, else None.

    Raises:
        ConfigurationError: ``path`` cannot be created, or is not a directory.
    """
    try:
        existed = path.exists()
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if not path.is_dir():
            raise ConfigurationError(f"{path} is not a directory; point VAULTBORN_HOME elsewhere")
        before = mode_of(path)
        if before != DIR_MODE:
            # Never loosen or tighten a directory that is not ours (``--home /`` once turned
            # the machine's root into 0700): only a new, empty or vaultborn-only one.
            strangers = [p.name for p in path.iterdir() if not p.name.startswith(_OURS)]
            if existed and strangers:
                raise ConfigurationError(
                    f"{path} is mode {before:04o} and holds files that are not vaultborn's; "
                    "give vaultborn a directory of its own"
                )
            os.chmod(path, DIR_MODE)
    except OSError as exc:
        raise ConfigurationError(f"cannot create or secure {path}: {exc.strerror}") from None
    return before if existed and before & 0o077 else None


def ensure_private_file(path: Path) -> int | None:
    """Create an empty ``path`` with mode 0600, or tighten an existing one to 0600.

    Returns:
        The previous mode if an existing file was open to others, else None.

    Raises:
        ConfigurationError: ``path`` cannot be created or secured.
    """
    try:
        fd = os.open(path, _CREATE, FILE_MODE)
    except FileExistsError:
        return tighten_file(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot create {path}: {exc.strerror}") from None
    try:
        # os.open's mode passes through the umask; fchmod does not.
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return None


def tighten_file(path: Path) -> int | None:
    """Set an existing file to 0600; return its previous mode if that was open to others.

    Raises:
        ConfigurationError: ``path`` is not a regular file (a directory is never chmod-ed here).
    """
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise ConfigurationError(f"{path} is not a regular file")
        before = mode_of(path)
        if before != FILE_MODE:
            os.chmod(path, FILE_MODE)
    except OSError as exc:
        raise ConfigurationError(f"cannot secure {path}: {exc.strerror}") from None
    return before if before & 0o077 else None


def write_new_private_file(path: Path, data: bytes) -> bool:
    """Atomically create ``path`` (mode 0600) holding ``data``, unless it already exists.

    The data is written to a fresh temporary file first (``O_CREAT | O_EXCL``) and then
    hard-linked into place, so a concurrent reader sees either no file or the whole file.

    Returns:
        True if this call created ``path``; False if another writer got there first.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(tmp, _CREATE, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise ConfigurationError(f"cannot create {path}: {exc.strerror}") from None
    return True
