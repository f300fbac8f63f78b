"""``Deps``: the clients a setup run's nodes use, injected through LangGraph's runtime context.

Nothing here is checkpointed; the CLI (``vaultborn.runner.wiring``) builds one per process, so a
resumed run gets fresh clients and the same state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.policy import Policy
from vaultborn.approvals.request import checked_ttl
from vaultborn.browser.pool import BrowserPool
from vaultborn.browser.runner import HumanHandler
from vaultborn.browser.totp_steps import StepLedger, UsedSteps
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.tokens import TokenSource
from vaultborn.nodes.audited_vault import AuditedVault
from vaultborn.nodes.step_vault import MoveItems
from vaultborn.stores.protocol import SecretStore
from vaultborn.vault.protocol import Vault

__all__ = ["BrowserChoice", "Deps", "FaultHook"]

FaultHook = Callable[[str], None]
"""Called with ``"<step>:before"`` and ``"<step>:after"`` around each external effect (tests)."""


def _no_fault(point: str) -> None:
    return None


@dataclass(frozen=True)
class BrowserChoice:
    """How browser steps run."""

    headed: bool = False
    timeout: float = 15.0
    on_human: HumanHandler | None = None
    """Lets a person act in a headed window; None turns hand-offs into ``human_step`` waits."""
    pool: BrowserPool = field(default_factory=BrowserPool)
    """The process's one Chromium (headed like ``headed``); a fresh context per flow."""
    steps: UsedSteps = field(default_factory=StepLedger)
    """The TOTP time steps the flows have used, per item: a drill right after an enrollment
    sends the next step's code instead of waiting for the clock."""
    wait: Callable[[float], Awaitable[None]] = asyncio.sleep
    """Waits for a TOTP time step (the CLI's counts down on the terminal)."""


@dataclass(frozen=True)
class Deps:
    """Every external system a setup run touches, plus the clock and the approval rules.

    A process's runtime builds one and shares it between its runs; ``for_run`` gives a run its
    own view, whose vault operations are audited under that run.
    """

    vault: Vault
    management: Callable[[], Auth0ManagementClient]
    """A management API client (its token from the client secret in the vault)."""
    tokens: TokenSource
    store_for: Callable[[str], SecretStore]
    """The runtime store serving a target URI."""
    idp_base_url: str
    """The IdP's base URL (the embedded dev IdP's when the plan names none)."""
    protected_api: str
    """The URL the verification calls with the agent's token when the plan names none ("":
    the token is checked against the IdP's JWKS instead)."""
    policy: Policy
    """Which actions are allowed, asked or denied."""
    audit: AuditLog
    """Where every decision and effect is recorded (hash-chained)."""
    auto_approver: str | None = None
    """Approves what the policy would ask, recorded as this approver (``--auto-approve``)."""
    approval_ttl: float = 3600.0
    """Seconds an approval request stays answerable (finite, at most 30 days)."""
    browser: BrowserChoice = field(default_factory=BrowserChoice)
    clock: Callable[[], float] = time.time
    fault: FaultHook = _no_fault
    login_url: str | None = None
    """Where the login drill starts when the plan names none: None is the IdP's ``/login``
    (the embedded dev IdP's page), "" skips the drill."""
    identity: Mapping[str, str | int] = field(default_factory=dict)
    """What this process can prove of who runs it (``os_uid``, ``os_user`` …), recorded as
    ``identity`` beside every decision it records; never a name an answer claims."""
    move: MoveItems | None = None
    """What a step of the current move of a run created, for the next steps (``advance`` sets
    a fresh one per move; None hands nothing on)."""

    def __post_init__(self) -> None:
        # A TTL that no request can be built with would only fail later, inside a gate.
        checked_ttl(self.approval_ttl, "approval_ttl")

    def for_run(self, run_id: str) -> Deps:
        """These clients for ``run_id``: every vault operation is audited under it.

        The token source's and the management client's reads of their secrets included.
        """
        if not isinstance(self.vault, AuditedVault) or self.vault.run_id == run_id:
            return self
        vault = self.vault.for_run(run_id)
        tokens = self.tokens.reading_with(vault)
        return replace(
            self, vault=vault, tokens=tokens, management=_with_tokens(self.management, tokens)
        )


def _with_tokens(
    management: Callable[[], Auth0ManagementClient], tokens: TokenSource
) -> Callable[[], Auth0ManagementClient]:
    """``management``'s clients, reading their token's secret through ``tokens``."""

    def client() -> Auth0ManagementClient:
        made = management()
        made.tokens = tokens
        return made

    return client
