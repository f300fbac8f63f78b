"""Rotation's effects: a new value born in the vault, pushed outward, checked, the old retired.

The order keeps every moment of a rotation working, crash or not:

1. ``new_value``: the item gets a new version whose field holds a value generated in the vault
   and, beside it, the old value as ``previous <field>`` (``vault.previous``) and the run's id
   as ``vaultborn rotation`` (so a repeat after a crash sees it is done);
2. a push (``push_client_secret``, ``push_password``): the IdP gets the new
   value, read from the vault in memory for the one request;
3. a check with the new value only (``verify_client_secret``, ``verify_login``);
4. ``retire_previous``: the old value leaves the item's live fields (the vault's history keeps
   it).

Until 4, whatever the IdP holds is one of the item's two values: the agent's ``TokenSource``
tries the previous one when the IdP refuses the current one, and a person logging in finds
both in the item. Every effect looks before it writes, so running one again does nothing twice.
"""

from __future__ import annotations

from typing import Any

from vaultborn.core.errors import ConfigurationError, UsageError
from vaultborn.idp.auth0 import Auth0ManagementClient, User
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.lifecycle_records import LifecycleRecord, RotationRecord
from vaultborn.nodes.verification import agent_token_checks, drill_login
from vaultborn.vault.assignment import Assignment
from vaultborn.vault.items import ItemEdit
from vaultborn.vault.model import Field, FieldType, Item, Purpose
from vaultborn.vault.previous import ROTATION_FIELD, previous_label
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.reference import parse_reference
from vaultborn.vault.resolve import field_in
from vaultborn.vault.secret import Secret

__all__ = [
    "new_value",
    "push_client_secret",
    "push_password",
    "retire_previous",
    "rotation_record",
    "user_by_email",
    "verify_client_secret",
    "verify_login",
]


def new_value(args: dict[str, Any], deps: Deps, *, point: str) -> RotationRecord:
    """A new value for ``args["secret"]``'s field, generated in the vault (``recipe``).

    With ``keep_previous`` the old value stays beside it until ``retire_previous``; ``point``
    names the step at its fault points.

    Raises:
        UsageError: The field is not a password the vault can generate (an API Credential's
            ``credential``, a custom field): 1Password generates Login and Password items'
            passwords only.
    """
    ref = parse_reference(args["secret"])
    item = deps.vault.get_item(ref.vault, ref.item, reveal=True)
    fld = field_in(item, ref)
    if _marker(item) == args["rotation"]:
        return rotation_record(args, item, fld.label)  # done before a crash: nothing again
    if fld.purpose is not Purpose.PASSWORD:
        raise UsageError(
            f"{item.reference(fld)} is not the password of a Login or Password item: the vault "
            "can generate only those (move the secret into a Password item's password)"
        )
    keep = (_previous(fld),) if args.get("keep_previous") else ()
    edit = ItemEdit(
        assignments=(*keep, _marking(args["rotation"])),
        generate_password=parse_recipe(args["recipe"]),
    )
    deps.fault(f"{point}:before")
    edited = deps.vault.edit_item(item.vault.id, item.id, edit)
    deps.fault(f"{point}:after")
    return rotation_record(args, edited, fld.label)


def retire_previous(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """Take the old value out of the item's live fields (its history keeps it)."""
    item = deps.vault.get_item(args["vault"], args["item"])
    label = previous_label(args["field"])
    if not any(f.label == label for f in item.fields):
        return {"subject": item.id, "outcome": "retired", "detail": f"no {label!r} left"}
    deps.fault("retire_previous:before")
    edited = deps.vault.edit_item(
        item.vault.id, item.id, ItemEdit(assignments=(Assignment(label=label, delete=True),))
    )
    deps.fault("retire_previous:after")
    return {"subject": item.id, "outcome": "retired", "detail": f"version {edited.version}"}


# -- pushed outward ------------------------------------------------------------------------------
def push_client_secret(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """Give the IdP's client the vault's new secret (the same again changes nothing)."""
    with _management(deps) as mgmt:
        secret = deps.vault.read(args["secret"])
        deps.fault("push_client_secret:before")
        mgmt.set_client_secret(args["client_id"], secret)
        deps.fault("push_client_secret:after")
    return {"subject": args["client_id"], "outcome": "updated"}


def push_password(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """Set the break-glass user's password at the IdP to the vault's new one."""
    with _management(deps) as mgmt:
        user = user_by_email(mgmt, args["email"])
        password = deps.vault.read(args["password"])
        deps.fault("push_password:before")
        mgmt.update_user(user["user_id"], password=password, connection=args["connection"])
        deps.fault("push_password:after")
    return {"subject": user["user_id"], "outcome": "updated"}


# -- checked with the new value ------------------------------------------------------------------
def verify_client_secret(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """A token with exactly the vault's new secret (no fallback), taken by the API or JWKS."""
    checks = agent_token_checks(args, deps)
    return {"subject": checks["token_subject"], "outcome": "verified",
            "detail": checks["token_check"]}  # fmt: skip


async def verify_login(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """The break-glass login drill with the vault's password and a code from its OTP field."""
    login_url = args.get("login_url") or (
        deps.idp_base_url + "login" if deps.login_url is None else deps.login_url
    )
    if not login_url:
        return {"subject": args["email"], "outcome": "skipped",
                "detail": "no break_glass.login_url in the plan"}  # fmt: skip
    report = await drill_login(args, deps, login_url)
    return {"subject": args["email"], "outcome": "verified", "detail": report.outcome}


# -- helpers ---------------------------------------------------------------------------------------
def user_by_email(mgmt: Auth0ManagementClient, email: str) -> User:
    """The one IdP user with ``email``.

    Raises:
        ConfigurationError: There is none (or several).
    """
    found = mgmt.users_by_email(email)
    if len(found) != 1:
        raise ConfigurationError(f"the IdP has {len(found)} users with the e-mail {email}, not 1")
    return found[0]


def _management(deps: Deps) -> Auth0ManagementClient:
    return deps.management()


def _marker(item: Item) -> str | None:
    found = next((f for f in item.fields if f.label == ROTATION_FIELD), None)
    return found.value if found is not None and isinstance(found.value, str) else None


def _marking(rotation: str) -> Assignment:
    return Assignment(label=ROTATION_FIELD, value=rotation, type=FieldType.STRING)


def _previous(fld: Field) -> Assignment:
    value = fld.value if isinstance(fld.value, Secret) else Secret(fld.value or "")
    return Assignment(label=previous_label(fld.label), value=value, type=FieldType.CONCEALED)


def rotation_record(args: dict[str, Any], item: Item, label: str) -> RotationRecord:
    """What a rotation made: the field rotated in ``item`` (as its new version holds it)."""
    return {
        "target": args.get("secret") or f"op://{args['vault']}/{args['item']}/{label}",
        "vault_id": item.vault.id,
        "item_id": item.id,
        "field": label,
        "version": item.version,
        "rotation": args["rotation"],
        "previous_kept": any(f.label == previous_label(label) for f in item.fields),
    }
