"""``build_lifecycle_graph(kind)``: the state machine of a rotate, revoke or drift run.

```
START → session_gate → [propose → gate → effect] per step of LIFECYCLES[kind] → done → END
```

The setup graph's shape (``graphs.setup``) over another list of steps, with the same nodes: the
vault session once, then for each step ``propose`` (the action, or the policy's decision),
``gate`` (the interrupt, where a person answers) and the effect, which runs only with an
approval of its exact digest. A step done once per plan entry repeats. A rejection ends the
run; an edit asks again with the new digest. Effects retry transient errors.
"""

from __future__ import annotations

import functools
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from vaultborn.core.errors import TransientError, UsageError
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.gating import effect_node, gate_node, propose_node
from vaultborn.nodes.lifecycle_state import LifecycleState
from vaultborn.nodes.lifecycle_steps import LIFECYCLES
from vaultborn.nodes.session import session_gate
from vaultborn.nodes.state import SetupState
from vaultborn.nodes.steps import GatedStep

__all__ = ["build_lifecycle_graph"]

_RETRY = RetryPolicy(max_attempts=4, initial_interval=0.5, retry_on=TransientError)

Compiled = CompiledStateGraph[LifecycleState, Deps, LifecycleState, LifecycleState]


def build_lifecycle_graph(
    kind: str, checkpointer: BaseCheckpointSaver[str] | None = None
) -> Compiled:
    """The compiled graph of a ``kind`` run (``drift``, ``revoke``, ``rotate:<what>``).

    Compiled once per kind and process; each call gives a copy bound to ``checkpointer``.

    Raises:
        UsageError: ``kind`` is not one of ``nodes.lifecycle_steps.KINDS``.
    """
    if kind not in LIFECYCLES:
        raise UsageError(f"no lifecycle {kind!r} (one of {', '.join(LIFECYCLES)})")
    compiled = _compiled_once(kind)
    if checkpointer is None:
        return compiled
    allowlist = getattr(compiled, "_serde_allowlist", None)
    bound = checkpointer if allowlist is None else checkpointer.with_allowlist(allowlist)
    return compiled.copy(update={"checkpointer": bound})


@functools.cache
def _compiled_once(kind: str) -> Compiled:
    steps = LIFECYCLES[kind]
    order = [step.name for step in steps]
    # A step's name is its node's: one graph cannot hold a step twice.
    assert len(set(order)) == len(order), order  # noqa: S101
    builder: StateGraph[LifecycleState, Deps, LifecycleState, LifecycleState] = StateGraph(
        LifecycleState, context_schema=Deps
    )
    # add_node's overloads reject these plain-dict nodes in some langgraph releases only.
    builder.add_node("session_gate", session_gate)  # type: ignore[call-overload, unused-ignore]
    # The gating nodes annotate their input as SetupState, and LangGraph passes a node only the
    # keys its annotation names: without the lifecycle's schema here, a step whose arguments
    # come from an earlier step's record (retire_previous reads ``rotated``) would not see it.
    # The routes below are annotated LifecycleState for the same reason (LangGraph reads a
    # branch's input schema from its function's annotation).
    full = LifecycleState
    for step in steps:
        builder.add_node(f"propose_{step.name}", propose_node(step), input_schema=full)
        builder.add_node(f"gate_{step.name}", gate_node(step), input_schema=full)
        builder.add_node(step.name, effect_node(step), retry_policy=_RETRY, input_schema=full)
    builder.add_node("done", _done)  # type: ignore[call-overload, unused-ignore]
    builder.add_edge(START, "session_gate")
    firsts = [f"propose_{name}" for name in order]
    builder.add_conditional_edges(
        "session_gate", _after_session(steps), [END, *firsts, "done", "session_gate"]
    )
    for i, step in enumerate(steps):
        here = step.name
        builder.add_conditional_edges(
            f"propose_{here}", _after_propose(step), [END, here, f"gate_{here}"]
        )
        builder.add_conditional_edges(
            f"gate_{here}", _after_gate(step), [END, here, f"propose_{here}"]
        )
        later = steps[i + 1 :]
        targets = [f"propose_{s.name}" for s in later] + ["done", END]
        if step.repeats is not None:
            targets.insert(0, f"propose_{here}")
        builder.add_conditional_edges(here, _after_effect(step, later), targets)
    builder.add_edge("done", END)
    return builder.compile()


def _after_session(steps: tuple[GatedStep, ...]) -> Any:
    def route(state: LifecycleState) -> str:
        if state.get("status") == "rejected":
            return END
        if not state.get("session"):
            return "session_gate"  # expired: ask anew
        return next((f"propose_{s.name}" for s in steps if s.left(state)), "done")

    return route


def _approved(step: GatedStep, state: LifecycleState) -> bool:
    """Whether the step's request is settled by an approval (the effect checks its digest)."""
    return step.gate_key(state) in state.get("approvals", {}) and not state.get("pending")


def _after_propose(step: GatedStep) -> Any:
    def route(state: LifecycleState) -> str:
        if state.get("status") == "rejected":
            return END  # the policy denied it
        return step.name if _approved(step, state) else f"gate_{step.name}"

    return route


def _after_gate(step: GatedStep) -> Any:
    def route(state: LifecycleState) -> str:
        if state.get("status") == "rejected":
            return END
        return step.name if _approved(step, state) else f"propose_{step.name}"

    return route


def _after_effect(step: GatedStep, later: tuple[GatedStep, ...]) -> Any:
    def route(state: LifecycleState) -> str:
        if state.get("human"):
            return END  # no lifecycle effect hands off; should one, the run waits as it is
        if step.repeats is not None and step.left(state):
            return f"propose_{step.name}"
        return next((f"propose_{s.name}" for s in later if s.left(state)), "done")

    return route


def _done(state: SetupState) -> SetupState:
    """The end of a completed run."""
    return {"status": "done", "pending": {}}
