"""A TOTP rotation's effects: a second authenticator enrolled, proven, then the old one removed.

The order keeps a working factor at every moment, crash or not:

1. ``find_totp`` notes the ids of the user's confirmed TOTP authenticators (ids, never seeds):
   the ones to remove at the end, whatever the IdP lists by then;
2. ``enroll_new_totp`` keeps the item's seed as ``previous one-time password`` (with the run's
   id as ``vaultborn rotation``), then enrolls as the setup does (``nodes.enrollment``) on a
   ticket that allows a second enrollment: the page's new seed goes straight into the item's
   OTP field (a new item version) and is confirmed with a code the vault generates;
3. a login drill with the vault's (new) seed (``nodes.rotation.verify_login``);
4. ``remove_old_totp`` removes the noted authenticators, only while another confirmed one is
   there;
5. ``retire_previous`` takes the old seed out of the item's live fields (its history keeps it).

Until 4, the IdP takes codes of the old seed, which the item keeps beside the new one; after 2
it takes the new one's too. Resumed after a crash, 2 removes the unconfirmed authenticator a
dead flow left before it draws a new ticket (as a resumed setup does), and a confirmed one that
is not among the noted ids means it is done.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from vaultborn.core.errors import ConfigurationError
from vaultborn.idp.errors import IdPNotFound, IdPRequestError
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.enrollment import enroll_totp_step
from vaultborn.nodes.lifecycle_records import LifecycleRecord, RotationRecord
from vaultborn.nodes.lifecycle_state import LifecycleState
from vaultborn.nodes.rotation import rotation_record, user_by_email
from vaultborn.nodes.state import HandOff, SetupState
from vaultborn.nodes.steps import hands_off
from vaultborn.nodes.verification import mark_code_steps
from vaultborn.vault.assignment import Assignment
from vaultborn.vault.items import ItemEdit
from vaultborn.vault.model import FieldType, Item
from vaultborn.vault.previous import ROTATION_FIELD, previous_label
from vaultborn.vault.secret import Secret

__all__ = [
    "confirmed_totp",
    "enroll_new_totp",
    "find_totp",
    "remember_rotation_codes",
    "remove_old_totp",
]


def confirmed_totp(methods: list[dict[str, Any]]) -> list[str]:
    """The ids of the confirmed TOTP authenticators among ``methods``."""
    return [
        m["id"]
        for m in methods
        if m.get("type") == "totp" and m.get("confirmed") and isinstance(m.get("id"), str)
    ]


def find_totp(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """The user's confirmed TOTP authenticators now: the ones the rotation replaces.

    Raises:
        ConfigurationError: The user has none (nothing to rotate: set the chain up first).
    """
    with deps.management() as mgmt:
        user = user_by_email(mgmt, args["email"])
        ids = confirmed_totp(mgmt.authentication_methods(user["user_id"]))
    if not ids:
        raise ConfigurationError(
            f"{args['email']} has no confirmed TOTP authenticator to rotate; run the setup first"
        )
    return {"subject": user["user_id"], "outcome": "found", "count": len(ids),
            "authenticators": ids}  # fmt: skip


async def enroll_new_totp(args: dict[str, Any], deps: Deps) -> RotationRecord | HandOff:
    """Keep the old seed in the item, enroll a new one beside it (``nodes.enrollment``).

    The old seed is kept once the ticket is drawn: an IdP that refuses a second enrollment
    refuses the ticket, and the item is left as it was.

    Raises:
        ConfigurationError: The IdP refuses a ticket for a second enrollment (400), or the item
            has no OTP field to rotate.
    """
    try:
        enrolled = await enroll_totp_step(
            {"strategy": "browser", "email": args["email"], "vault": args["vault"],
             "item": args["item"], "replaces": list(args["replaces"])},
            deps,
            on_ticket=lambda: _keep_previous(args, deps),
        )  # fmt: skip
    except IdPRequestError as refused:
        if refused.status != 400:
            raise
        why = str(refused).splitlines()[0][:160] if str(refused) else "400"
        raise ConfigurationError(
            f"the IdP refuses a second TOTP enrollment for {args['email']} ({why}); a TOTP "
            "rotation needs allow_multiple_enrollments (Auth0: Universal Login); nothing changed"
        ) from None
    if hands_off(enrolled):
        return enrolled
    item = await asyncio.to_thread(deps.vault.get_item, args["vault"], args["item"])
    otp = item.otp_field
    label = otp.label if otp is not None else "one-time password"
    record = rotation_record(args, item, label)
    steps = enrolled.get("code_steps")
    if steps:
        record["code_steps"] = list(steps)
    return record


def remove_old_totp(args: dict[str, Any], deps: Deps) -> LifecycleRecord:
    """Remove the authenticators the rotation replaces, while another confirmed one is there.

    Raises:
        ConfigurationError: The user would be left without a confirmed TOTP authenticator.
    """
    old = set(args["authenticators"])
    with deps.management() as mgmt:
        user_id = user_by_email(mgmt, args["email"])["user_id"]
        methods = mgmt.authentication_methods(user_id)
        present = [m["id"] for m in methods if m.get("id") in old]
        if present and not [i for i in confirmed_totp(methods) if i not in old]:
            raise ConfigurationError(
                f"{args['email']} has no confirmed TOTP authenticator besides the ones to "
                "remove; not removing them (resume enrolls the new one first)"
            )
        deps.fault("remove_old_totp:before")
        for method_id in present:
            try:
                mgmt.delete_authentication_method(user_id, method_id)
            except IdPNotFound:
                continue  # gone already
        deps.fault("remove_old_totp:after")
    return {"subject": user_id, "outcome": "removed", "count": len(present),
            "authenticators": present}  # fmt: skip


def remember_rotation_codes(state: SetupState, deps: Deps) -> None:
    """Tell this process's drill which time steps the rotation's enrollment used.

    As ``nodes.verification.remember_enrollment_codes`` does for the setup's drill.
    """
    rotated = cast(LifecycleState, state).get("rotated")
    mark_code_steps(state, deps, rotated.get("code_steps") if rotated else None)


def _keep_previous(args: dict[str, Any], deps: Deps) -> None:
    """Copy the item's seed to ``previous one-time password``, once per rotation."""
    item = deps.vault.get_item(args["vault"], args["item"], reveal=True)
    if _marker(item) == args["rotation"]:
        return  # kept before a crash: the OTP field may hold the new seed by now
    otp = item.otp_field
    if otp is None or otp.value is None:
        raise ConfigurationError(
            f"item {item.title!r} has no one-time password to rotate; run the setup first"
        )
    value = otp.value if isinstance(otp.value, Secret) else Secret(otp.value)
    keep = Assignment(label=previous_label(otp.label), value=value, type=FieldType.CONCEALED)
    mark = Assignment(label=ROTATION_FIELD, value=args["rotation"], type=FieldType.STRING)
    deps.fault("new_totp:before")
    deps.vault.edit_item(item.vault.id, item.id, ItemEdit(assignments=(keep, mark)))
    deps.fault("new_totp:after")


def _marker(item: Item) -> str | None:
    found = next((f for f in item.fields if f.label == ROTATION_FIELD), None)
    return found.value if found is not None and isinstance(found.value, str) else None
