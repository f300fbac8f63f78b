"""Creating and editing items through op, values on stdin only (credentials.md §1.4, §1.5).

``op item create --vault V … -`` takes a JSON template on stdin; ``op item edit ID --vault V``
(CLI ≥ 2.23) takes the full item JSON on stdin. ``--generate-password=RECIPE`` rides on top of
either, so the password is generated inside 1Password. Both retry on 409 like terraform's
client; an edit re-reads the item on every attempt, so a retry never overwrites a change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from vaultborn.core.errors import UsageError
from vaultborn.vault.assignment import Assignment
from vaultborn.vault.errors import VaultUnavailable
from vaultborn.vault.items import OTP_LABEL, ItemEdit, ItemSpec, apply_edit, new_item
from vaultborn.vault.model import Category, FieldType, Item, VaultInfo
from vaultborn.vault.op import shapes
from vaultborn.vault.op.runner import OpRunner
from vaultborn.vault.secret import Secret

__all__ = ["EditFor", "create", "edit", "otp_edit"]

EditFor = Callable[[Item], ItemEdit]
"""The edit to make, given the item as it is now (revealed)."""


def create(op: OpRunner, vault: str, spec: ItemSpec) -> Item:
    """``op item create`` in ``vault`` (a name or id as op takes it); returns it concealed."""
    if spec.generate_password is not None:
        check_can_generate(spec.category)
    # Built here for validation and op's field shapes; the password is op's to generate.
    draft = new_item(replace(spec, generate_password=None), VaultInfo("", vault))
    template = json.dumps(shapes.create_template(draft))
    args = ["item", "create", "--vault", vault, "--category", _category_flag(spec.category)]
    args += ["--format", "json"]
    if spec.generate_password is not None:
        args.append(f"--generate-password={spec.generate_password}")
    args.append("-")
    forbid = shapes.secret_values(draft)

    def attempt() -> Item:
        out = op.run_json(args, stdin=template, forbid=forbid)
        return shapes.item_from_op(out, reveal=False)

    return op.retry_conflicts(attempt)


def edit(
    op: OpRunner,
    vault: VaultInfo,
    item_id: str,
    edit_for: EditFor,
    *,
    current: Mapping[str, Any] | None = None,
) -> Item:
    """Apply an edit in memory and send the whole item to ``op item edit`` if it changed.

    Args:
        op: The runner.
        vault: The item's vault.
        item_id: The item's id.
        edit_for: Builds the edit from the item as it is now.
        current: The item's revealed JSON if the caller just read it (saves one op call).
    """
    pending = [current] if current is not None else []

    def attempt() -> Item:
        raw = pending.pop() if pending else get_raw(op, vault.id, item_id, reveal=True)
        before = shapes.item_from_op(raw, reveal=True)
        wanted = edit_for(before)
        if wanted.generate_password is not None:
            check_can_generate(before.category)
        after = apply_edit(before, replace(wanted, generate_password=None))
        if after is before and wanted.generate_password is None:
            return before.concealed()
        args = ["item", "edit", item_id, "--vault", vault.id, "--format", "json"]
        if wanted.generate_password is not None:
            args.append(f"--generate-password={wanted.generate_password}")
        payload = json.dumps(shapes.edit_payload(raw, before, after))
        out = op.run_json(args, stdin=payload, forbid=shapes.secret_values(after))
        return shapes.item_from_op(out, reveal=False)

    return op.retry_conflicts(attempt)


def get_raw(op: OpRunner, vault: str, item: str, *, reveal: bool) -> dict[str, Any]:
    """``op item get ITEM --vault V --format json [--reveal]`` as op printed it."""
    args = ["item", "get", item, "--vault", vault, "--format", "json"]
    data = op.run_json([*args, "--reveal"] if reveal else args)
    if not isinstance(data, dict):
        raise VaultUnavailable(f"op item get {item} did not return one item")
    return data


def otp_edit(uri: Secret) -> EditFor:
    """Set the item's OTP field (its first one, else a new ``one-time password``) to ``uri``."""

    def edit_for(item: Item) -> ItemEdit:
        existing = item.otp_field
        label = existing.label if existing else OTP_LABEL
        section = existing.section.id if existing and existing.section else None
        value = Secret(uri.reveal(), label=label)
        return ItemEdit(
            assignments=(Assignment(label=label, value=value, type=FieldType.OTP, section=section),)
        )

    return edit_for


def check_can_generate(category: Category) -> None:
    """Refuse, as op would, to generate a password for other than Login and Password items."""
    if not category.can_generate_password:
        raise UsageError(
            f"a password can be generated for Login and Password items, not "
            f"{category.value.replace('_', ' ').title()} items"
        )


def _category_flag(category: Category) -> str:
    # op's --category ignores case and spaces ("API Credential" = apicredential).
    return category.value.replace("_", " ").title()
