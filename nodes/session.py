"""The vault-session approval ("Touch ID once") and the hand-off to a person."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from approvals.errors import ApprovalError, ApprovalExpired
from approvals.gate import request_human_step, request_vault_session
from approvals.request import Approved
from nodes.deps import Deps
from nodes.gating import REFUSED

__all__ = ["human_step", "session_gate"]


def session_gate(state: dict[str, Any], runtime: Runtime[Deps]) -> dict[str, Any]:
    """Ask once for the vault session that every later read uses."""
    deps = runtime.context
    if state.get("session"):
        return {}
    try:
        decision = request_vault_session(
            run_id=state["run_id"],
            backend=deps.vault.backend,
            vaults=(state["plan"]["vault"]["name"],),
            plan_digest=state["plan_digest"],
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
        {"decision": type(decision).__name__.lower(), "plan": state["plan_digest"],
         "approver": decision.approver},
    )  # fmt: skip
    if isinstance(decision, Approved):
        return {"session": {"approver": decision.approver, "at": decision.at}, "reason": ""}
    return {"status": "rejected", "reason": f"vault session rejected: {decision.reason}"}


def human_step(state: dict[str, Any], runtime: Runtime[Deps]) -> dict[str, Any]:
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
