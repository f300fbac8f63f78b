"""The three nodes of every gated step: propose, gate, effect.

- ``propose``: builds the ``Action`` from the state (and a person's edits), and records it as
  ``pending`` with the time it was first asked — the gate re-runs from its start on resume, so
  the expiry must come from the state, not from the clock at re-run. When nobody needs to be
  asked (the policy allows or denies, or ``--auto-approve``), it records that decision itself
  and the graph goes straight on: a gate, its checkpoint and its audit read are only paid for
  where a person answers. An approved plan (``approvals.plan_approval``) covers the action
  when its digest is the one approved; any other action falls through to the gate.
- ``gate``: only the interrupt and the strict parsing of its answer (invariant 3: nothing else
  happens before an interrupt in the same node).
- ``effect``: refuses to run unless the state holds a decision for the digest of the exact
  action it is about to perform, then runs the idempotent effect and audits it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime

from vaultborn.approvals.action import Action
from vaultborn.approvals.errors import ApprovalError, ApprovalExpired
from vaultborn.approvals.gate import decide_without_asking, request_approval
from vaultborn.approvals.plan_approval import PlanApproval
from vaultborn.approvals.request import Approved, Decision, Edited, Rejected
from vaultborn.core.errors import VaultbornError
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import ApprovalRecord, Asked, SetupState
from vaultborn.nodes.steps import GatedStep, hands_off, run_effect

__all__ = [
    "REFUSED",
    "ApprovalMissing",
    "action_for",
    "ask_pending",
    "effect_node",
    "gate_node",
    "propose_node",
    "settled",
]


REFUSED = "refused: "
"""How ``reason`` starts when the last answer was refused (the step is asked again)."""


class ApprovalMissing(VaultbornError):
    """An effect was about to run without an approval of its exact action."""


def action_for(step: GatedStep, state: SetupState) -> Action:
    """The action ``step`` would perform now, with a person's edits applied."""
    args = {**step.args(state), **state.get("edits", {}).get(step.gate_key(state), {})}
    return Action(name=step.name, args=args, effects=step.effects, summary=step.summary(args))


def propose_node(step: GatedStep) -> Any:
    """The node that records the pending approval request of ``step``, or its decision.

    A decision that needs nobody (see ``decide_without_asking``) is recorded and audited here,
    exactly as the gate would record it, and ``pending`` stays empty: the graph then routes
    past the gate (``settled``).
    """

    def propose(state: SetupState, runtime: Runtime[Deps]) -> SetupState:
        deps, action = runtime.context, action_for(step, state)
        pending = state.get("pending") or {}
        if pending.get("digest") == action.digest:
            return {}  # asked already (a re-run): keep the first request time
        key = step.gate_key(state)
        covered = _covered(state, key, action, deps)
        if covered is not None:
            return covered
        decided = decide_without_asking(
            action, policy=deps.policy, now=deps.clock(), auto_approver=deps.auto_approver
        )
        if decided is not None:
            _audit_decision(deps, state["run_id"], key, decided)
            return {"status": "running", **settled(decided, key, state)}
        return {
            "pending": {
                "key": key,
                "action": action.to_payload(),
                "digest": action.digest,
                "requested_at": runtime.context.clock(),
                # Fixed when asked: the expiry shown to the person must not move with the
                # TTL of whichever process happens to receive the answer.
                "ttl_seconds": runtime.context.approval_ttl,
            },
            "status": "running",
        }

    propose.__name__ = f"propose_{step.name}"
    return propose


def _covered(state: SetupState, key: str, action: Action, deps: Deps) -> SetupState | None:
    """The state update of ``action`` approved by the run's plan approval, if that covers it."""
    record = state.get("plan_approval")
    if not record:
        return None
    plan = PlanApproval.from_record(record)
    approved = plan.covers(key, action, deps.policy, deps.clock())
    if approved is None:
        return None
    _audit_decision(deps, state["run_id"], key, approved, {"covered_by": plan.digest})
    update = settled(approved, key, state)
    update["approvals"][key]["covered_by"] = plan.digest
    return {"status": "running", **update}


def ask_pending(
    action: Action,
    key: str,
    run_id: str,
    pending: Asked,
    deps: Deps,
    *,
    detail: dict[str, Any] | None = None,
) -> Decision | str:
    """Ask for the approval of ``pending`` (interrupting unless the policy decides); audited.

    The decision, or — for an expired or refused answer — why it is asked again: the caller
    clears the request (``pending``) and keeps that as the ``reason``, so the step is proposed
    (and asked) anew with a fresh expiry. Not raised: LangGraph would keep the refused answer
    and hand it to the next interrupt of the task.

    Args:
        action: The pending action.
        key: How the audit log names what is asked.
        run_id: The run.
        pending: The request as the propose node recorded it (time asked, TTL).
        deps: Policy, clock, approver and audit log.
        detail: More to record with the decision.
    """
    try:
        decision = request_approval(
            action,
            run_id=run_id,
            policy=deps.policy,
            requested_at=pending["requested_at"],
            now=deps.clock(),
            ttl_seconds=pending.get("ttl_seconds", deps.approval_ttl),
            auto_approver=deps.auto_approver,
        )
    except ApprovalExpired:
        deps.audit.append(run_id, "refused", key, {"why": "expired", "digest": action.digest})
        return f"the approval of {key} expired; asked again"
    except ApprovalError as refused:  # narrow: LangGraph's interrupt is not one of these
        deps.audit.append(run_id, "refused", key, {"why": str(refused)})
        return f"{REFUSED}{refused}"
    _audit_decision(deps, run_id, key, decision, detail)
    return decision


def _audit_decision(
    deps: Deps, run_id: str, key: str, decision: Decision, detail: dict[str, Any] | None = None
) -> None:
    deps.audit.append(
        run_id,
        "decision",
        key,
        {"decision": type(decision).__name__.lower(), "digest": decision.digest,
         "approver": decision.approver, **(detail or {})},
    )  # fmt: skip


def settled(decision: Decision, key: str, state: SetupState) -> SetupState:
    """The state update that records ``decision`` on the request ``key``.

    Approved: kept in ``approvals`` (the effect checks its digest); edited: the new arguments
    go to ``edits`` and the step is proposed again; rejected: the run ends.
    """
    if isinstance(decision, Approved):
        approvals = {**state.get("approvals", {}), key: _record(decision)}
        return {"approvals": approvals, "pending": {}, "reason": ""}
    if isinstance(decision, Edited):
        edits = {**state.get("edits", {}), key: dict(decision.action.args)}
        return {"edits": edits, "pending": {}, "reason": ""}
    if not isinstance(decision, Rejected):  # pragma: no cover - Decision has three kinds
        raise TypeError(f"unknown decision {decision!r}")
    return {"status": "rejected", "reason": f"{key} rejected: {decision.reason}", "pending": {}}


def gate_node(step: GatedStep) -> Any:
    """The node that asks for ``step``'s approval (interrupting unless the policy decides)."""

    def gate(state: SetupState, runtime: Runtime[Deps]) -> SetupState:
        deps, pending = runtime.context, state["pending"]
        action, key, run_id = (
            Action.from_payload(pending["action"]),
            pending["key"],
            state["run_id"],
        )
        decision = ask_pending(action, key, run_id, pending, deps)
        if isinstance(decision, str):
            return {"pending": {}, "reason": decision}
        return settled(decision, key, state)

    gate.__name__ = f"gate_{step.name}"
    return gate


def effect_node(step: GatedStep) -> Any:
    """The node that performs ``step`` once its exact action is approved."""

    async def effect(state: SetupState, runtime: Runtime[Deps]) -> SetupState:
        deps = runtime.context
        action, key = action_for(step, state), step.gate_key(state)
        approved = state.get("approvals", {}).get(key)
        if approved is None or approved["digest"] != action.digest:
            raise ApprovalMissing(f"{key} has no approval for the action it would perform now")
        if step.prepare is not None:
            step.prepare(state.copy(), deps)
        result = await run_effect(step, dict(action.args), deps)
        if hands_off(result):
            return {"human": result["human"], "status": "waiting"}
        # Which approval let it run: the plan approval that covered it, or its own gate's.
        detail = {**_audit_detail(result), "approver": approved["approver"],
                  "approval": approved.get("covered_by", approved["digest"])}  # fmt: skip
        await asyncio.to_thread(deps.audit.append, state["run_id"], "effect", key, detail)
        return {**step.recorded(state, result), "human": {}}

    effect.__name__ = step.name
    return effect


def _record(decision: Approved) -> ApprovalRecord:
    return {"digest": decision.digest, "approver": decision.approver, "at": decision.at}


def _audit_detail(result: Mapping[str, object]) -> dict[str, str | int | float | bool]:
    """The effect's result as audit detail: scalars only (ids, references, versions)."""
    return {k: v for k, v in result.items() if isinstance(v, str | int | float | bool)}
