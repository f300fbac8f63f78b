"""Env files and ``--env`` flags for ``vaultborn run``: variable names mapped to references.

An env file holds references only: ``NAME=op://vault/item/field`` lines, ``#`` comments and
blank lines (``export`` and quotes around the reference are accepted). A line whose value is
not a reference is refused with file:line; the value is never echoed, since a pasted secret
is the likeliest reason for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from stores.errors import InvalidEnvFile
from vault.errors import InvalidReference
from vault.reference import SecretReference, parse_reference
from vaultborn.errors import UsageError

__all__ = ["parse_env_assignment", "parse_env_file", "parse_env_lines"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_env_assignment(text: str, where: str = "--env") -> tuple[str, SecretReference]:
    """Parse one ``NAME=op://…``; ``where`` prefixes the error (a flag or ``file:line``)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if name.startswith("export "):
        name = name.removeprefix("export ").strip()
    if not sep:
        raise InvalidEnvFile(f"{where}: expected NAME=op://vault/item/field (no '=')")
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise InvalidEnvFile(f"{where}: {shown!r} is not a valid environment variable name")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    if not value.startswith("op://"):
        raise InvalidEnvFile(
            f"{where}: the value of {name} is not an op:// reference "
            "(only references belong here, never values)"
        )
    try:
        return name, parse_reference(value)
    except InvalidReference as exc:
        raise InvalidEnvFile(f"{where}: {name}: {exc}") from None


def parse_env_lines(lines: Iterable[str], source: str) -> dict[str, SecretReference]:
    """Parse env-file lines; ``source`` names the file in errors."""
    out: dict[str, SecretReference] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, ref = parse_env_assignment(text, f"{source}:{number}")
        if name in out:
            raise InvalidEnvFile(f"{source}:{number}: {name} is already set on an earlier line")
        out[name] = ref
    return out


def parse_env_file(path: Path) -> dict[str, SecretReference]:
    """Read and parse an env file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"env file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"env file {path} cannot be read ({type(exc).__name__})") from None
    return parse_env_lines(text.splitlines(), str(path))
