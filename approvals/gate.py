"""The gates: called inside a LangGraph node, they interrupt and parse the answer — nothing else.

A node re-runs from its start on resume, so everything a gate needs to be stable across that
re-run (when it was first asked) comes from the caller's state, and nothing with a side effect
may come before the call in the same node. No broad ``except`` surrounds ``interrupt()``:
LangGraph's ``GraphInterrupt`` must reach the runtime.
"""

from __future__ import annotations

from langgraph.types import interrupt

from approvals.action import Action
from approvals.policy import Policy, Rule
from approvals.request import (
    ApprovalRequest,
    Approved,
    Decision,
    HumanAck,
    Rejected,
    parse_ack,
    parse_decision,
    session_digest,
)

__all__ = ["request_approval", "request_human_step", "request_vault_session"]

POLICY = "policy"
"""The approver recorded when the policy allows or denies without asking."""


def request_approval(
    action: Action,
    *,
    run_id: str,
    policy: Policy,
    requested_at: float,
    now: float,
    ttl_seconds: float = 3600.0,
    auto_approver: str | None = None,
) -> Decision:
    """The decision on ``action``: by the policy, by ``auto_approver``, or by a person.

    Raises:
        ApprovalError: The person's answer was refused (see ``parse_decision``).
    """
    decided = _without_asking(
        policy.rule_for(action), action.digest, action.name, now, auto_approver
    )
    if decided is not None:
        return decided
    request = ApprovalRequest(
        kind="approval",
        run_id=run_id,
        digest=action.digest,
        requested_at=requested_at,
        expires_at=requested_at + ttl_seconds,
        action=action,
        summary=action.summary,
    )
    return parse_decision(interrupt(request.to_payload()), request, now=now)


def request_vault_session(
    *,
    run_id: str,
    backend: str,
    vaults: tuple[str, ...],
    plan_digest: str,
    policy: Policy,
    requested_at: float,
    now: float,
    ttl_seconds: float = 3600.0,
    auto_approver: str | None = None,
) -> Decision:
    """The one approval of vault access for the run ("Touch ID once")."""
    digest = session_digest(run_id, backend, vaults, plan_digest)
    rule = policy.actions.get("vault_session", "ask")
    decided = _without_asking(rule, digest, "the vault session", now, auto_approver)
    if decided is not None:
        return decided
    request = ApprovalRequest(
        kind="vault_session",
        run_id=run_id,
        digest=digest,
        requested_at=requested_at,
        expires_at=requested_at + ttl_seconds,
        summary=f"let this run use the {backend} vault ({', '.join(vaults)}) for the plan "
        f"{plan_digest[:15]}…",
    )
    return parse_decision(interrupt(request.to_payload()), request, now=now)


def _without_asking(
    rule: Rule, digest: str, what: str, now: float, auto_approver: str | None
) -> Decision | None:
    """The decision when nobody needs to be asked: the policy's, or ``--auto-approve``'s."""
    if rule == "deny":
        return Rejected(digest, POLICY, now, f"the policy denies {what}")
    if rule == "allow":
        return Approved(digest, POLICY, now)
    if auto_approver is not None:
        return Approved(digest, auto_approver, now, "--auto-approve")
    return None


def request_human_step(*, run_id: str, url: str, instructions: str) -> HumanAck:
    """Wait for a person to act on ``url``; their acknowledgement (never a value).

    Raises:
        InvalidDecision: The answer is not an acknowledgement.
    """
    payload = {"kind": "human_step", "run_id": run_id, "url": url, "instructions": instructions}
    return parse_ack(interrupt(payload))
