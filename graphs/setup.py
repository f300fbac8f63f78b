"""``build_graph()``: the setup state machine.

```
START → session_gate → [propose → gate → effect] × (create_item, create_user, enroll_totp)
      → [propose → gate → effect] per seed target → [propose → gate → verify] → END
```

A step that nobody needs to be asked about (the policy decides, or ``--auto-approve``) goes
from ``propose`` straight to its effect: the gate is there for the person.

A rejection at any gate ends the run (``status="rejected"``); an edit goes back to the step's
``propose`` (a new digest, asked again); a browser hand-off goes through ``human_step`` and
back into ``enroll_totp``, which looks at the page again. Effects retry transient errors.

The CLI passes the run's ``Deps`` as its context; a server (LangGraph Studio, ``langgraph dev``)
passes JSON, so ``runner.studio`` builds the same graph with ``served=`` (see ``graphs.served``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, overload

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy
from langgraph.typing import ContextT

from vaultborn.core.errors import TransientError
from vaultborn.graphs.served import ServedContext, serve_node
from vaultborn.graphs.state import SetupState
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.gating import effect_node, gate_node, propose_node
from vaultborn.nodes.session import human_step, session_gate
from vaultborn.nodes.steps import ORDER, STEPS

__all__ = ["build_graph"]


_RETRY = RetryPolicy(max_attempts=4, initial_interval=0.5, retry_on=TransientError)


@overload
def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None,
) -> CompiledStateGraph[SetupState, Deps, SetupState, SetupState]: ...


@overload
def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None, *, served: ServedContext[ContextT]
) -> CompiledStateGraph[SetupState, ContextT, SetupState, SetupState]: ...


def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None,
    *,
    served: ServedContext[Any] | None = None,
) -> CompiledStateGraph[SetupState, Any, SetupState, SetupState]:
    """The compiled setup graph; without ``checkpointer`` for LangGraph Studio / Server.

    The graph is compiled once per process; each call gives a copy bound to ``checkpointer``
    (compiling takes ~35 ms, a copy ~0.1 ms, and every move and look of a run asks for one).

    Args:
        checkpointer: Where runs are checkpointed; None leaves it to the caller (a server
            brings its own, and refuses a graph compiled with one).
        served: For a host whose runs carry JSON context: the context schema becomes
            ``served.schema`` and each node gets its ``Deps`` from ``served.deps``. None: the
            caller passes ``Deps`` as the run's context.
    """
    if served is not None:
        return _compile(served, checkpointer)
    compiled = _compiled_once()
    if checkpointer is None:
        return compiled
    return compiled.copy(update={"checkpointer": _with_allowlist(checkpointer, compiled)})


@functools.cache
def _compiled_once() -> CompiledStateGraph[SetupState, Any, SetupState, SetupState]:
    return _compile(None, None)


def _with_allowlist(
    checkpointer: BaseCheckpointSaver[str], compiled: CompiledStateGraph[Any, Any, Any, Any]
) -> BaseCheckpointSaver[str]:
    """``checkpointer`` allowing the state's types, as ``compile`` would have made it.

    With strict msgpack, ``compile`` derives an allowlist from the graph's schemas and gives
    the graph a copy of its checkpointer that allows them; a copied graph must do the same.
    """
    allowlist = getattr(compiled, "_serde_allowlist", None)
    if allowlist is None:
        return checkpointer
    return checkpointer.with_allowlist(allowlist)


def _compile(
    served: ServedContext[Any] | None, checkpointer: BaseCheckpointSaver[str] | None
) -> CompiledStateGraph[SetupState, Any, SetupState, SetupState]:
    schema = served.schema if served is not None else Deps
    builder: StateGraph[SetupState, Any, SetupState, SetupState] = StateGraph(
        SetupState, context_schema=schema
    )
    node: Callable[[Any], Any] = _as_is if served is None else lambda fn: serve_node(fn, served)
    # add_node's overloads reject these plain-dict nodes in some langgraph releases only.
    builder.add_node("session_gate", node(session_gate))  # type: ignore[call-overload, unused-ignore]
    builder.add_node("human_step", node(human_step))  # type: ignore[call-overload, unused-ignore]
    for name in ORDER:
        step = STEPS[name]
        builder.add_node(f"propose_{name}", node(propose_node(step)))
        builder.add_node(f"gate_{name}", node(gate_node(step)))
        builder.add_node(name, node(effect_node(step)), retry_policy=_RETRY)
    builder.add_edge(START, "session_gate")
    # The path maps name every target a route may return, so get_graph() (Studio, the
    # notebooks' picture) can draw the edges; without them it sees only START → session_gate.
    builder.add_conditional_edges(
        "session_gate", _after_session, [END, "propose_create_item", "session_gate"]
    )
    for here in ORDER:
        builder.add_conditional_edges(
            f"propose_{here}", _after_propose(here), [END, here, f"gate_{here}"]
        )
        builder.add_conditional_edges(
            f"gate_{here}", _after_gate(here), [END, here, f"propose_{here}"]
        )
        builder.add_conditional_edges(here, _after_effect(here), _effect_targets(here))
    builder.add_edge("human_step", "enroll_totp")
    builder.add_node("done", done)
    builder.add_edge("done", END)
    return builder.compile(checkpointer=checkpointer)


def _as_is(node: Any) -> Any:
    return node


def _after_session(state: SetupState) -> str:
    if state.get("status") == "rejected":
        return END
    return "propose_create_item" if state.get("session") else "session_gate"  # expired: ask anew


def _approved(name: str, state: SetupState) -> bool:
    """Whether the step's request is settled by an approval (the effect checks its digest)."""
    key = STEPS[name].gate_key(state)
    return key in state.get("approvals", {}) and not state.get("pending")


def _after_propose(name: str) -> Any:
    def route(state: SetupState) -> str:
        if state.get("status") == "rejected":
            return END  # the policy denied it
        return name if _approved(name, state) else f"gate_{name}"  # decided, or ask

    return route


def _after_gate(name: str) -> Any:
    def route(state: SetupState) -> str:
        if state.get("status") == "rejected":
            return END
        if _approved(name, state):
            return name
        return f"propose_{name}"  # edited: ask again with the new digest

    return route


def _after_effect(name: str) -> Any:
    def route(state: SetupState) -> str:
        if state.get("human"):
            return "human_step"
        return _next_step(name, state)

    return route


def _next_step(name: str, state: SetupState) -> str:
    """Where a run goes after an effect of ``name``.

    A repeat of it, else the next step that has work (a plan with no seed targets goes from the
    enrollment to the verification), else done.
    """
    if STEPS[name].repeats is not None and STEPS[name].left(state):
        return f"propose_{name}"
    later = ORDER[ORDER.index(name) + 1 :]
    return next((f"propose_{step}" for step in later if STEPS[step].left(state)), "done")


def _effect_targets(name: str) -> list[str]:
    """Every node ``_after_effect(name)`` may route to."""
    repeat = [f"propose_{name}"] if STEPS[name].repeats is not None else []
    later = [f"propose_{step}" for step in ORDER[ORDER.index(name) + 1 :]]
    return ["human_step", *repeat, *later, "done"]


def done(state: SetupState) -> SetupState:
    """The end of a completed run."""
    return {"status": "done", "pending": {}}
