"""The gate inside a real LangGraph graph, and the hash-chained audit log on a SQLite file."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from approvals.action import Action
from approvals.audit import AuditLog
from approvals.errors import DigestMismatch
from approvals.gate import request_approval
from approvals.policy import Policy
from approvals.request import Approved, Rejected

pytestmark = pytest.mark.robustness("approval integrity: gate and audit chain")

ACTION = Action("seed", {"to": "aws-secretsmanager://us-east-1/x"}, ("store.put",), "Seed x")


class State(TypedDict, total=False):
    outcome: str


def _graph(policy: Policy, auto: str | None = None) -> Any:
    ran: list[str] = []

    def gate(state: State) -> State:
        decision = request_approval(
            ACTION, run_id="r1", policy=policy, requested_at=100.0, now=200.0,
            auto_approver=auto,
        )  # fmt: skip
        ran.append(type(decision).__name__)
        return {"outcome": f"{type(decision).__name__}:{decision.approver}"}

    builder = StateGraph(State)
    builder.add_node("gate", gate)
    builder.add_edge(START, "gate")
    builder.add_edge("gate", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    graph.ran = ran  # type: ignore[attr-defined]
    return graph


CONFIG: Any = {"configurable": {"thread_id": "t"}}


def test_gate_interrupts_with_a_json_payload_then_takes_the_answer() -> None:
    graph = _graph(Policy.default_policy())
    first = graph.invoke({}, CONFIG)
    (pending,) = first["__interrupt__"]
    payload = pending.value
    assert json.loads(json.dumps(payload)) == payload
    assert payload["kind"] == "approval" and payload["digest"] == ACTION.digest
    assert payload["expires_at"] == 100.0 + 3600
    answer = {"decision": "approve", "digest": ACTION.digest, "approver": "ana"}
    done = graph.invoke(Command(resume=answer), CONFIG)
    assert done["outcome"] == "Approved:ana"


def test_tampered_digest_raises_out_of_the_graph() -> None:
    graph = _graph(Policy.default_policy())
    graph.invoke({}, CONFIG)
    answer = {"decision": "approve", "digest": "sha256:" + "1" * 64, "approver": "ana"}
    with pytest.raises(DigestMismatch):
        graph.invoke(Command(resume=answer), CONFIG)


@pytest.mark.parametrize(
    ("policy", "auto", "outcome"),
    [
        (Policy(actions={"seed": "allow"}), None, "Approved:policy"),
        (Policy(actions={"seed": "deny"}), None, "Rejected:policy"),
        (Policy.default_policy(), "ci-bot", "Approved:ci-bot"),
    ],
)
def test_policy_and_auto_approval_never_interrupt(
    policy: Policy, auto: str | None, outcome: str
) -> None:
    result = _graph(policy, auto).invoke({}, CONFIG)
    assert "__interrupt__" not in result
    assert result["outcome"] == outcome


def test_decisions_carry_the_digest() -> None:
    approved = request_approval(
        ACTION, run_id="r", policy=Policy(actions={"seed": "allow"}), requested_at=0, now=1
    )
    denied = request_approval(
        ACTION, run_id="r", policy=Policy(actions={"seed": "deny"}), requested_at=0, now=1
    )
    assert isinstance(approved, Approved) and approved.digest == ACTION.digest
    assert isinstance(denied, Rejected) and "denies seed" in denied.reason


@pytest.fixture
def audit(tmp_path: Path) -> Any:
    log = AuditLog(f"sqlite:///{tmp_path / 'state.db'}")
    for n in range(5):
        log.append("run-1", "effect", f"step{n}", {"n": n, "ref": "op://ACL/x/password"})
    yield log, tmp_path / "state.db"
    log.close()


def _sql(path: Path, statement: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(statement)


def test_chain_verifies(audit: Any) -> None:
    log, _ = audit
    verdict = log.verify()
    assert verdict.ok and verdict.rows == 5
    assert [e.subject for e in log.events("run-1")] == [f"step{n}" for n in range(5)]


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("UPDATE audit_events SET detail = '{\"n\":9}' WHERE seq = 3", "row 3 was changed"),
        ("DELETE FROM audit_events WHERE seq = 2", "row 2 is missing"),
        ("DELETE FROM audit_events WHERE seq = 5", None),  # the tail: see the note below
        (
            "UPDATE audit_events SET seq = 100 WHERE seq = 2; "
            "UPDATE audit_events SET seq = 2 WHERE seq = 4; "
            "UPDATE audit_events SET seq = 4 WHERE seq = 100",
            "does not follow",
        ),
    ],
)
def test_tampering_is_found(audit: Any, statement: str, says: str | None) -> None:
    log, path = audit
    _sql(path, statement)
    verdict = log.verify()
    if says is None:
        # Dropping the newest row leaves a valid shorter chain: only the row count shows it,
        # which is why the count is part of the verdict.
        assert verdict.ok and verdict.rows == 4
        return
    assert not verdict.ok
    assert says in verdict.problem


def test_audit_refuses_values(audit: Any) -> None:
    from vault.secret import Secret

    log, _ = audit
    with pytest.raises(TypeError, match="secret value"):
        log.append("run-1", "effect", "x", {"password": Secret("hunter2-hunter2")})
    with pytest.raises(TypeError, match="otpauth URI"):
        log.append("run-1", "effect", "x", {"uri": "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP"})


def test_concurrent_appends_keep_one_chain(audit: Any) -> None:
    log, path = audit
    other = AuditLog(f"sqlite:///{path}")

    def write(target: AuditLog, name: str) -> None:
        for n in range(20):
            target.append("run-2", "effect", f"{name}{n}", {"n": n})

    threads = [threading.Thread(target=write, args=(t, n)) for t, n in ((log, "a"), (other, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    verdict = log.verify()
    assert verdict.ok and verdict.rows == 45
