"""One approval of a plan: its digest binds the session and every action; what it covers."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.types import Command

from vaultborn.approvals.action import Action
from vaultborn.approvals.errors import DigestMismatch, InvalidDecision, RequestMismatch
from vaultborn.approvals.gate import request_plan_session
from vaultborn.approvals.plan_approval import PlanApproval, PlanRequest, plan_approval_digest
from vaultborn.approvals.policy import Policy
from vaultborn.approvals.request import Approved, Rejected, VaultSessionRequest, parse_decision

ITEM = Action("create_item", {"vault": "ACL", "title": "t"}, ("vault.create_item",), "Create t")
SEED = Action("seed", {"to": "aws-secretsmanager://us-east-1/x"}, ("store.put",), "Seed x")
VERIFY = Action("verify", {"client_id": "agent"}, (), "Verify")
PLANNED = (("create_item", ITEM), ("seed[0]", SEED), ("verify", VERIFY))
OFFER = PlanRequest("run-1", "local", ("ACL",), "sha256:plan", "use it", 100.0, 200.0,
                    actions=PLANNED)  # fmt: skip


def _answer(digest: str, decision: str = "approve", **more: Any) -> dict[str, Any]:
    return {"decision": decision, "digest": digest, "run_id": "run-1",
            "request_id": OFFER.request_id, "approver": "ana", "reason": "", **more}  # fmt: skip


def _approval(**changes: Any) -> PlanApproval:
    fields: dict[str, Any] = {
        "digest": OFFER.digest, "plan_digest": "sha256:plan", "session": OFFER.session_digest,
        "actions": {k: a.digest for k, a in PLANNED}, "expires_at": 200.0, "approver": "ana",
        "at": 150.0,
    }  # fmt: skip
    return PlanApproval(**{**fields, **changes})


def test_the_offer_binds_the_session_and_every_action_digest() -> None:
    payload = OFFER.to_payload()
    session = VaultSessionRequest.from_payload({k: v for k, v in payload.items() if k != "plan"})
    assert payload["digest"] == session.digest == OFFER.session_digest != OFFER.digest
    assert payload["plan"]["digest"] == OFFER.digest
    assert [(a["key"], a["digest"]) for a in payload["plan"]["actions"]] == [
        (k, a.digest) for k, a in PLANNED
    ]
    edited = ITEM.with_args({"title": "u"})
    other = PlanRequest("run-1", "local", ("ACL",), "sha256:plan", "use it", 100.0, 200.0,
                        actions=(("create_item", edited), *PLANNED[1:]))  # fmt: skip
    assert other.digest != OFFER.digest
    moved = PlanRequest("run-2", "local", ("ACL",), "sha256:plan", "use it", 100.0, 200.0,
                        actions=PLANNED)  # fmt: skip
    assert moved.digest != OFFER.digest  # another run's plan is another approval
    assert OFFER.digest == plan_approval_digest(
        OFFER.session_digest, "sha256:plan", [(k, a.digest) for k, a in PLANNED]
    )


def test_a_plan_is_approved_or_rejected_never_edited() -> None:
    approved = parse_decision(_answer(OFFER.digest), OFFER, now=150.0)
    assert isinstance(approved, Approved) and approved.digest == OFFER.digest
    rejected = parse_decision(_answer(OFFER.digest, "reject", reason="no"), OFFER, now=150.0)
    assert isinstance(rejected, Rejected)
    with pytest.raises(InvalidDecision, match="the plan cannot be edited"):
        parse_decision(_answer(OFFER.digest, "edit", args={"title": "u"}), OFFER, now=150.0)
    with pytest.raises(DigestMismatch, match="not for the waiting plan"):
        parse_decision(_answer(OFFER.session_digest), OFFER, now=150.0)


def test_an_approval_covers_only_the_digest_it_lists_before_its_expiry() -> None:
    plan, policy = _approval(), Policy.default()
    covered = plan.covers("create_item", ITEM, policy, 150.0)
    assert covered is not None and covered.digest == ITEM.digest and covered.approver == "ana"
    assert plan.digest in covered.reason
    assert plan.covers("create_item", ITEM.with_args({"title": "u"}), policy, 150.0) is None
    assert plan.covers("seed[1]", SEED, policy, 150.0) is None  # a target the plan did not list
    assert plan.covers("seed[0]", SEED.with_args({"to": "aws-ssm://us-east-1/x"}), policy,
                       150.0) is None  # fmt: skip
    assert plan.covers("create_item", ITEM, policy, 200.0) is None  # expired


def test_the_policy_still_decides_single_actions_in_an_approved_plan() -> None:
    plan = _approval()
    for rules in ({"create_item": "deny"}, {"create_item": "ask"}, {"create_item": "allow"}):
        assert plan.covers("create_item", ITEM, Policy("ask", rules), 150.0) is None
    assert plan.covers("create_item", ITEM, Policy("deny"), 150.0) is None
    assert plan.covers("seed[0]", SEED, Policy("ask", {"create_item": "ask"}), 150.0) is not None
    # The session: covered only when it is the one approved, and no rule names it.
    assert plan.covers_session(OFFER.session_digest, Policy.default(), 150.0) is not None
    assert plan.covers_session("sha256:other", Policy.default(), 150.0) is None
    named = Policy("ask", {"vault_session": "ask"})
    assert plan.covers_session(OFFER.session_digest, named, 150.0) is None
    assert _approval(session="").covers_session("", Policy.default(), 150.0) is None


def test_a_record_round_trips_and_is_read_strictly() -> None:
    plan = _approval()
    assert PlanApproval.from_record(plan.to_record()) == plan
    for broken in ({**plan.to_record(), "extra": 1}, {**plan.to_record(), "at": "now"},
                   {**plan.to_record(), "actions": {"seed[0]": 1}}, "plan"):  # fmt: skip
        with pytest.raises(InvalidDecision):
            PlanApproval.from_record(broken)


def test_the_gate_asks_once_and_tells_a_plan_from_a_session_answer() -> None:
    """``request_plan_session`` in a graph: the plan's digest approves all, the session's one."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    class S(TypedDict, total=False):
        out: str

    def node(state: S) -> S:
        decision, plan = request_plan_session(
            run_id="run-1", backend="local", vaults=("ACL",), plan_digest="sha256:plan",
            actions=PLANNED, policy=Policy.default(), requested_at=100.0, now=150.0,
            ttl_seconds=100.0,
        )  # fmt: skip
        return {"out": f"{type(decision).__name__}:{plan is not None}"}

    builder: StateGraph[S, None, S, S] = StateGraph(S)
    builder.add_node("gate", node)
    builder.add_edge(START, "gate")
    builder.add_edge("gate", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    outcomes = []
    for digest in (OFFER.digest, OFFER.session_digest):
        config: Any = {"configurable": {"thread_id": digest}}
        graph.invoke({}, config)
        waiting = graph.get_state(config).interrupts[0].value
        assert waiting["kind"] == "vault_session" and waiting["plan"]["digest"] == OFFER.digest
        outcomes.append(graph.invoke(Command(resume=_answer(digest)), config)["out"])
    assert outcomes == ["Approved:True", "Approved:False"]


def test_the_plan_and_its_session_are_one_request() -> None:
    payload = OFFER.to_payload()
    assert payload["request_id"] == OFFER.request_id == OFFER.session().request_id
    with pytest.raises(RequestMismatch):
        parse_decision(_answer(OFFER.digest, request_id="req-other"), OFFER, now=150.0)
