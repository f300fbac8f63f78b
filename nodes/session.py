"""The vault-session approval ("Touch ID once") and the hand-off to a person."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from vaultborn.approvals.errors import ApprovalError, ApprovalExpired
from vaultborn.approvals.gate import request_human_step, request_vault_session
from vaultborn.approvals.request import Approved
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.gating import REFUSED
from vaultborn.nodes.state import SessionAsk, SessionUpdate, SetupState

__all__ = ["ask_session", "human_step", "session_gate"]


def session_gate(state: SetupState, runtime: Runtime[Deps]) -> SessionUpdate:
    """Ask once for the vault session that every later read uses."""
    return ask_session(
        state,
        runtime.context,
        vaults=(state["plan"]["vault"]["name"],),
        digest=state["plan_digest"],
        detail={"plan": state["plan_digest"]},
    )


def ask_session(
    state: SessionAsk,
    deps: Deps,
    *,
    vaults: tuple[str, ...],
    digest: str,
    detail: dict[str, Any],
) -> SessionUpdate:
    """The vault session, asked once per thread: the state update of the answer (audited).

    An expired or refused answer restarts the request with a fresh expiry; a rejection ends
    the run.

    Args:
        state: The thread's state (``run_id``, ``started_at``, ``session_ttl``, ``session``).
        deps: Vault, policy, clock, approver and audit log.
        vaults: The vaults the session opens.
        digest: What the session is for (the plan's or the toolkit's digest).
        detail: What the audited decision names it by.
    """
    if state.get("session"):
        return {}
    try:
        decision = request_vault_session(
            run_id=state["run_id"],
            backend=deps.vault.backend,
            vaults=vaults,
            plan_digest=digest,
            policy=deps.policy,
            requested_at=state["started_at"],
            now=deps.clock(),
            ttl_seconds=state.get("session_ttl", deps.approval_ttl),
            auto_approver=deps.auto_approver,
        )
    except ApprovalExpired:
        deps.audit.append(state["run_id"], "refused", "vault_session", {"why": "expired"})
        return {
            "started_at": deps.clock(),
            "session_ttl": deps.approval_ttl,
            "reason": "the vault session request expired; asked again",
        }
    except ApprovalError as refused:
        deps.audit.append(state["run_id"], "refused", "vault_session", {"why": str(refused)})
        return {
            "started_at": deps.clock(),
            "session_ttl": deps.approval_ttl,
            "reason": f"{REFUSED}{refused}",
        }
    deps.audit.append(
        state["run_id"],
        "decision",
        "vault_session",
        {"decision": type(decision).__name__.lower(), **detail, "approver": decision.approver},
    )
    if isinstance(decision, Approved):
        return {"session": {"approver": decision.approver, "at": decision.at}, "reason": ""}
    return {"status": "rejected", "reason": f"vault session rejected: {decision.reason}"}


def human_step(state: SetupState, runtime: Runtime[Deps]) -> SetupState:
    """Wait until the person says the page is done; the step then looks at the page again."""
    human = state["human"]
    try:
        ack = request_human_step(
            run_id=state["run_id"], url=human["url"], instructions=human["instructions"]
        )
    except ApprovalError as refused:  # the page is looked at again, and handed off again
        return {"human": {}, "reason": f"{REFUSED}{refused}"}
    runtime.context.audit.append(state["run_id"], "human_step", human["url"], {"by": ack.by})
    return {"human": {}, "status": "running"}
