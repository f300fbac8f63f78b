"""The three nodes of every gated step: propose, gate, effect.

- ``propose``: builds the ``Action`` from the state (and a person's edits), and records it as
  ``pending`` with the time it was first asked — the gate re-runs from its start on resume, so
  the expiry must come from the state, not from the clock at re-run. When nobody needs to be
  asked (the policy allows or denies, or ``--auto-approve``), it records that decision itself
  and the graph goes straight on: a gate, its checkpoint and its audit read are only paid for
  where a person answers. An approved plan (``approvals.plan_approval``) covers the action
  when its digest is the one approved; any other action falls through to the gate.
- ``gate``: only the interrupt and the strict parsing of its answer (invariant 3: nothing else
  happens before an interrupt in the same node). An answer must name the run, the request
  (``request_id``, fixed when proposed) and the action's digest.
- ``effect``: refuses to run unless the state holds a decision for the digest of the exact
  action it is about to perform, and the audit log holds that decision too (``require_audited``),
  then runs the idempotent effect and audits it. The state alone is not enough: a decision
  written into a checkpoint by someone with the database but not the audit key is not in the
  keyed chain.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime

from vaultborn.approvals.action import Action
from vaultborn.approvals.errors import ApprovalError, ApprovalExpired
from vaultborn.approvals.gate import decide_without_asking, request_approval
from vaultborn.approvals.plan_approval import PlanApproval
from vaultborn.approvals.request import (
    Approved,
    Decision,
    Edited,
    Rejected,
    checked_ttl,
    derived_request_id,
    new_request_id,
)
from vaultborn.core.errors import VaultbornError
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import ApprovalRecord, Asked, SetupState
from vaultborn.nodes.steps import GatedStep, hands_off, run_effect

__all__ = [
    "REFUSED",
    "ApprovalMissing",
    "StuckRun",
    "action_for",
    "ask_pending",
    "asked_window",
    "audited_identity",
    "effect_node",
    "gate_node",
    "propose_node",
    "require_audited",
    "settled",
]


REFUSED = "refused: "
"""How ``reason`` starts when the last answer was refused (the step is asked again)."""


class ApprovalMissing(VaultbornError):
    """An effect was about to run without an approval of its exact action."""


class StuckRun(VaultbornError):
    """A run's state holds a value no answer can get past; only ``vaultborn cancel`` ends it.

    Not a ``ConfigurationError``: nothing in the environment fixes it, and resuming does not.
    """


def asked_window(run_id: str, what: str, requested_at: object, ttl_seconds: object) -> None:
    """Check the time a request was asked and its TTL, as the run's state keeps them.

    Raises:
        StuckRun: Either is not a usable number (not finite, a TTL out of bounds): the
            message names the way out.
    """
    try:
        checked_ttl(ttl_seconds, "its time to answer")
        if isinstance(requested_at, bool) or not isinstance(requested_at, int | float):
            raise TypeError("its time asked is not a number")
        if not math.isfinite(requested_at):
            raise ValueError("its time asked is not a finite number")
    except (TypeError, ValueError) as unusable:
        raise StuckRun(
            f"run {run_id} keeps an unusable request for {what} ({unusable}); no answer can "
            f"reach it: end the run with 'vaultborn cancel {run_id} --reason TEXT'"
        ) from None


def audited_identity(deps: Deps) -> dict[str, str | int]:
    """What the process recording a decision can prove of who runs it (audit ``identity``)."""
    return dict(deps.identity)


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
                "request_id": new_request_id(),
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

    The decision, or — for an expired or refused answer — why it is asked again (``REFUSED``
    and the refusal's one line): the caller clears the request (``pending``) and keeps that as
    the ``reason``, so the step is proposed (and asked) anew with a fresh expiry and request
    id. Not raised: LangGraph would keep the refused answer and hand it to the next interrupt
    of the task.

    Args:
        action: The pending action.
        key: How the audit log names what is asked.
        run_id: The run.
        pending: The request as the propose node recorded it (time asked, TTL, request id).
        deps: Policy, clock, approver, identity and audit log.
        detail: More to record with the decision.

    Raises:
        StuckRun: The state keeps a time or TTL no answer can get past.
    """
    ttl = pending.get("ttl_seconds", deps.approval_ttl)
    asked_window(run_id, key, pending.get("requested_at"), ttl)
    # A request proposed before requests had ids gets one derived from what it was asked with.
    request_id = pending.get("request_id") or derived_request_id(
        run_id, action.digest, pending["requested_at"]
    )
    try:
        decision = request_approval(
            action,
            run_id=run_id,
            policy=deps.policy,
            requested_at=pending["requested_at"],
            now=deps.clock(),
            ttl_seconds=ttl,
            auto_approver=deps.auto_approver,
            request_id=request_id,
        )
    except ApprovalExpired as expired:
        refusal: dict[str, Any] = {"why": "expired", "digest": action.digest}
        outcome = f"{REFUSED}{expired}"
    except ApprovalError as refused:  # narrow: LangGraph's interrupt is not one of these
        refusal, outcome = {"why": str(refused)}, f"{REFUSED}{refused}"
    else:
        _audit_decision(deps, run_id, key, decision, {"request_id": request_id, **(detail or {})})
        return decision
    refusal |= {"request_id": request_id, "identity": audited_identity(deps)}
    deps.audit.append(run_id, "refused", key, refusal)
    return outcome


def _audit_decision(
    deps: Deps, run_id: str, key: str, decision: Decision, detail: dict[str, Any] | None = None
) -> None:
    deps.audit.append(
        run_id,
        "decision",
        key,
        {"decision": type(decision).__name__.lower(), "digest": decision.digest,
         "approver": decision.approver, "identity": audited_identity(deps), **(detail or {})},
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
        await require_audited(deps, state["run_id"], key, action.digest)
        if step.prepare is not None:
            # In a thread: it may wait for the run database's lock, which another run's
            # checkpoint write on this loop holds until the loop runs its commit.
            await asyncio.to_thread(step.prepare, state.copy(), deps)
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


async def require_audited(deps: Deps, run_id: str, key: str, digest: str) -> None:
    """Refuse an effect whose approval is in the state but not in the audit log.

    One indexed read per effect (in a thread: the loop is shared by other runs). A refusal is
    audited, with the digest the state claimed was approved.

    Raises:
        ApprovalMissing: The log holds no approval of ``digest`` for ``key`` that checks.
    """
    if not await asyncio.to_thread(deps.audit.has_decision, run_id, key, digest):
        why = {"why": "the approval is not in the audit log", "digest": digest}
        await asyncio.to_thread(deps.audit.append, run_id, "refused", key, why)
        raise ApprovalMissing(
            f"{key}: the approval in the run's state is not in the audit log (a checkpoint "
            "written outside vaultborn?); refused"
        )


def _record(decision: Approved) -> ApprovalRecord:
    return {"digest": decision.digest, "approver": decision.approver, "at": decision.at}


def _audit_detail(result: Mapping[str, object]) -> dict[str, str | int | float | bool]:
    """The effect's result as audit detail: scalars only (ids, references, versions)."""
    return {k: v for k, v in result.items() if isinstance(v, str | int | float | bool)}
