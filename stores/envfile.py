r"""Env files and ``--env`` flags for ``vaultborn run``: variable names mapped to references.

An env file holds references only: ``NAME=op://vault/item/field`` lines, ``#`` comments and
blank lines (``export`` and quotes around the reference are accepted). A line whose value is
not a reference is refused with file:line and nothing of it is echoed but a conventional
``UPPER_SNAKE`` name, since a pasted secret is the likeliest reason for it: the value never,
and no part of a line that may itself be a secret holding ``=`` (base64 or base32 padding,
a generated password).

Lines end at ``\n`` only (``\r\n`` too), as editors count them: a form feed or U+2028 inside a
comment neither splits it nor shifts the line numbers of errors. A UTF-8 byte-order mark is
ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from vaultborn.core.errors import UsageError
from vaultborn.core.files import read_small_file
from vaultborn.stores.errors import InvalidEnvFile
from vaultborn.vault.errors import InvalidReference
from vaultborn.vault.reference import SecretReference, parse_reference

__all__ = ["parse_env_assignment", "parse_env_file", "parse_env_lines"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONVENTIONAL_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_FORM = "expected NAME=op://vault/item/field"


def parse_env_assignment(text: str, where: str = "--env") -> tuple[str, SecretReference]:
    """Parse one ``NAME=op://…``; ``where`` prefixes the error (a flag or ``file:line``)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if name.startswith("export "):
        name = name.removeprefix("export ").strip()
    if not sep:
        raise InvalidEnvFile(f"{where}: {_FORM} (no '=')")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    is_reference = value.startswith("op://")
    if not _NAME.fullmatch(name):
        if not is_reference:  # maybe a pasted secret holding '=': show none of it
            raise InvalidEnvFile(f"{where}: {_FORM} (the text before '=' is not a name)")
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise InvalidEnvFile(f"{where}: {shown!r} is not a valid environment variable name")
    if not is_reference:
        # A lone name before '=' or '=='-padding may be a base64/base32 secret: not shown.
        of = f"of {name} " if _CONVENTIONAL_NAME.fullmatch(name) and value.strip("=") else ""
        raise InvalidEnvFile(
            f"{where}: the value {of}is not an op:// reference "
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


def _shown_path(path: Path) -> str:
    """How errors name an env file: not at all where the name holds ``=``.

    Such a "path" is likelier an assignment typed after ``--env-file`` (``--env-file K=value``)
    than a file, and its value may be the very secret that belongs in the vault.
    """
    text = str(path)
    if "=" in text:
        return "with a name holding '=' (not shown)"
    return text if text.isprintable() else repr(text)


def parse_env_file(path: Path) -> dict[str, SecretReference]:
    """Read and parse an env file."""
    shown = _shown_path(path)
    try:
        # Bytes, not read_text(): universal newlines would end a line at a lone \r too.
        text = read_small_file(path).decode("utf-8-sig")
    except FileNotFoundError:
        hint = "; NAME=op://… belongs in --env" if "=" in str(path) else ""
        raise UsageError(f"env file {shown} does not exist{hint}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"env file {shown} cannot be read ({reason})") from None
    except UnicodeDecodeError:
        raise UsageError(f"env file {shown} cannot be read (not UTF-8 text)") from None
    # Not splitlines(): it also splits at \f, \v, \x1c-\x1e, \x85, U+2028 and U+2029.
    return parse_env_lines(text.split("\n"), shown)
