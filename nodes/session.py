"""The vault-session approval ("Touch ID once") and the hand-off to a person."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from vaultborn.approvals.errors import ApprovalError, ApprovalExpired
from vaultborn.approvals.gate import request_human_step, request_vault_session
from vaultborn.approvals.request import Approved, derived_request_id, session_digest
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.gating import REFUSED, asked_window, audited_identity
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
        deps: Vault, policy, clock, approver, identity and audit log.
        vaults: The vaults the session opens.
        digest: What the session is for (the plan's or the toolkit's digest).
        detail: What the audited decision names it by.

    Raises:
        StuckRun: The state keeps a time or TTL no answer can get past.
    """
    if state.get("session"):
        return {}
    run_id, ttl = state["run_id"], state.get("session_ttl", deps.approval_ttl)
    asked_window(run_id, "the vault session", state.get("started_at"), ttl)
    # The request's id, as the request derives it: the same on every re-run of this node.
    request_id = derived_request_id(
        run_id, session_digest(run_id, deps.vault.backend, vaults, digest), state["started_at"]
    )
    refused: ApprovalError
    try:
        decision = request_vault_session(
            run_id=run_id,
            backend=deps.vault.backend,
            vaults=vaults,
            plan_digest=digest,
            policy=deps.policy,
            requested_at=state["started_at"],
            now=deps.clock(),
            ttl_seconds=ttl,
            auto_approver=deps.auto_approver,
        )
    except ApprovalExpired as expired:
        why, refused = "expired", expired
    except ApprovalError as other:
        why, refused = str(other), other
    else:
        deps.audit.append(
            run_id,
            "decision",
            "vault_session",
            {"decision": type(decision).__name__.lower(), **detail, "approver": decision.approver,
             "request_id": request_id, "identity": audited_identity(deps)},
        )  # fmt: skip
        if isinstance(decision, Approved):
            return {"session": {"approver": decision.approver, "at": decision.at}, "reason": ""}
        return {"status": "rejected", "reason": f"vault session rejected: {decision.reason}"}
    deps.audit.append(
        run_id, "refused", "vault_session",
        {"why": why, "request_id": request_id, "identity": audited_identity(deps)},
    )  # fmt: skip
    # Asked again from now, with this process's TTL (and so with another request id).
    return {
        "started_at": deps.clock(),
        "session_ttl": deps.approval_ttl,
        "reason": f"{REFUSED}{refused}",
    }


def human_step(state: SetupState, runtime: Runtime[Deps]) -> SetupState:
    """Wait until the person says the page is done; the step then looks at the page again."""
    human = state["human"]
    try:
        ack = request_human_step(
            run_id=state["run_id"], url=human["url"], instructions=human["instructions"]
        )
    except ApprovalError as refused:  # the page is looked at again, and handed off again
        return {"human": {}, "reason": f"{REFUSED}{refused}"}
    deps = runtime.context
    deps.audit.append(
        state["run_id"], "human_step", human["url"],
        {"by": ack.by, "identity": audited_identity(deps)},
    )  # fmt: skip
    return {"human": {}, "status": "running"}
