"""The gates inside a real LangGraph graph (``InMemorySaver``): interrupt, resume, re-run."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

import vaultborn.approvals as approvals
from vaultborn.approvals.action import Action
from vaultborn.approvals.errors import ApprovalExpired, DigestMismatch
from vaultborn.approvals.gate import (
    decide_without_asking,
    request_approval,
    request_human_step,
    request_vault_session,
)
from vaultborn.approvals.policy import Policy
from vaultborn.approvals.request import (
    ApprovalRequest,
    Approved,
    Edited,
    HumanAck,
    Rejected,
    VaultSessionRequest,
    derived_request_id,
)
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("approval integrity: gate and audit chain")

SECRET = Secret("hunter2-hunter2", label="password of op://ACL/admin/password")
ACTION = Action(
    "seed",
    {"from": "op://ACL/admin/password", "to": "aws-secretsmanager://us-east-1/x"},
    ("store.put",),
    "Seed x",
)
CONFIG: Any = {"configurable": {"thread_id": "t"}}


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class State(TypedDict, total=False):
    requested_at: float
    outcome: str


class Graph:
    """propose (records when it asked) → gate (interrupt and parse) → effect."""

    def __init__(self, policy: Policy, auto: str | None = None) -> None:
        self.clock, self.gate_runs, self.effects = Clock(), 0, 0
        self.decisions: list[Any] = []

        def propose(state: State) -> State:
            return {"requested_at": self.clock()}

        def gate(state: State) -> State:
            self.gate_runs += 1
            decision = request_approval(
                ACTION, run_id="r1", policy=policy, requested_at=state["requested_at"],
                now=self.clock(), auto_approver=auto,
            )  # fmt: skip
            self.decisions.append(decision)
            return {"outcome": f"{type(decision).__name__}:{decision.approver}"}

        def effect(state: State) -> State:
            self.effects += 1
            return {}

        builder = StateGraph(State)
        for name, node in (("propose", propose), ("gate", gate), ("effect", effect)):
            builder.add_node(name, node)
        builder.add_edge(START, "propose")
        builder.add_edge("propose", "gate")
        builder.add_edge("gate", "effect")
        builder.add_edge("effect", END)
        self.saver = InMemorySaver()
        self.graph = builder.compile(checkpointer=self.saver)

    def invoke(self, value: Any) -> Any:
        return self.graph.invoke(value, CONFIG)


def _answer(**changes: Any) -> dict[str, Any]:
    """An answer to the graph's request (asked at 100.0 in run r1, whose state keeps no id)."""
    asked = derived_request_id("r1", ACTION.digest, 100.0)
    base = {"decision": "approve", "digest": ACTION.digest, "approver": "ana", "reason": "",
            "run_id": "r1", "request_id": asked}  # fmt: skip
    return {**base, **changes}


def test_the_payload_is_json_with_references_only() -> None:
    run = Graph(Policy.default())
    first = run.invoke({})
    (pending,) = first["__interrupt__"]
    payload = pending.value
    assert json.loads(json.dumps(payload)) == payload
    assert ApprovalRequest.from_payload(payload).action == ACTION
    assert payload["kind"] == "approval" and payload["digest"] == ACTION.digest
    assert (payload["requested_at"], payload["expires_at"]) == (100.0, 100.0 + 3600)
    assert SECRET.reveal() not in json.dumps(payload)
    assert SECRET.reveal() not in repr(list(run.saver.storage.items()))
    assert run.gate_runs == 1 and run.effects == 0


def test_approve_continues_with_a_stable_expiry() -> None:
    run = Graph(Policy.default())
    run.invoke({})
    run.clock.now = 3000.0  # the gate re-runs from its start; requested_at comes from state
    done = run.invoke(Command(resume=_answer()))
    assert done["outcome"] == "Approved:ana"
    assert run.decisions == [Approved(ACTION.digest, "ana", 3000.0)]
    assert run.gate_runs == 2 and run.effects == 1


def test_reject_returns_rejected() -> None:
    run = Graph(Policy.default())
    run.invoke({})
    done = run.invoke(Command(resume=_answer(decision="reject", reason="not today")))
    assert done["outcome"] == "Rejected:ana"
    assert run.decisions[-1].reason == "not today"


def test_edit_returns_the_new_action() -> None:
    run = Graph(Policy.default())
    run.invoke({})
    run.invoke(Command(resume=_answer(decision="edit", args={"to": "aws-secretsmanager://y"})))
    (edited,) = run.decisions
    assert isinstance(edited, Edited) and edited.action.digest != ACTION.digest


def test_tampered_digest_raises_out_of_invoke() -> None:
    run = Graph(Policy.default())
    run.invoke({})
    with pytest.raises(DigestMismatch):
        run.invoke(Command(resume=_answer(digest="sha256:" + "1" * 64)))
    assert run.effects == 0


def test_a_late_answer_raises_out_of_invoke() -> None:
    run = Graph(Policy.default())
    run.invoke({})
    run.clock.now = 100.0 + 3600
    with pytest.raises(ApprovalExpired):
        run.invoke(Command(resume=_answer()))
    assert run.effects == 0


@pytest.mark.parametrize(
    ("policy", "auto", "outcome", "reason"),
    [
        (Policy(actions={"seed": "allow"}), None, "Approved:policy", ""),
        (Policy(actions={"seed": "deny"}), None, "Rejected:policy", "the policy denies seed"),
        (Policy(actions={"seed": "deny"}), "ci-bot", "Rejected:policy", "the policy denies seed"),
        (Policy.default(), "ci-bot", "Approved:ci-bot", "--auto-approve"),
    ],
)
def test_policy_and_auto_approval_never_interrupt(
    policy: Policy, auto: str | None, outcome: str, reason: str
) -> None:
    run = Graph(policy, auto)
    result = run.invoke({})
    assert "__interrupt__" not in result
    assert result["outcome"] == outcome
    assert run.gate_runs == 1 and run.decisions[0].reason == reason
    assert run.decisions[0].digest == ACTION.digest


@pytest.mark.parametrize(
    ("policy", "auto", "outcome"),
    [
        (Policy(actions={"seed": "allow"}), None, "Approved:policy"),
        (Policy(actions={"seed": "deny"}), "ci-bot", "Rejected:policy"),
        (Policy.default(), "ci-bot", "Approved:ci-bot"),
        (Policy.default(), None, None),
        (Policy(actions={"seed": "ask"}), None, None),
    ],
)
def test_a_decision_without_asking_is_the_gates_own_or_none(
    policy: Policy, auto: str | None, outcome: str | None
) -> None:
    """Outside a graph: what the gate would decide without a person, never an interrupt."""
    decided = decide_without_asking(ACTION, policy=policy, now=5.0, auto_approver=auto)
    if outcome is None:
        assert decided is None
        return
    assert decided is not None and decided.digest == ACTION.digest and decided.at == 5.0
    assert f"{type(decided).__name__}:{decided.approver}" == outcome


def _one_node(node: Callable[[State], State]) -> Any:
    builder = StateGraph(State)
    builder.add_node("gate", node)
    builder.add_edge(START, "gate")
    builder.add_edge("gate", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_vault_session_gate() -> None:
    seen: list[Any] = []

    def gate(state: State) -> State:
        seen.append(request_vault_session(
            run_id="r1", backend="local", vaults=("ACL",), plan_digest="sha256:" + "p" * 64,
            policy=Policy.default(), requested_at=100.0, now=200.0,
        ))  # fmt: skip
        return {}

    graph = _one_node(gate)
    (pending,) = graph.invoke({}, CONFIG)["__interrupt__"]
    request = VaultSessionRequest.from_payload(pending.value)
    assert request.vaults == ("ACL",) and request.expires_at == 3700.0
    graph.invoke(
        Command(resume=_answer(digest=request.digest, request_id=request.request_id)), CONFIG
    )
    assert seen == [Approved(request.digest, "ana", 200.0)]


@pytest.mark.parametrize(
    ("policy", "auto", "outcome"),
    [
        (Policy(actions={"vault_session": "allow"}), None, "Approved:policy"),
        (Policy(actions={"vault_session": "deny"}), "ci-bot", "Rejected:policy"),
        (Policy.default(), "ci-bot", "Approved:ci-bot"),
    ],
)
def test_the_vault_session_by_policy_or_auto_approval_never_interrupts(
    policy: Policy, auto: str | None, outcome: str
) -> None:
    seen: list[Any] = []

    def gate(state: State) -> State:
        decision = request_vault_session(
            run_id="r1", backend="local", vaults=("ACL",), plan_digest="sha256:" + "p" * 64,
            policy=policy, requested_at=100.0, now=200.0, auto_approver=auto,
        )  # fmt: skip
        seen.append(decision)
        return {"outcome": f"{type(decision).__name__}:{decision.approver}"}

    result = _one_node(gate).invoke({}, CONFIG)
    assert "__interrupt__" not in result and result["outcome"] == outcome
    assert len(seen) == 1


def test_vault_session_follows_its_own_rule() -> None:
    decision = request_vault_session(
        run_id="r1", backend="local", vaults=("ACL",), plan_digest="p",
        policy=Policy(default_rule="allow", actions={"vault_session": "deny"}),
        requested_at=100.0, now=200.0,
    )  # fmt: skip
    assert (
        isinstance(decision, Rejected) and decision.reason == "the policy denies the vault session"
    )


def test_human_step_gate() -> None:
    seen: list[Any] = []

    def gate(state: State) -> State:
        seen.append(request_human_step(
            run_id="r1", url="https://idp.test/check?ticket=abc", instructions="solve it"
        ))  # fmt: skip
        return {}

    graph = _one_node(gate)
    (pending,) = graph.invoke({}, CONFIG)["__interrupt__"]
    assert pending.value == {
        "kind": "human_step", "run_id": "r1", "url": "https://idp.test/check",
        "instructions": "solve it",
    }  # fmt: skip
    graph.invoke(Command(resume={"done": True, "by": "ana"}), CONFIG)
    assert seen == [HumanAck("ana")]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"ttl_seconds": 0}, ValueError),
        ({"ttl_seconds": float("inf")}, ValueError),
        ({"auto_approver": ""}, ValueError),
        ({"auto_approver": SECRET}, TypeError),
        ({"run_id": SECRET}, TypeError),
        ({"requested_at": SECRET}, TypeError),
    ],
)
def test_gate_arguments_are_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    args: dict[str, Any] = {"run_id": "r", "policy": Policy.default(), "requested_at": 0.0,
                            "now": 1.0}  # fmt: skip
    with pytest.raises(error):
        request_approval(ACTION, **{**args, **kwargs})


def test_no_broad_except_in_approvals() -> None:
    """Invariant 3: nothing in approvals could swallow LangGraph's ``GraphInterrupt``."""
    broad = {"Exception", "BaseException", "GraphInterrupt", "GraphBubbleUp"}
    for path in Path(approvals.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler):
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)} if (
                    node.type is not None) else {"<bare>"}  # fmt: skip
                reraises = any(isinstance(n, ast.Raise) and n.exc is None for n in node.body)
                assert reraises or not names & (broad | {"<bare>"}), f"{path.name}:{node.lineno}"
