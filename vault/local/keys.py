"""The local vault's key: 32 bytes from ``VAULTBORN_VAULT_KEY``, the caller, or a key file.

Error messages name where a key came from and what is wrong with it, never the key.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from vaultborn.core.errors import ConfigurationError
from vaultborn.vault.errors import VaultLocked
from vaultborn.vault.local.fs import write_new_private_file

__all__ = ["KEY_BYTES", "KEY_ENV", "VaultKey", "check_key", "decode_key", "key_file"]

KEY_BYTES = 32
KEY_ENV = "VAULTBORN_VAULT_KEY"
_MAX_FILE_BYTES = 256
_MAKE_ONE = "python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'"


@dataclass(frozen=True, repr=False)
class VaultKey:
    """An AES-256 key and where it came from (its ``repr`` shows only the origin)."""

    material: bytes
    """The 32 key bytes."""
    origin: str
    """Where the key came from, for messages: ``VAULTBORN_VAULT_KEY``, a key file, the caller."""
    path: Path | None = None
    """The key file, if the key was read from (or written to) one."""

    def __repr__(self) -> str:
        return f"VaultKey(from {self.origin})"


def check_key(material: bytes, *, source: str) -> bytes:
    """Return ``material`` if it is 32 bytes, else raise ``ConfigurationError``."""
    if not isinstance(material, bytes) or len(material) != KEY_BYTES:
        size = len(material) if isinstance(material, bytes) else type(material).__name__
        raise ConfigurationError(
            f"{source} must be {KEY_BYTES} bytes (AES-256), not {size}; make one with: {_MAKE_ONE}"
        )
    return material


def decode_key(text: str, *, source: str) -> bytes:
    """Decode a base64 key: standard or URL-safe alphabet, with or without padding.

    Raises:
        ConfigurationError: ``text`` is not base64 or does not hold exactly 32 bytes.
    """
    cleaned = "".join(text.split()).rstrip("=").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            f"{source} is not base64; it must hold {KEY_BYTES} random bytes in base64 "
            f"(make one with: {_MAKE_ONE})"
        ) from None
    return check_key(raw, source=source)


def key_file(path: Path, *, may_create: bool) -> VaultKey:
    """The key in ``path``, creating the file (32 random bytes, mode 0600) if allowed.

    Args:
        path: The key file, ``<home>/vault.key``.
        may_create: False once a database exists: a fresh key could never open it.

    Raises:
        VaultLocked: The file is missing and may not be created.
        ConfigurationError: The file cannot be read or does not hold a 32-byte base64 key.
    """
    if not path.exists():
        if not may_create:
            raise VaultLocked(
                f"the vault key does not open {path.parent / 'vault.db'}: {path} is missing; "
                f"restore it or set {KEY_ENV} to the key the vault was created with"
            )
        material = os.urandom(KEY_BYTES)
        if write_new_private_file(path, base64.b64encode(material) + b"\n"):
            return VaultKey(material, f"key file {path}", path)
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the vault key file {path}: {exc.strerror}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise ConfigurationError(f"the vault key file {path} is too large to hold a key")
    source = f"the vault key file {path}"
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{source} is not base64 text") from None
    return VaultKey(decode_key(text, source=source), f"key file {path}", path)
