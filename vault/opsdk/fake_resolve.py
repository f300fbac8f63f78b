"""How the fake 1Password service resolves a secret reference (``secrets.resolve_all``).

The syntax check is the real SDK's own: ``Secrets.validate_secret_reference`` runs in its
native core, in-process and offline, so a reference the SDK refuses (an em dash in a name, a
missing part) is refused here with the SDK's own message. Names then match as 1Password
documents (credentials.md §1.2): an id, or a title case-insensitively; several matches are
``tooMany…`` errors; ``?attribute=totp`` (the SDK's spelling; ``otp`` is taken too) gives the
current code of a TOTP field and ``incompatibleTOTPQueryParameterField`` for any other field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from vaultborn.vault.otp import parse_otpauth_uri, totp_code

__all__ = ["Resolved", "Unresolved", "resolve"]

T = TypeVar("T")
NOTES = "notesPlain"


class Unresolved(Exception):
    """A reference that does not resolve: ``kind`` is a ``ResolveReferenceErrorTypes`` value."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.message = message


Resolved = tuple[str, str, str]
"""The secret, the item id and the vault id."""


def _one(kind: str, name: str, found: Iterable[T], ident: Callable[[T], str],
         title: Callable[[T], str]) -> T:  # fmt: skip
    candidates = list(found)
    by_id = [c for c in candidates if ident(c) == name]
    hits = by_id or [c for c in candidates if title(c).casefold() == name.casefold()]
    if not hits:
        raise Unresolved(f"{kind}NotFound")
    if len(hits) > 1:
        raise Unresolved({"vault": "tooManyVaults", "item": "tooManyItems"}.get(kind, kind))
    return hits[0]


def resolve(reference: str, vaults: dict[str, dict[str, Any]], now: float) -> Resolved:
    """``reference`` resolved against ``vaults`` (id → ``{"title", "items": {id: Item}}``).

    Raises:
        Unresolved: It does not parse or does not point at one field.
    """
    from onepassword import Secrets

    try:
        Secrets.validate_secret_reference(reference)
    except Exception as exc:  # the SDK's parser raises plain exceptions
        raise Unresolved("parsing", str(exc)) from None
    path, _, query = reference.removeprefix("op://").partition("?")
    parts = path.split("/")
    vault_name, item_name, field_name = parts[0], parts[1], parts[-1]
    section_name = parts[2] if len(parts) == 4 else None
    vault_id = _one("vault", vault_name, vaults, lambda v: v, lambda v: vaults[v]["title"])
    items = vaults[vault_id]["items"]
    item = _one("item", item_name, items.values(), lambda i: i.id, lambda i: i.title)
    fields = list(item.fields)
    if section_name is not None:
        section = next(
            (s for s in item.sections
             if s.id == section_name or s.title.casefold() == section_name.casefold()),
            None,
        )  # fmt: skip
        if section is None:
            raise Unresolved("noMatchingSections")
        fields = [f for f in fields if f.section_id == section.id]
    elif field_name.casefold() == NOTES.casefold() and item.notes:
        return str(item.notes), item.id, vault_id
    try:
        fld = _one("field", field_name, fields, lambda f: f.id, lambda f: f.title)
    except Unresolved as exc:
        raise Unresolved("tooManyMatchingFields" if exc.kind == "field" else exc.kind) from None
    wants_code = query.lower() in ("attribute=totp", "attribute=otp")
    if not wants_code:
        return str(fld.value), item.id, vault_id
    if getattr(fld.field_type, "value", fld.field_type) != "Totp":
        raise Unresolved("incompatibleTOTPQueryParameterField")
    try:
        code = totp_code(parse_otpauth_uri(str(fld.value)), now).reveal()
    except Exception as exc:  # any seed 1Password cannot compute a code from
        raise Unresolved("unableToGenerateTotpCode", type(exc).__name__) from None
    return code, item.id, vault_id
