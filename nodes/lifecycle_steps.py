"""The gated steps of ``rotate``, ``revoke`` and ``drift``: one list per kind of run.

Built like the setup's (``nodes.steps``): each ``GatedStep`` turns the state into the action's
arguments (references and plain values), says its effects, and runs the idempotent effect; the
graph (``graphs.lifecycle``) puts propose, gate and effect nodes around each, so every change is
approved, audited and checkpointed as a setup's is. Arguments come from the plan and the run's
id (the rotation's idempotency key), and from an earlier step's record only where the plan
cannot say (which field the OTP seed is in).
"""

from __future__ import annotations

from typing import Any, cast

from vaultborn.nodes.deps import Deps
from vaultborn.nodes.drift import check_drift
from vaultborn.nodes.lifecycle_records import RotationRecord
from vaultborn.nodes.lifecycle_state import LifecycleState
from vaultborn.nodes.revocation import (
    archive_items,
    delete_store_secret,
    remove_authenticators,
    revoke_client,
    revoke_user,
)
from vaultborn.nodes.rotation import (
    new_value,
    push_client_secret,
    push_password,
    retire_previous,
    verify_client_secret,
    verify_login,
)
from vaultborn.nodes.state import PlanData, SetupState
from vaultborn.nodes.steps import STEPS, GatedStep, Repeats
from vaultborn.nodes.totp_rotation import (
    enroll_new_totp,
    find_totp,
    remember_rotation_codes,
    remove_old_totp,
)
from vaultborn.stores.protocol import DEFAULT_RECOVERY_DAYS

__all__ = [
    "CLIENT_SECRET_RECIPE",
    "KINDS",
    "LIFECYCLES",
    "LIFECYCLE_STEPS",
    "ROTATE_WHATS",
    "lifecycle_of",
]

CLIENT_SECRET_RECIPE = "letters,digits,40"  # noqa: S105 (a recipe, not a password)
"""New client and store secrets: at least 32 characters (Auth0's and the dev IdP's floor)."""


def lifecycle_of(state: SetupState) -> LifecycleState:
    """``state`` as the lifecycle run's state it is."""
    return cast(LifecycleState, state)


def _plan(state: SetupState) -> PlanData:
    return state["plan"]


def _break_glass_ref(plan: PlanData) -> str:
    return f"op://{plan['vault']['name']}/{plan['break_glass']['item']}/password"


def _agent_check(state: SetupState) -> dict[str, Any]:
    """What checks the agent's secret: a token, taken by the protected API (or JWKS)."""
    agent = _plan(state)["agent"]
    return {
        "client_id": agent["client_id"],
        "secret": agent["secret"],
        "audience": agent["audience"],
        "protected_api": agent.get("protected_api") or "",
        **({"scope": agent["scope"]} if agent.get("scope") else {}),
    }


def _drill(state: SetupState) -> dict[str, Any]:
    plan = _plan(state)
    bg = plan["break_glass"]
    return {
        "email": bg["email"],
        "vault": plan["vault"]["name"],
        "item": bg["item"],
        "password": _break_glass_ref(plan),
        "login_url": bg.get("login_url") or "",
    }


def _retire_args(state: SetupState) -> dict[str, Any]:
    rotated = lifecycle_of(state)["rotated"]
    return {"vault": rotated["vault_id"], "item": rotated["item_id"], "field": rotated["field"]}


def _new_client_secret(args: dict[str, Any], deps: Deps) -> RotationRecord:
    return new_value(args, deps, point="new_client_secret")


def _new_password(args: dict[str, Any], deps: Deps) -> RotationRecord:
    return new_value(args, deps, point="new_break_glass_password")


def _new_store_secret(args: dict[str, Any], deps: Deps) -> RotationRecord:
    return new_value(args, deps, point="new_store_secret")


_SOURCES = Repeats(plan_list="seed", key="from", result_key="target")
_TARGETS = Repeats(plan_list="seed", key="to", result_key="target")

_RETIRE = GatedStep(
    name="retire_previous",
    effects=("vault.edit_item",),
    state_key="retired",
    args=_retire_args,
    summary=lambda a: (
        f"Retire the previous {a['field']} of item {a['item']} (the vault's history keeps it)"
    ),
    effect=retire_previous,
)
_VERIFY_LOGIN = GatedStep(
    name="verify_login",
    effects=(),
    state_key="verified",
    args=_drill,
    summary=lambda a: f"Verify: a break-glass login drill as {a['email']} with the vault's values",
    effect=verify_login,
)

_ROTATE_CLIENT_SECRET = (
    GatedStep(
        name="new_client_secret",
        effects=("vault.edit_item",),
        state_key="rotated",
        args=lambda s: {
            "secret": _plan(s)["agent"]["secret"],
            "recipe": CLIENT_SECRET_RECIPE,
            "rotation": s["run_id"],
            "keep_previous": True,
        },
        summary=lambda a: (
            f"Generate a new client secret in the vault at {a['secret']} ({a['recipe']}); the "
            "old one stays beside it until retired"
        ),
        effect=_new_client_secret,
    ),
    GatedStep(
        name="push_client_secret",
        effects=("idp.update_client",),
        state_key="pushed",
        args=lambda s: {
            "client_id": _plan(s)["agent"]["client_id"],
            "secret": _plan(s)["agent"]["secret"],
        },
        summary=lambda a: f"Give the IdP client {a['client_id']} the new secret {a['secret']}",
        effect=push_client_secret,
    ),
    GatedStep(
        name="verify_client_secret",
        effects=(),
        state_key="verified",
        args=_agent_check,
        summary=lambda a: f"Verify: a token for {a['client_id']} with exactly the new secret",
        effect=verify_client_secret,
    ),
    _RETIRE,
    # Seeded last: retiring the old value makes a new item version, and a store seeded before
    # it would carry the version before and look drifted (``nodes.drift``) with the same value.
    STEPS["seed"],
)

_ROTATE_PASSWORD = (
    GatedStep(
        name="new_break_glass_password",
        effects=("vault.edit_item",),
        state_key="rotated",
        args=lambda s: {
            "secret": _break_glass_ref(_plan(s)),
            "recipe": _plan(s)["break_glass"]["password_recipe"],
            "rotation": s["run_id"],
            "keep_previous": True,
        },
        summary=lambda a: (
            f"Generate a new break-glass password in the vault at {a['secret']} "
            f"({a['recipe']}); the old one stays beside it until retired"
        ),
        effect=_new_password,
    ),
    GatedStep(
        name="push_password",
        effects=("idp.update_user",),
        state_key="pushed",
        args=lambda s: {
            "email": _plan(s)["break_glass"]["email"],
            "connection": _plan(s)["idp"]["connection"],
            "password": _break_glass_ref(_plan(s)),
        },
        summary=lambda a: f"Set {a['email']}'s password at the IdP to {a['password']}",
        effect=push_password,
    ),
    _VERIFY_LOGIN,
    _RETIRE,
)


def _replaced(state: SetupState) -> list[str]:
    """The ids of the authenticators a TOTP rotation replaces (``find_totp``'s record)."""
    return list(lifecycle_of(state)["totp_before"].get("authenticators", []))


_ROTATE_TOTP = (
    GatedStep(
        name="find_totp",
        effects=(),
        state_key="totp_before",
        args=lambda s: {"email": _plan(s)["break_glass"]["email"]},
        summary=lambda a: f"Note the ids of {a['email']}'s confirmed TOTP authenticators (reads)",
        effect=find_totp,
    ),
    GatedStep(
        name="enroll_new_totp",
        effects=("vault.edit_item", "idp.enroll_totp", "vault.set_otp"),
        state_key="rotated",
        args=lambda s: {
            "email": _plan(s)["break_glass"]["email"],
            "vault": _plan(s)["vault"]["name"],
            "item": _plan(s)["break_glass"]["item"],
            "rotation": s["run_id"],
            "replaces": _replaced(s),
        },
        summary=lambda a: (
            f"Enroll a second TOTP for {a['email']} (a ticket allowing multiple enrollments): "
            f"its seed into the OTP field of {a['item']!r}, the old one kept beside it, "
            "confirmed with a vault code"
        ),
        effect=enroll_new_totp,
    ),
    GatedStep(
        name="verify_login",
        effects=(),
        state_key="verified",
        args=_drill,
        summary=lambda a: f"Verify: a break-glass login drill as {a['email']} with the new TOTP",
        effect=verify_login,
        prepare=remember_rotation_codes,
    ),
    GatedStep(
        name="remove_old_totp",
        effects=("idp.delete_authenticators",),
        state_key="removed",
        args=lambda s: {"email": _plan(s)["break_glass"]["email"], "authenticators": _replaced(s)},
        summary=lambda a: (
            f"Remove {a['email']}'s old TOTP authenticator(s) "
            f"{', '.join(a['authenticators']) or '(as found)'} at the IdP"
        ),
        effect=remove_old_totp,
    ),
    _RETIRE,
)

_ROTATE_STORE_SECRETS = (
    GatedStep(
        name="new_store_secret",
        effects=("vault.edit_item",),
        state_key="new_secrets",
        args=lambda s: {
            "secret": _SOURCES.entries(s)[_SOURCES.next_index(s, "new_secrets")],
            "recipe": CLIENT_SECRET_RECIPE,
            "rotation": s["run_id"],
            "keep_previous": False,
        },
        summary=lambda a: f"Generate a new value in the vault at {a['secret']} ({a['recipe']})",
        effect=_new_store_secret,
        repeats=_SOURCES,
    ),
    STEPS["seed"],
)

_REVOKE = (
    GatedStep(
        name="remove_authenticators",
        effects=("idp.delete_authenticators",),
        state_key="removed",
        args=lambda s: {"email": _plan(s)["break_glass"]["email"]},
        summary=lambda a: f"Remove every MFA authenticator of {a['email']} at the IdP",
        effect=remove_authenticators,
    ),
    GatedStep(
        name="revoke_user",
        effects=("idp.update_user",),
        state_key="user_revoked",
        args=lambda s: {"email": _plan(s)["break_glass"]["email"], "mode": "block"},
        summary=lambda a: (
            f"Block the IdP user {a['email']} (edit mode=delete to delete it)"
            if a["mode"] == "block"
            else f"Delete the IdP user {a['email']}"
        ),
        effect=revoke_user,
    ),
    GatedStep(
        name="revoke_client",
        effects=("idp.delete_client_grants",),
        state_key="client_revoked",
        args=lambda s: {"client_id": _plan(s)["agent"]["client_id"], "mode": "grants"},
        summary=lambda a: (
            f"Delete the IdP client {a['client_id']}'s grants (edit mode=client to delete it)"
            if a["mode"] == "grants"
            else f"Delete the IdP client {a['client_id']}"
        ),
        effect=revoke_client,
    ),
    GatedStep(
        name="delete_store_secret",
        effects=("store.delete",),
        state_key="stores_deleted",
        args=lambda s: {
            "to": _TARGETS.entries(s)[_TARGETS.next_index(s, "stores_deleted")],
            "recovery_days": DEFAULT_RECOVERY_DAYS,
        },
        summary=lambda a: (
            f"Delete {a['to']} (Secrets Manager keeps it restorable {a['recovery_days']} days; "
            "Parameter Store deletes at once)"
        ),
        effect=delete_store_secret,
        repeats=_TARGETS,
    ),
    GatedStep(
        name="archive_items",
        effects=("vault.edit_item",),
        state_key="archived",
        args=lambda s: {
            "references": [_break_glass_ref(_plan(s)), _plan(s)["agent"]["secret"]],
        },
        summary=lambda a: (
            f"Tag the vault items of {', '.join(a['references'])} archived (kept, not deleted)"
        ),
        effect=archive_items,
    ),
)

_DRIFT = (
    GatedStep(
        name="check_drift",
        effects=(),
        state_key="drift",
        args=lambda s: {
            **_agent_check(s),
            "vault": _plan(s)["vault"]["name"],
            "item": _plan(s)["break_glass"]["item"],
            "email": _plan(s)["break_glass"]["email"],
            "kind": _plan(s)["idp"].get("kind", "auth0"),
            "seeds": [dict(seed) for seed in _plan(s).get("seed", [])],
        },
        summary=lambda a: (
            f"Compare {a['item']!r}, {a['email']} at the IdP, the client {a['client_id']} and "
            f"{len(a['seeds'])} store target(s) with the vault (reads only)"
        ),
        effect=check_drift,
    ),
)

ROTATE_WHATS = ("client-secret", "break-glass-password", "store-secrets", "totp")
"""What ``rotate --what`` takes. ``totp`` needs an IdP that enrolls a second TOTP authenticator
on a ticket with ``allow_multiple_enrollments`` (the old one is removed only after the new one
is confirmed and proven); one that refuses stops the run before anything changed."""

LIFECYCLES: dict[str, tuple[GatedStep, ...]] = {
    "drift": _DRIFT,
    "revoke": _REVOKE,
    "rotate:client-secret": _ROTATE_CLIENT_SECRET,
    "rotate:break-glass-password": _ROTATE_PASSWORD,
    "rotate:store-secrets": _ROTATE_STORE_SECRETS,
    "rotate:totp": _ROTATE_TOTP,
}
"""Each kind of lifecycle run and its steps, in order."""

KINDS = tuple(LIFECYCLES)

LIFECYCLE_STEPS: dict[str, GatedStep] = {
    step.name: step for steps in LIFECYCLES.values() for step in steps if step.name not in STEPS
}
"""Every lifecycle step by name (a policy may name any of them)."""
