"""The clients of one setup run, for the plan's systems or the embedded defaults.

With no IdP domain in the plan, the embedded dev IdP runs in this process on loopback, its
database in ``$VAULTBORN_HOME`` (so a crashed run finds its users again); the demo's client
secrets are generated in the local vault first and reach the dev IdP in memory only. With no
AWS configuration, seeds go to an in-process emulator (memory only; the run says so when it
first seeds). Each seed target's scheme picks its store from ``stores.registry``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.policy import Policy
from vaultborn.core.errors import ConfigurationError
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.provider import Provider
from vaultborn.idp.tokens import TokenSource
from vaultborn.nodes.audited_vault import AuditedVault
from vaultborn.nodes.deps import BrowserChoice, Deps
from vaultborn.nodes.state import PlanData
from vaultborn.nodes.vault_item import items_titled
from vaultborn.runner.faults import fault_from_env
from vaultborn.runner.identity import os_identity
from vaultborn.stores.registry import open_stores
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.model import Category
from vaultborn.vault.protocol import Vault
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.reference import parse_reference

__all__ = ["RunOptions", "ensure_demo_secrets", "open_runtime"]

DEMO_RECIPE = "letters,digits,40"
"""Client secrets of the demo (the dev IdP wants at least 32 characters)."""


@dataclass(frozen=True)
class RunOptions:
    """Per-invocation choices of a setup run.

    ``identity`` is what the process can prove of who runs it, recorded beside each decision
    it records: by default the OS account by uid (``runner.identity``); a server that
    authenticates its callers (an inbox's token) adds what it checked.
    """

    policy: Policy
    audit: AuditLog
    auto_approver: str | None = None
    approval_ttl: float = 3600.0
    browser: BrowserChoice = field(default_factory=BrowserChoice)
    identity: Mapping[str, str | int] = field(default_factory=os_identity)


def ensure_demo_secrets(vault: Vault, plan: PlanData) -> None:
    """Generate, once, the local-vault items the embedded demo reads its secrets from."""
    refs = [_management_secret(plan), plan["agent"]["secret"]]
    refs += [s["from"] for s in plan.get("seed", [])]
    for text in refs:
        ref = parse_reference(text)
        if items_titled(vault, ref.vault, ref.item):
            continue
        vault.create_item(
            ref.vault,
            ItemSpec(
                title=ref.item,
                category=Category.PASSWORD,
                tags=("vaultborn", "vaultborn-demo"),
                generate_password=parse_recipe(DEMO_RECIPE),
            ),
        )


@contextmanager
def open_runtime(vault: Vault, plan: PlanData, home: Path, opts: RunOptions) -> Iterator[Deps]:
    """``Deps`` for ``plan``, with the embedded services started for the block."""
    vault = AuditedVault(vault, opts.audit)
    with ExitStack() as stack:
        domain = plan["idp"].get("domain")
        embedded = not domain
        base_url = domain if domain else _start_dev_idp(stack, vault, plan, home)
        kind = plan["idp"].get("kind", "auth0")
        provider = stack.enter_context(Provider(base_url, kind))
        tokens = stack.enter_context(TokenSource(vault, provider=provider))
        stores = stack.enter_context(open_stores(_notice))
        mgmt = plan["idp"]

        def management() -> Auth0ManagementClient:
            if kind != "auth0":
                raise ConfigurationError(
                    f"idp.kind = {kind!r} has no Management API; this step needs Auth0's"
                )
            client_id = mgmt["management_client_id"]
            if client_id is None:  # a checked plan of kind auth0 names its client
                raise ConfigurationError("the plan names no idp.management_client_id")
            return Auth0ManagementClient(
                base_url, tokens, client_id=client_id, secret_ref=_management_secret(plan)
            )

        yield Deps(
            vault=vault,
            management=management,
            tokens=tokens,
            store_for=stores.store_for,
            idp_base_url=tokens.domain,
            # The demo API and login page exist on the embedded dev IdP only; a tenant of your
            # own names its API and login page in the plan (or skips those checks).
            protected_api=tokens.domain + "api/protected/whoami" if embedded else "",
            login_url=None if embedded else "",
            browser=opts.browser,
            policy=opts.policy,
            audit=opts.audit,
            auto_approver=opts.auto_approver,
            approval_ttl=opts.approval_ttl,
            fault=fault_from_env(),
            identity=opts.identity,
        )


def _management_secret(plan: PlanData) -> str:
    """The reference of the management client's secret (a checked ``auth0`` plan has one)."""
    secret = plan["idp"]["management_secret"]
    if secret is None:
        raise ConfigurationError("the plan names no idp.management_secret")
    return secret


def _start_dev_idp(stack: ExitStack, vault: Vault, plan: PlanData, home: Path) -> str:
    from vaultborn.idp.devserver.server import start_dev_idp
    from vaultborn.idp.devserver.tenant import demo_tenant

    ensure_demo_secrets(vault, plan)
    tenant = demo_tenant(
        mgmt_secret=vault.read(_management_secret(plan)),
        agent_secret=vault.read(plan["agent"]["secret"]),
    )
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    idp = stack.enter_context(start_dev_idp(tenant, db=home / "devidp.db"))
    return idp.base_url


def _notice(line: str) -> None:
    sys.stderr.write(f"vaultborn: {line}\n")
