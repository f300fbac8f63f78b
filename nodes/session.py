"""The vault-session approval ("Touch ID once") and the hand-off to a person.

A setup run's session is asked with its whole plan beside it (``approvals.plan_approval``):
one answer may approve the session and every planned action. A run started with a plan
approval already (``setup --approval``) has its session covered by it, when it names this
run, vault and plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langgraph.runtime import Runtime

from vaultborn.approvals.action import Action
from vaultborn.approvals.errors import ApprovalError, ApprovalExpired
from vaultborn.approvals.gate import (
    request_human_step,
    request_plan_session,
    request_vault_session,
)
from vaultborn.approvals.plan_approval import PLAN, PlanApproval
from vaultborn.approvals.request import Approved, Decision, derived_request_id, session_digest
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.gating import REFUSED, asked_window, audited_identity
from vaultborn.nodes.plan_actions import planned_actions
from vaultborn.nodes.state import PlanApprovalRecord, SessionAsk, SessionUpdate, SetupState

__all__ = ["ask_session", "audit_plan_approval", "human_step", "session_gate"]


def session_gate(state: SetupState, runtime: Runtime[Deps]) -> SessionUpdate:
    """Ask once for the vault session that every later read uses, offering the whole plan."""
    deps = runtime.context
    vaults = (state["plan"]["vault"]["name"],)
    covered = _covered_session(state, deps, vaults)
    if covered is not None:
        return covered
    return ask_session(
        state,
        deps,
        vaults=vaults,
        digest=state["plan_digest"],
        detail={"plan": state["plan_digest"]},
        offer=planned_actions(state["plan"]),
    )


def _covered_session(
    state: SetupState, deps: Deps, vaults: tuple[str, ...]
) -> SessionUpdate | None:
    """The session approved by the plan approval the run started with, if it covers it."""
    record = state.get("plan_approval")
    if not record or state.get("session"):
        return None
    plan = PlanApproval.from_record(record)
    digest = session_digest(state["run_id"], deps.vault.backend, vaults, state["plan_digest"])
    approved = plan.covers_session(digest, deps.policy, deps.clock())
    if approved is None:
        return None
    audit_plan_approval(deps, state["run_id"], plan)
    deps.audit.append(
        state["run_id"], "decision", "vault_session",
        {"decision": "approved", "plan": state["plan_digest"], "approver": approved.approver,
         "covered_by": plan.digest, "identity": audited_identity(deps)},
    )  # fmt: skip
    return {"session": {"approver": approved.approver, "at": approved.at}, "reason": ""}


def audit_plan_approval(deps: Deps, run_id: str, plan: PlanApproval) -> None:
    """Record that ``plan`` was approved: by whom, for which plan, covering what, until when."""
    deps.audit.append(
        run_id, "decision", PLAN,
        {"decision": "approved", "digest": plan.digest, "plan": plan.plan_digest,
         "approver": plan.approver, "expires_at": plan.expires_at,
         "actions": sorted(plan.actions), "session": bool(plan.session),
         "identity": audited_identity(deps)},
    )  # fmt: skip


def ask_session(
    state: SessionAsk,
    deps: Deps,
    *,
    vaults: tuple[str, ...],
    digest: str,
    detail: dict[str, Any],
    offer: Sequence[tuple[str, Action]] | None = None,
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
        offer: The plan's actions (gate key, action), offered for one approval with the
            session; None asks for the session alone.

    Raises:
        StuckRun: The state keeps a time or TTL no answer can get past.
    """
    if state.get("session"):
        return {}
    run_id, ttl = state["run_id"], state.get("session_ttl", deps.approval_ttl)
    asked_window(run_id, "the vault session", state.get("started_at"), ttl)
    # The request's id, as the request derives it: the same on every re-run of this node (and
    # the same for the plan offered with it: one request shown once).
    request_id = derived_request_id(
        run_id, session_digest(run_id, deps.vault.backend, vaults, digest), state["started_at"]
    )
    plan: PlanApproval | None = None
    refused: ApprovalError
    try:
        decision: Decision
        asked: dict[str, Any] = {
            "run_id": run_id, "backend": deps.vault.backend, "vaults": vaults,
            "plan_digest": digest, "policy": deps.policy, "requested_at": state["started_at"],
            "now": deps.clock(), "ttl_seconds": ttl, "auto_approver": deps.auto_approver,
        }  # fmt: skip
        if offer is None:
            decision = request_vault_session(**asked)
        else:
            decision, plan = request_plan_session(**asked, actions=offer)
    except ApprovalExpired as expired:
        why, refused = "expired", expired
    except ApprovalError as other:
        why, refused = str(other), other
    else:
        if plan is not None:
            audit_plan_approval(deps, run_id, plan)
            detail = {**detail, "covered_by": plan.digest}
        deps.audit.append(
            run_id,
            "decision",
            "vault_session",
            {"decision": type(decision).__name__.lower(), **detail, "approver": decision.approver,
             "request_id": request_id, "identity": audited_identity(deps)},
        )  # fmt: skip
        if not isinstance(decision, Approved):
            return {"status": "rejected", "reason": f"vault session rejected: {decision.reason}"}
        update: SessionUpdate = {
            "session": {"approver": decision.approver, "at": decision.at},
            "reason": "",
        }
        if plan is not None:
            update["plan_approval"] = cast(PlanApprovalRecord, plan.to_record())
        return update
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
