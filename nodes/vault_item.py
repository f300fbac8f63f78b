"""The break-glass vault item: its action, and its idempotent creation (look up, then create)."""

from __future__ import annotations

from typing import Any

from vaultborn.core.errors import UsageError
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import ItemRecord, PlanData
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.errors import VaultNotFound
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.model import FieldType, Item, ItemSummary, Purpose
from vaultborn.vault.protocol import Vault
from vaultborn.vault.recipe import parse_recipe

__all__ = ["BREAK_GLASS_TAG", "create_break_glass_item", "item_args", "items_titled"]

BREAK_GLASS_TAG = "vaultborn-break-glass"


def item_args(plan: PlanData) -> dict[str, Any]:
    """The arguments of the ``create_item`` action (names and a recipe, no value)."""
    bg = plan["break_glass"]
    return {
        "vault": plan["vault"]["name"],
        "title": bg["item"],
        "username": bg["email"],
        "password_recipe": bg["password_recipe"],
    }


def items_titled(vault: Vault, vault_name: str, title: str) -> list[ItemSummary]:
    """Items titled ``title`` in ``vault_name``; none when that vault does not exist yet."""
    try:
        return vault.find_items(vault_name, title=title)
    except VaultNotFound:
        return []  # the local vault creates it with the first item


def create_break_glass_item(args: dict[str, Any], deps: Deps) -> ItemRecord:
    """The item titled ``args["title"]``, created with a vault-generated password if missing.

    Returns the ``item`` state: ids, version and the canonical reference of the password.

    Raises:
        UsageError: Several items have that title, or the existing one has no password.
    """
    vault, title = args["vault"], args["title"]
    found = items_titled(deps.vault, vault, title)
    if len(found) > 1:
        ids = ", ".join(i.id for i in found)
        raise UsageError(f"several items in {vault!r} are titled {title!r} ({ids}); keep one")
    if found:
        item = deps.vault.get_item(vault, found[0].id)
    else:
        deps.fault("create_item:before")
        item = deps.vault.create_item(
            vault,
            ItemSpec(
                title=title,
                tags=("vaultborn", BREAK_GLASS_TAG),
                assignments=(parse_assignment(f"username={args['username']}"),),
                generate_password=parse_recipe(args["password_recipe"]),
            ),
        )
        deps.fault("create_item:after")
    return {
        "vault_id": item.vault.id,
        "item_id": item.id,
        "version": item.version,
        "created": not found,
        "password_ref": str(item.reference(_password_field(item))),
    }


def _password_field(item: Item) -> Any:
    for fld in item.fields:
        if fld.purpose is Purpose.PASSWORD or (
            fld.type is FieldType.CONCEALED and fld.label == "password"
        ):
            return fld
    raise UsageError(f"item {item.title!r} has no password field to use for the IdP user")
