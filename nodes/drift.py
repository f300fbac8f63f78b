"""Drift: do the IdP and the stores still match the vault? Read-only, and no value is printed.

Per credential of the plan's chain:

- the break-glass item: one item of that title, not archived, with a password and a TOTP seed;
- the IdP user: one user with the e-mail, not blocked; and exactly one confirmed TOTP;
- the agent's client secret: the vault's value (exactly it: no fallback) gets a token;
- each store target: it exists, is not scheduled for deletion, and its provenance is the vault's
  current version of the source.

What the IdP cannot be asked (an OpenID Provider has no Management API) is ``unknown``, which is
not drift. The decisions are pure functions of what was read (``decide_*``); reading is thin.
"""

from __future__ import annotations

from typing import Any

from vaultborn.core.errors import VaultbornError
from vaultborn.idp.auth0 import User
from vaultborn.idp.errors import IdPError
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.lifecycle_records import DriftCheck, DriftRecord
from vaultborn.nodes.revocation import ARCHIVED_TAG
from vaultborn.nodes.vault_item import items_titled
from vaultborn.nodes.verification import agent_token_checks
from vaultborn.stores.protocol import Provenance, StoreState, idempotency_key
from vaultborn.stores.target import AWS_SCHEME
from vaultborn.vault.model import FieldType, Item, Purpose
from vaultborn.vault.reference import parse_reference

__all__ = [
    "check_drift",
    "decide_item",
    "decide_store",
    "decide_totp",
    "decide_user",
    "report",
]


def check_drift(args: dict[str, Any], deps: Deps) -> DriftRecord:
    """Compare the chain of ``args`` (the plan's names and references) across the systems."""
    checks = [_item_check(args, deps)]
    checks += _idp_checks(args, deps)
    checks.append(_secret_check(args, deps))
    checks += [_store_check(seed["from"], seed["to"], deps) for seed in args["seeds"]]
    return report(checks)


def report(checks: list[DriftCheck]) -> DriftRecord:
    """The report of ``checks``: in sync unless one drifted."""
    drifted = sum(1 for c in checks if c["status"] == "drifted")
    return {"in_sync": drifted == 0, "drifted": drifted, "checks": checks}


# -- decisions (pure) ----------------------------------------------------------------------------
def decide_item(found: list[Item]) -> DriftCheck:
    """The break-glass item: exactly one, not archived, with a password and a TOTP seed."""
    what = "break-glass item"
    if len(found) != 1:
        return _drifted(what, f"{len(found)} items with that title in the vault, not 1")
    item = found[0]
    if ARCHIVED_TAG in item.tags:
        return _drifted(what, f"{item.id} is archived (revoked)")
    missing = [
        name
        for name, present in (
            ("password", any(f.purpose is Purpose.PASSWORD for f in item.fields)),
            ("TOTP seed", any(f.type is FieldType.OTP for f in item.fields)),
        )
        if not present
    ]
    if missing:
        return _drifted(what, f"{item.id} has no {' and no '.join(missing)}")
    return _in_sync(what, f"{item.id}, version {item.version}")


def decide_user(users: list[User]) -> DriftCheck:
    """The IdP user: exactly one, not blocked."""
    what = "IdP user"
    if len(users) != 1:
        return _drifted(what, f"{len(users)} users with that e-mail at the IdP, not 1")
    user: dict[str, Any] = dict(users[0])
    if user.get("blocked") is True:
        return _drifted(what, f"{user['user_id']} is blocked")
    return _in_sync(what, str(user["user_id"]))


def decide_totp(methods: list[dict[str, Any]]) -> DriftCheck:
    """The user's TOTP: exactly one confirmed authenticator."""
    what = "IdP TOTP"
    confirmed = [m for m in methods if m.get("type") == "totp" and m.get("confirmed")]
    if len(confirmed) != 1:
        return _drifted(what, f"{len(confirmed)} confirmed TOTP authenticators, not 1")
    return _in_sync(what, f"one confirmed ({confirmed[0].get('id')})")


def decide_store(
    target: str, state: StoreState, source: str, version: int, expected_id: str | None = None
) -> DriftCheck:
    """A store target: present, not being deleted, holding the vault's current version.

    ``expected_id``: the store version id a seed of that vault version writes, where the store
    names versions by it (Secrets Manager); another id there means someone wrote the store
    directly, whatever its tags say. The values themselves are never read.
    """
    if not state.exists:
        return _drifted(target, "missing from the store")
    if state.pending_deletion:
        return _drifted(target, "scheduled for deletion")
    prov = state.provenance
    if prov is None:
        return _drifted(target, "its value did not come from the vault (no provenance tags)")
    if prov.source != source:
        return _drifted(target, f"seeded from {prov.source}, the plan says {source}")
    if prov.version != version:
        return _drifted(target, f"holds vault version {prov.version}, the vault is at {version}")
    if expected_id is not None and state.version_id != expected_id:
        return _drifted(target, "its current version was written outside vaultborn")
    return _in_sync(target, f"vault version {version} (store version {state.version_id})")


# -- reading (thin) ------------------------------------------------------------------------------
def _item_check(args: dict[str, Any], deps: Deps) -> DriftCheck:
    found = items_titled(deps.vault, args["vault"], args["item"])
    return decide_item([deps.vault.get_item(s.vault.id, s.id) for s in found])


def _idp_checks(args: dict[str, Any], deps: Deps) -> list[DriftCheck]:
    if args["kind"] != "auth0":
        why = "an OpenID Provider has no Management API to ask"
        return [_unknown("IdP user", why), _unknown("IdP TOTP", why)]
    with deps.management() as mgmt:
        users = mgmt.users_by_email(args["email"])
        user = decide_user(users)
        if len(users) != 1:
            return [user, _unknown("IdP TOTP", "no single user to ask")]
        return [user, decide_totp(mgmt.authentication_methods(users[0]["user_id"]))]


def _secret_check(args: dict[str, Any], deps: Deps) -> DriftCheck:
    what = "agent client secret"
    try:
        checks = agent_token_checks(args, deps)
    except IdPError as refused:
        return _drifted(what, f"the vault's secret gets no token: {refused}")
    return _in_sync(what, f"a token for {checks['token_subject']}, {checks['token_check']}")


def _store_check(source_ref: str, target: str, deps: Deps) -> DriftCheck:
    ref = parse_reference(source_ref)
    try:
        item = deps.vault.get_item(ref.vault, ref.item)
        canonical = str(deps.vault.resolve(ref))
        store = deps.store_for(target)
        state = store.describe(target)
    except VaultbornError as failed:
        return _drifted(target, f"cannot be compared: {failed}")
    # Parameter Store numbers its versions itself; Secrets Manager's are the seed's keys.
    expected = (
        idempotency_key(state.target, Provenance(canonical, item.version))
        if store.scheme == AWS_SCHEME
        else None
    )
    return decide_store(target, state, canonical, item.version, expected)


def _in_sync(credential: str, detail: str) -> DriftCheck:
    return {"credential": credential, "status": "in-sync", "detail": detail}


def _drifted(credential: str, detail: str) -> DriftCheck:
    return {"credential": credential, "status": "drifted", "detail": detail}


def _unknown(credential: str, detail: str) -> DriftCheck:
    return {"credential": credential, "status": "unknown", "detail": detail}
