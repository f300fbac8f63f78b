"""The gates: called inside a LangGraph node, they interrupt and parse the answer — nothing else.

A node re-runs from its start on resume, so what a gate needs to be stable across that re-run
comes from the caller's state: ``requested_at`` is the time the request was first made,
recorded in the graph state by an earlier node (or before the gate, idempotently), never the
clock at the re-run — else the expiry would move with every resume. ``now`` is the clock,
read anew at each run, and is what the expiry is checked against.

Nothing with a side effect may come before a gate in the same node, and no broad ``except``
may surround it: LangGraph's ``GraphInterrupt`` must reach the runtime. Catch ``ApprovalError``
(a refused answer) and nothing wider.

>>> def gate(state):  # doctest: +SKIP
...     decision = request_approval(
...         Action.from_payload(state["pending"]["action"]), run_id=state["run_id"],
...         policy=policy, requested_at=state["pending"]["requested_at"], now=clock(),
...     )
"""

from __future__ import annotations

from langgraph.types import interrupt

from vaultborn.approvals.action import Action, require_text
from vaultborn.approvals.policy import Policy, Rule
from vaultborn.approvals.request import (
    ApprovalRequest,
    Approved,
    Decision,
    HumanAck,
    HumanStepRequest,
    Rejected,
    Request,
    VaultSessionRequest,
    checked_ttl,
    parse_ack,
    parse_decision,
)

__all__ = ["AUTO_APPROVE", "POLICY", "decide_without_asking", "request_approval",
           "request_human_step", "request_vault_session"]  # fmt: skip

POLICY = "policy"
"""The approver recorded when the policy allows or denies without asking."""

AUTO_APPROVE = "--auto-approve"
"""The reason of an approval by ``auto_approver``."""


def _checked(ttl_seconds: float, auto_approver: str | None) -> None:
    checked_ttl(ttl_seconds)
    if auto_approver is not None and not require_text(auto_approver, "auto_approver").strip():
        raise ValueError("auto_approver names who approves (or is None)")


def _without_asking(
    rule: Rule, digest: str, what: str, now: float, auto_approver: str | None
) -> Decision | None:
    """The decision when nobody needs to be asked: the policy's, or ``--auto-approve``'s."""
    if rule == "deny":
        return Rejected(digest, POLICY, now, f"the policy denies {what}")
    if rule == "allow":
        return Approved(digest, POLICY, now)
    if auto_approver is not None:
        return Approved(digest, auto_approver, now, AUTO_APPROVE)
    return None


def _decide(
    rule: Rule, request: Request, what: str, *, now: float, auto_approver: str | None
) -> Decision:
    """The decision without asking when there is one; else interrupt and parse the answer."""
    decided = _without_asking(rule, request.digest, what, now, auto_approver)
    if decided is not None:
        return decided
    return parse_decision(interrupt(request.to_payload()), request, now=now)


def decide_without_asking(
    action: Action, *, policy: Policy, now: float, auto_approver: str | None = None
) -> Decision | None:
    """The decision on ``action`` when nobody needs to be asked; None when a person must be.

    The same rules as ``request_approval`` (a ``deny`` or ``allow`` rule, else
    ``auto_approver``), without ever interrupting: a node that is not a gate may call it, so a
    step the policy decides needs no gate of its own.
    """
    _checked(1.0, auto_approver)
    return _without_asking(policy.rule_for(action), action.digest, action.name, now, auto_approver)


def request_approval(
    action: Action,
    *,
    run_id: str,
    policy: Policy,
    requested_at: float,
    now: float,
    ttl_seconds: float = 3600.0,
    auto_approver: str | None = None,
    request_id: str = "",
) -> Decision:
    """The decision on ``action``: by the policy, by ``auto_approver``, or by a person.

    A ``deny`` rule gives ``Rejected(reason="the policy denies NAME")``, an ``allow`` rule
    ``Approved(approver="policy")``; an ``ask`` rule gives ``Approved`` by ``auto_approver``
    when one is set, and otherwise interrupts with ``ApprovalRequest.to_payload()`` and parses
    the resume value.

    Args:
        action: What would be done.
        run_id: The run (thread) that asks.
        policy: The rules.
        requested_at: When the request was first made, as kept in the graph state.
        now: The clock now; the answer must come before ``requested_at + ttl_seconds``.
        ttl_seconds: How long an answer is taken (at most ``MAX_TTL_SECONDS``).
        auto_approver: Who approves every ``ask`` without a person (``--auto-approve``).
        request_id: The request's id as kept in the graph state ("" derives one from the
            run, the action and ``requested_at``); an answer must name it.

    Raises:
        ApprovalError: The person's answer was refused (see ``parse_decision``).
        TypeError, ValueError: ``ttl_seconds`` or ``requested_at`` is not a usable number.
    """
    _checked(ttl_seconds, auto_approver)
    request = ApprovalRequest(run_id, action, requested_at, requested_at + ttl_seconds, request_id)
    return _decide(
        policy.rule_for(action), request, action.name, now=now, auto_approver=auto_approver
    )


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
    """The one approval of vault access for the run ("Touch ID once").

    The rule is the policy's ``vault_session`` rule (ask when there is none); the rest is as
    for ``request_approval``. A vault session cannot be edited. Its request id comes from the
    run, the digest and ``requested_at``: a session asked again is asked at another time.

    Raises:
        ApprovalError: The person's answer was refused (see ``parse_decision``).
        TypeError, ValueError: ``ttl_seconds`` or ``requested_at`` is not a usable number.
    """
    _checked(ttl_seconds, auto_approver)
    request = VaultSessionRequest(
        run_id=run_id,
        backend=backend,
        vaults=vaults,
        plan_digest=plan_digest,
        summary=f"let this run use the {backend} vault ({', '.join(vaults)}) for the plan "
        f"{plan_digest[:15]}…",
        requested_at=requested_at,
        expires_at=requested_at + ttl_seconds,
    )
    return _decide(
        policy.rule_for_session(),
        request,
        "the vault session",
        now=now,
        auto_approver=auto_approver,
    )


def request_human_step(*, run_id: str, url: str, instructions: str) -> HumanAck:
    """Wait for a person to act on ``url``; their acknowledgement (never a value).

    The URL is shown without its query, fragment or credentials. There is no expiry and no
    auto-approval: after the answer, the caller looks at the page again.

    Raises:
        InvalidDecision: The answer is not an acknowledgement.
    """
    request = HumanStepRequest(run_id, url, instructions)
    return parse_ack(interrupt(request.to_payload()), request)
