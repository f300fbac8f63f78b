"""The fake op's commands: whoami, read, vault list, item list/get/create/edit.

Each takes the locked ``Store``, the parsed command line and the environment, and returns
stdout. Documented behaviour and assumptions are listed in ``vault.op.fake``.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from vaultborn.vault.assignment import Assignment, parse_assignment
from vaultborn.vault.errors import InvalidReference
from vaultborn.vault.items import ItemEdit, ItemSpec, apply_edit, new_id, new_item, now_iso
from vaultborn.vault.model import Category, Field, FieldType, Item, VaultInfo
from vaultborn.vault.op.fake_cli import Parsed
from vaultborn.vault.op.fake_state import OpFailure, Store
from vaultborn.vault.otp import parse_otpauth_uri, totp_code
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.secret import Secret

__all__ = ["COMMANDS"]

Command = Callable[[Store, Parsed, Mapping[str, str]], str]
_OP_NAME_CHAR = re.compile(r"[A-Za-z0-9\-_. ]")
_DEFAULT_VAULTS = ("private", "personal")


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _code(fld: Field) -> str:
    if not isinstance(fld.value, Secret):
        return ""
    return totp_code(parse_otpauth_uri(fld.value), time.time()).reveal()


def whoami(store: Store, p: Parsed, env: Mapping[str, str]) -> str:
    """``op whoami``: who is signed in."""
    who = {"url": "https://my.1password.com", "user_type": store.session.user_type}
    if store.session.user_type == "HUMAN":
        who["email"] = "wendy.appleseed@example.com"
    who["user_uuid"], who["account_uuid"] = "u" * 26, "a" * 26
    if p.wants_json(env):
        return _dump(who)
    labels = {"url": "URL", "email": "Email", "user_uuid": "User ID", "user_type": "User Type"}
    return "".join(f"{labels[k]}: {who[k]}\n" for k in labels if k in who)


def vault_list(store: Store, p: Parsed, env: Mapping[str, str]) -> str:
    """``op vault list``."""
    rows = [
        {"id": v.id, "name": v.name, "content_version": len(store.items_in(v))}
        for v in store.vaults
    ]
    return (
        _dump(rows) if p.wants_json(env) else "".join(f"{v.id}  {v.name}\n" for v in store.vaults)
    )


def _vault_flag(store: Store, p: Parsed, *, need_one: bool) -> VaultInfo | None:
    name = p.value("--vault")
    if name is not None:
        return store.find_vault(name)
    if need_one and store.session.user_type == "SERVICE_ACCOUNT" and len(store.vaults) > 1:
        raise OpFailure("you must specify a vault with the --vault flag")
    return None


def item_list(store: Store, p: Parsed, env: Mapping[str, str]) -> str:
    """``op item list [--vault V] [--tags a,b] [--categories c]``."""
    items = store.items_in(_vault_flag(store, p, need_one=True))
    tags = {t.casefold() for t in p.csv("--tags")}
    if tags:
        items = [i for i in items if tags & {t.casefold() for t in i.tags}]
    categories = {Category.parse(c) for c in p.csv("--categories")}
    if categories:
        items = [i for i in items if i.category in categories]
    if p.wants_json(env):
        return _dump([i.summary_json() for i in items])
    return "".join(f"{i.id}  {i.title}  {i.vault.name}\n" for i in items)


def _human(item: Item, data: Mapping[str, Any]) -> str:
    lines = [f"ID:          {item.id}", f"Title:       {item.title}"]
    lines += [f"Vault:       {item.vault.name} ({item.vault.id})", f"Category:    {item.category}"]
    lines.append("Fields:")
    for fld in data["fields"]:
        shown = fld.get("value", f"[use 'op item get {item.id} --reveal' to reveal]")
        lines.append(f"  {fld['label']}:    {shown}")
    return "\n".join(lines) + "\n"


def item_get(store: Store, p: Parsed, env: Mapping[str, str]) -> str:
    """``op item get ITEM [--vault V] [--reveal] [--otp] [--fields …]``."""
    vault = _vault_flag(store, p, need_one=False)
    item = store.find_item(p.only_positional(), vault, p.value("--vault") or "")
    if p.has("--otp"):
        fld = item.otp_field
        if fld is None:
            raise OpFailure(f'item "{item.title}" does not have a one-time password field')
        return _code(fld) + "\n"
    reveal = p.has("--reveal")
    data = item.to_json(reveal=reveal)
    for fld, out in zip(item.fields, data["fields"], strict=True):
        if reveal and fld.type is FieldType.OTP:
            out["totp"] = _code(fld)
    selectors = p.csv("--fields")
    if p.has("--fields"):
        return _selected(item, data, selectors)
    return _dump(data) if p.wants_json(env) else _human(item, data)


def _selected(item: Item, data: Mapping[str, Any], selectors: list[str]) -> str:
    wanted: list[dict[str, Any]] = []
    for sel in selectors:
        key, _, value = sel.partition("=")
        for fld in data["fields"]:
            hit = {"label": fld["label"].casefold(), "type": fld["type"].casefold()}.get(key)
            if hit == value.casefold() and fld not in wanted:
                wanted.append(fld)
    if len(selectors) == 1 and selectors[0].startswith("label="):
        if not wanted:
            label = selectors[0][len("label=") :]
            raise OpFailure(
                f"item '{item.vault.name}/{item.title}' does not have a field '{label}'"
            )
        return _dump(wanted[0])
    return _dump(wanted)


def _template_assignments(template: Mapping[str, Any]) -> Iterator[Assignment]:
    sections = {
        str(s.get("id")): s.get("label") or s.get("id") for s in template.get("sections") or []
    }
    for fld in template.get("fields") or []:
        value = fld.get("value")
        if not isinstance(value, str):
            continue
        type_name = str(fld.get("type", "")).upper()
        ftype = FieldType(type_name) if type_name in set(FieldType) else None
        section = fld.get("section") or {}
        label = str(fld.get("label") or fld.get("id"))
        secret = ftype is None or ftype.is_secret
        yield Assignment(
            label=label,
            value=Secret(value, label=label) if secret else value,
            type=ftype,
            section=sections.get(str(section.get("id"))) or section.get("label") or None,
        )


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise OpFailure(f"could not parse the {what} on stdin: expected a JSON object")
    return data


def _default_vault(store: Store) -> VaultInfo:
    for vault in store.vaults:
        if vault.name.casefold() in _DEFAULT_VAULTS:
            return vault
    if not store.vaults:
        raise OpFailure("you must specify a vault with the --vault flag")
    return store.vaults[0]


def item_create(store: Store, p: Parsed, env: Mapping[str, str]) -> str:
    """``op item create [--vault V] [--category C] [--title T] [--tags …] [-] [assignments…]``."""
    template = _json_object(sys.stdin.read(), "item template") if "-" in p.positionals else {}
    vault = _vault_flag(store, p, need_one=True) or _default_vault(store)
    category = p.value("--category") or template.get("category")
    if not category:
        raise OpFailure("an item category is required: use --category or a template")
    assignments = [*_template_assignments(template)]
    assignments += [parse_assignment(a) for a in p.positionals if a != "-"]
    recipe = p.value("--generate-password")
    spec = ItemSpec(
        title=p.value("--title") or str(template.get("title") or ""),
        category=Category.parse(str(category)),
        tags=tuple(p.csv("--tags") if p.has("--tags") else template.get("tags") or ()),
        assignments=tuple(assignments),
        generate_password=parse_recipe(recipe) if recipe is not None else None,
    )
    item = new_item(spec, vault)
    store.put(item)
    data = item.to_json(reveal=False)
    return _dump(data) if p.wants_json(env) else _human(item, data)


def _piped_stdin() -> str | None:
    """Stdin's text if it is a pipe or file with data; never a terminal or /dev/null."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return None
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)):
        return None
    text = sys.stdin.read()
    return text if text.strip() else None


def _from_json(text: str, stored: Item) -> Item:
    data = _json_object(text, "item JSON")
    for fld in data.get("fields") or []:
        fld.setdefault("id", new_id())
    data.update(id=stored.id, category=stored.category.value)
    data["vault"] = {"id": stored.vault.id, "name": stored.vault.name}
    try:
        return Item.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise OpFailure(f"could not parse the item JSON on stdin: {exc}") from None


def item_edit(store: Store, p: Parsed, env: Mapping[str, str]) -> str:
    """``op item edit ITEM [--vault V] [--title T] [--tags …] [--generate-password…] [a…]``."""
    if not p.positionals:
        raise OpFailure("accepts at least 1 arg(s), received 0")
    vault = _vault_flag(store, p, need_one=False)
    stored = store.find_item(p.positionals[0], vault, p.value("--vault") or "")
    piped = _piped_stdin()
    base = _from_json(piped, stored) if piped is not None else stored
    recipe = p.value("--generate-password")
    edit = ItemEdit(
        title=p.value("--title"),
        tags=tuple(p.csv("--tags")) if p.has("--tags") else None,
        assignments=tuple(parse_assignment(a) for a in p.positionals[1:]),
        generate_password=parse_recipe(recipe) if recipe is not None else None,
    )
    edited = replace(
        apply_edit(base, edit),
        created_at=stored.created_at,
        version=stored.version,
        updated_at=stored.updated_at,
    )
    if edited != stored:
        edited = replace(edited, version=stored.version + 1, updated_at=now_iso())
        store.put(edited)
    data = edited.to_json(reveal=False)
    return _dump(data) if p.wants_json(env) else _human(edited, data)


def _unsupported(ref: SecretReference) -> str | None:
    for part in (ref.vault, ref.item, ref.section or "", ref.field):
        for ch in part:
            if not _OP_NAME_CHAR.fullmatch(ch):
                return ch
    return None


def read(store: Store, p: Parsed, env: Mapping[str, str]) -> str:
    """``op read [-n] REF``; ``?attribute=otp`` gives the current code."""
    text = p.only_positional()
    prefix = f"could not read secret '{text}': "
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        raise OpFailure(prefix + f"invalid secret reference: {exc}") from None
    bad = _unsupported(ref)
    if bad is not None:
        raise OpFailure(prefix + f"invalid secret reference: unsupported character {bad!r}")
    try:
        item = store.find_item(ref.item, store.find_vault(ref.vault), ref.vault)
    except OpFailure as exc:
        inner = "" if exc.detail else f"could not get item {ref.vault}/{ref.item}: "
        raise exc.prefixed(prefix + inner) from None
    fld = _field(item, ref, prefix)
    if ref.attribute is not None:
        if ref.attribute != "otp":
            raise OpFailure(prefix + f"unsupported attribute '{ref.attribute}'")
        if fld.type is not FieldType.OTP:
            raise OpFailure(prefix + f"field '{ref.field}' is not a one-time password field")
        value = _code(fld)
    else:
        value = fld.value.reveal() if isinstance(fld.value, Secret) else fld.value or ""
    return value if p.has("--no-newline") else value + "\n"


def _field(item: Item, ref: SecretReference, prefix: str) -> Field:
    fields = list(item.fields)
    if ref.section is not None:
        name = ref.section.casefold()
        fields = [
            f
            for f in fields
            if f.section and (f.section.id == ref.section or f.section.label.casefold() == name)
        ]
    hits = [f for f in fields if f.id == ref.field] or [
        f for f in fields if f.label.casefold() == ref.field.casefold()
    ]
    if not hits:
        missing = f"{ref.section}/{ref.field}" if ref.section else ref.field
        raise OpFailure(prefix + f"item '{ref.vault}/{ref.item}' does not have a field '{missing}'")
    if len(hits) > 1:
        raise OpFailure(
            prefix + f'More than one field matches "{ref.field}". Try again and specify the '
            "field by its ID:",
            [f'\t* for the field "{f.label}" in vault {item.vault.name}: {f.id}' for f in hits],
        )
    return hits[0]


COMMANDS: dict[tuple[str, ...], Command] = {
    ("whoami",): whoami,
    ("read",): read,
    ("vault", "list"): vault_list,
    ("item", "list"): item_list,
    ("item", "get"): item_get,
    ("item", "create"): item_create,
    ("item", "edit"): item_edit,
}
