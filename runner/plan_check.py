"""``vaultborn plan``: what a setup would propose, and whether everything it needs answers.

Nothing is changed: references are resolved (no value is read), the IdP's discovery document
is fetched, the seed targets' stores (AWS) and Chromium are looked for. Actions whose arguments
come from an earlier step (the item's id-based password reference) are shown with the reference
by name; their digest at run time is taken of the id-based form.
"""

from __future__ import annotations

from typing import Any

import httpx

from vaultborn.approvals.action import Action
from vaultborn.browser.chromium import find_chromium
from vaultborn.core.errors import VaultbornError
from vaultborn.idp.provider import Provider
from vaultborn.nodes.state import ItemRecord, SetupState, UserRecord
from vaultborn.nodes.steps import STEPS
from vaultborn.runner.checks import Check
from vaultborn.runner.plan import Plan
from vaultborn.stores.registry import backend_for
from vaultborn.stores.seed import SeedReceiptData
from vaultborn.vault.errors import NotFound
from vaultborn.vault.protocol import Vault

__all__ = ["check_plan", "projected_actions"]


def projected_actions(plan: Plan) -> list[Action]:
    """The actions a run of ``plan`` would ask about, in order."""
    data = plan.to_dict()
    bg = data["break_glass"]
    # The records as the run will make them, by name; no action's arguments read the item's
    # version or whether the item or the user was created.
    item: ItemRecord = {
        "vault_id": data["vault"]["name"],
        "item_id": bg["item"],
        "version": 0,
        "created": True,
        "password_ref": f"op://{data['vault']['name']}/{bg['item']}/password",
    }
    # An application's account is named by its e-mail; an Auth0 user's id comes at run time.
    oidc = data["idp"].get("kind") == "oidc"
    user_id = bg["email"] if oidc else f"(the IdP user {bg['email']})"
    user: UserRecord = {"user_id": user_id, "email": bg["email"], "created": True}
    state: SetupState = {"plan": data, "item": item, "user": user}
    actions = []
    for step in STEPS.values():
        for _ in range(step.times(data)):
            args = step.args(state)
            actions.append(Action(step.name, args, step.effects, step.summary(args)))
            if step.repeats is not None:  # the next repeat is for the next entry
                projected: SeedReceiptData = {
                    "target": args[step.repeats.key], "version_id": "", "source": args["from"],
                    "source_version": 0, "outcome": "projected",
                }  # fmt: skip
                state |= step.recorded(state, projected)
    return actions


def check_plan(plan: Plan, vault: Vault, env: dict[str, str], home: Any) -> list[Check]:
    """Checks that change nothing: references, IdP, AWS, Chromium."""
    data = plan.to_dict()
    refs = [("agent.secret", data["agent"]["secret"])]
    management_secret = data["idp"].get("management_secret")
    if management_secret:
        refs.insert(0, ("idp.management_secret", management_secret))
    refs += [(f"seed[{i}].from", s["from"]) for i, s in enumerate(data["seed"])]
    checks = [_reference(name, ref, vault, plan.embedded_idp) for name, ref in refs]
    checks.append(_idp(plan))
    checks += _stores(plan, env, home)
    found = find_chromium(env)
    checks.append(
        Check("chromium", "ok", f"{found.path} ({found.source})")
        if found
        else Check(
            "chromium", "fail", "no Chromium found (run ./dev demo, or set VAULTBORN_CHROMIUM)"
        )
    )
    return checks


def _stores(plan: Plan, env: dict[str, str], home: Any) -> list[Check]:
    """One check per system the plan's seed targets use (both AWS stores are one ``aws``)."""
    checks: dict[str, Check] = {}
    for seed in plan.seeds:
        ready = backend_for(seed.target).readiness(env, home)
        checks.setdefault(ready.system, Check(ready.system, ready.status, ready.detail))
    return list(checks.values())


def _reference(name: str, ref: str, vault: Vault, embedded: bool) -> Check:
    try:
        canonical = vault.resolve(ref)
    except NotFound as missing:
        if embedded:
            return Check(name, "warn", f"{ref}: not there yet; the demo generates it")
        return Check(name, "fail", f"{ref}: {missing}")
    except VaultbornError as error:
        return Check(name, "fail", f"{ref}: {error}")
    return Check(name, "ok", f"{ref} → {canonical}")


def _idp(plan: Plan) -> Check:
    if plan.idp.domain is None:
        return Check("idp", "warn", "the embedded dev IdP will start on loopback")
    if plan.idp.kind == "oidc":
        try:
            with Provider(plan.idp.domain, "oidc") as provider:
                meta = provider.metadata()
        except VaultbornError as error:
            return Check("idp", "fail", str(error))
        return Check("idp", "ok", f"{meta.issuer}: token endpoint {meta.token_endpoint}")
    url = plan.idp.domain + ".well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=10)
    except httpx.HTTPError as error:
        return Check("idp", "fail", f"{url}: {type(error).__name__}")
    if response.status_code != 200:
        return Check("idp", "fail", f"{url} answered {response.status_code}")
    return Check("idp", "ok", f"{plan.idp.domain} answers")
