"""``vaultborn plan``: what a setup would propose, and whether everything it needs answers.

Nothing is changed: references are resolved (no value is read), the IdP's discovery document
is fetched, the seed targets' stores (AWS) and Chromium are looked for. The actions are the
run's own (``nodes.plan_actions``): the digests shown are the ones its gates ask about.
"""

from __future__ import annotations

from typing import Any

import httpx

from vaultborn.approvals.action import Action
from vaultborn.browser.chromium import find_chromium
from vaultborn.core.errors import VaultbornError
from vaultborn.core.tls import tls_context
from vaultborn.idp.provider import Provider
from vaultborn.nodes.plan_actions import planned_actions
from vaultborn.runner.checks import Check
from vaultborn.runner.plan import Plan
from vaultborn.stores.registry import backend_for
from vaultborn.vault.errors import NotFound
from vaultborn.vault.protocol import Vault

__all__ = ["check_plan", "projected_actions"]


def projected_actions(plan: Plan) -> list[Action]:
    """The actions a run of ``plan`` will ask about, in order: the run's own (same digests)."""
    return [action for _, action in planned_actions(plan.to_dict())]


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
        response = httpx.get(url, timeout=10, verify=tls_context())
    except httpx.HTTPError as error:
        return Check("idp", "fail", f"{url}: {type(error).__name__}")
    if response.status_code != 200:
        return Check("idp", "fail", f"{url} answered {response.status_code}")
    return Check("idp", "ok", f"{plan.idp.domain} answers")
