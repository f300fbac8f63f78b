"""Templates with secret references, as ``op inject`` reads them: ``{{ op://vault/item/field }}``.

A reference between double braces (spaces around it allowed, names with spaces too) is
replaced by the value it points at; everything else is copied as it is. Every reference is
parsed before any value is read, so a template with one bad reference reads nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.secret import Secret

__all__ = ["references_in", "render"]

_PLACE = re.compile(r"\{\{\s*(op://[^{}\n]*?)\s*\}\}")
"""``{{ op://… }}`` on one line; the reference ends where the closing braces start."""


def references_in(template: str) -> list[SecretReference]:
    """The references ``template`` asks for, in order (``InvalidReference`` for a bad one)."""
    return [parse_reference(match.group(1)) for match in _PLACE.finditer(template)]


def render(template: str, read: Callable[[SecretReference], Secret]) -> Secret:
    """``template`` with each reference replaced by its value (read once per reference).

    Returns a ``Secret``: the rendered text holds values.
    """
    refs = references_in(template)
    values: dict[str, str] = {}
    for ref in refs:
        if str(ref) not in values:
            values[str(ref)] = read(ref).reveal()
    rendered = _PLACE.sub(lambda match: values[str(parse_reference(match.group(1)))], template)
    return Secret(rendered, label="rendered template")
