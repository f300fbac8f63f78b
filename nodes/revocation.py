"""Revocation's effects: take a chain down, each part on its own gate, nothing destroyed blindly.

In order: the user's authenticators removed, the user blocked (or deleted), the agent client's
grants (or the client) deleted, each store secret deleted (Secrets Manager with its recovery
window), and the vault items tagged archived — the vault keeps them. Each effect looks first
and does only what is left, so a repeat after a crash finds nothing to do.
"""

from __future__ import annotations

from typing import Any

from vaultborn.core.errors import UsageError
from vaultborn.idp.errors import IdPNotFound
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.lifecycle_records import LifecycleRecord, StoreDeleteRecord
from vaultborn.nodes.vault_item import items_titled
from vaultborn.vault.items import ItemEdit
from vaultborn.vault.reference import parse_reference

__all__ = [
    "ARCHIVED_TAG",
    "archive_items",
    "delete_store_secret",
    "remove_authenticators",
    "revoke_client",
    "revoke_user",
]

ARCHIVED_TAG = "vaultborn-archived"
"""The tag a revoked chain's vault items get (they are kept, not deleted)."""

USER_MODES = ("block", "delete")
CLIENT_MODES = ("grants", "client")


def remove_authenticators(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """Remove every authenticator of the break-glass user (none left: nothing to do)."""
    with deps.management() as mgmt:
        users = mgmt.users_by_email(args["email"])
        removed = 0
        for user in users:
            for method in mgmt.authentication_methods(user["user_id"]):
                deps.fault("remove_authenticators:before")
                try:
                    mgmt.delete_authentication_method(user["user_id"], str(method["id"]))
                except IdPNotFound:
                    continue
                deps.fault("remove_authenticators:after")
                removed += 1
    subject = ", ".join(u["user_id"] for u in users) or args["email"]
    return {"subject": subject, "outcome": "removed" if users else "absent", "count": removed}


def revoke_user(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """Block the break-glass user (``mode = "block"``) or delete it (``"delete"``)."""
    mode = _mode(args, USER_MODES)
    with deps.management() as mgmt:
        users = mgmt.users_by_email(args["email"])
        for user in users:
            if mode == "block" and user.get("blocked") is True:
                continue
            deps.fault("revoke_user:before")
            if mode == "block":
                mgmt.update_user(user["user_id"], blocked=True)
            else:
                mgmt.delete_user(user["user_id"])
            deps.fault("revoke_user:after")
    outcome = {"block": "blocked", "delete": "deleted"}[mode] if users else "absent"
    subject = ", ".join(u["user_id"] for u in users) or args["email"]
    return {"subject": subject, "outcome": outcome, "count": len(users)}


def revoke_client(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """Delete the agent client's grants (``mode = "grants"``) or the client (``"client"``)."""
    mode = _mode(args, CLIENT_MODES)
    client_id = args["client_id"]
    with deps.management() as mgmt:
        if mode == "client":
            deps.fault("revoke_client:before")
            mgmt.delete_client(client_id)  # Auth0 answers 204 for a client that is gone
            deps.fault("revoke_client:after")
            return {"subject": client_id, "outcome": "deleted"}
        removed = 0
        for grant in mgmt.client_grants(client_id):
            deps.fault("revoke_client:before")
            try:
                mgmt.delete_client_grant(str(grant["id"]))
            except IdPNotFound:
                continue
            deps.fault("revoke_client:after")
            removed += 1
    return {"subject": client_id, "outcome": "grants removed", "count": removed}


def delete_store_secret(args: dict[str, Any], deps: Deps) -> StoreDeleteRecord:
    """Delete one store target (Secrets Manager: scheduled, restorable ``recovery_days``)."""
    store = deps.store_for(args["to"])
    deps.fault("delete_store_secret:before")
    done = store.delete(args["to"], recovery_days=int(args["recovery_days"]))
    deps.fault("delete_store_secret:after")
    return {"target": args["to"], "outcome": done.outcome.value,
            "recovery_days": done.recovery_days}  # fmt: skip


def archive_items(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """Tag each item archived (kept in the vault, values and history untouched)."""
    tagged = 0
    ids = []
    for ref in args["references"]:
        parsed = parse_reference(ref)
        for summary in items_titled(deps.vault, parsed.vault, parsed.item):
            ids.append(summary.id)
            if ARCHIVED_TAG in summary.tags:
                continue
            deps.fault("archive_items:before")
            deps.vault.edit_item(
                summary.vault.id, summary.id, ItemEdit(tags=(*summary.tags, ARCHIVED_TAG))
            )
            deps.fault("archive_items:after")
            tagged += 1
    return {"subject": ", ".join(ids), "outcome": "archived", "count": tagged}


def _mode(args: dict[str, Any], modes: tuple[str, ...]) -> str:
    mode = str(args.get("mode"))
    if mode not in modes:
        raise UsageError(f"mode must be {' or '.join(modes)}, not {mode[:20]!r}")
    return mode
