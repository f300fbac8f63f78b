"""``build_agent_graph()``: a tool-calling loop over any chat model, every call behind a gate.

```
START → agent ─┬─ (no tool call) → END
               └─ [vault_session once] → propose_call → gate_call ─┬─ call_tool ─┐
                          ▲                                        ├─ (edited, refused answer)
                          └────── next call of the turn ◄──────────┴─ (rejected) ◄┘
                                  (none left: back to agent)
```

The model is any langchain-core chat model with ``bind_tools``; the tools are
``nodes.tools.TOOLS`` (or the caller's). The first tool call of a thread asks for the vault
session; then each call is proposed as an ``Action``, gated by the policy (allow, ask, deny)
and run, one after another in the model's order. A rejection becomes a refusal
``ToolMessage`` the model reads, and the loop goes on. The state holds messages (whose tool
results are references and metadata), decisions and statuses — plain data for strict msgpack;
the model and ``Deps`` are not state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, SystemMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy
from typing_extensions import TypedDict

from vaultborn.core.errors import TransientError, UsageError
from vaultborn.nodes.agent_calls import (
    agent_session,
    gate_call,
    next_call,
    propose_call,
    run_call,
    tools_by_name,
)
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.tools import TOOLS, ToolSpec

__all__ = ["SYSTEM", "AgentState", "build_agent_graph"]

SYSTEM = (
    "You manage credentials through tools. Secrets never reach you: tools take op:// "
    "references and return references, versions and metadata. Tools with side effects wait "
    "for a person's approval; a refusal comes back as the tool's answer — do not retry it "
    "unchanged."
)
"""The system prompt put before the conversation (``system=`` replaces it)."""

_RETRY = RetryPolicy(max_attempts=4, initial_interval=0.5, retry_on=TransientError)


class AgentState(TypedDict, total=False):
    """One agent run's checkpointed state."""

    run_id: str
    """The run (and LangGraph thread) id."""
    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: tool results are JSON of references and metadata, never a value."""
    vaults: list[str]
    """The vaults the vault session approves."""
    toolkit: str
    """The digest of the tools and their effects (what the vault session approves)."""
    started_at: float
    """When the vault session was first asked (stable across re-runs)."""
    session_ttl: float
    """How long the vault-session request stays answerable, fixed when it is asked."""
    session: dict[str, Any]
    """The vault-session approval: ``approver``, ``at``."""
    pending: dict[str, Any]
    """The approval request of the current call: ``call_id``, ``action``, ``digest``, times."""
    approvals: dict[str, dict[str, Any]]
    """Per tool-call id: ``digest``, ``approver``, ``at`` of the decision that allows it."""
    edits: dict[str, dict[str, Any]]
    """Per tool-call id: the arguments a person changed (asked again with a new digest)."""
    status: Literal["running", "done", "rejected"]
    """Where the run is."""
    reason: str
    """Why it stopped or was asked again, when it was."""
    client: str
    """Host runs (``runner.host_runs``): the MCP client whose tool calls these are."""
    plan: dict[str, Any]
    """Host runs: the plan whose vault, IdP and stores serve the tools, so that any process
    (``vaultborn approve``) can build the run's ``Deps`` and move it on."""


def build_agent_graph(
    model: BaseChatModel | None,
    *,
    tools: Sequence[ToolSpec] = TOOLS,
    checkpointer: BaseCheckpointSaver[str] | None = None,
    system: str = SYSTEM,
) -> CompiledStateGraph[AgentState, Deps, AgentState, AgentState]:
    """The compiled agent graph; the run's ``Deps`` is its context.

    Args:
        model: The chat model (its ``bind_tools`` gets the tools' schemas); None builds a
            graph only for looking at runs (``get_state``), which refuses to call a model.
        tools: The tools it may call.
        checkpointer: Where runs are checkpointed (``graphs.checkpoint``).
        system: The system prompt ("" for none).
    """
    named = tools_by_name(tools)
    bound = model.bind_tools([t.as_tool() for t in tools]) if model is not None else None

    async def agent(state: AgentState) -> dict[str, Any]:
        if bound is None:
            raise UsageError("this agent graph was built without a model")
        prompt = [SystemMessage(system)] if system else []
        reply = await bound.ainvoke([*prompt, *state.get("messages", [])])
        if not isinstance(reply, AIMessage):  # pragma: no cover - chat models answer so
            raise TypeError(f"the model answered {type(reply).__name__}, not an AIMessage")
        return {"messages": [reply], "status": "running"}

    builder: StateGraph[AgentState, Deps, AgentState, AgentState] = StateGraph(
        AgentState, context_schema=Deps
    )
    builder.add_node("agent", agent, retry_policy=_RETRY)
    # add_node's overloads reject these plain-dict nodes in some langgraph releases only.
    builder.add_node("vault_session", agent_session)  # type: ignore[call-overload, unused-ignore]
    builder.add_node("propose_call", propose_call(named))
    builder.add_node("gate_call", gate_call)  # type: ignore[call-overload, unused-ignore]
    builder.add_node("call_tool", run_call(named), retry_policy=_RETRY)
    builder.add_node("done", done)  # type: ignore[call-overload, unused-ignore]
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", _after_agent, ["done", "vault_session", "propose_call"])
    builder.add_conditional_edges(
        "vault_session", _after_session, [END, "vault_session", "propose_call"]
    )
    builder.add_conditional_edges("propose_call", _after_propose, ["gate_call", *_NEXT])
    builder.add_conditional_edges("gate_call", _after_gate, ["call_tool", *_NEXT])
    builder.add_conditional_edges("call_tool", _next, _NEXT)
    builder.add_edge("done", END)
    return builder.compile(checkpointer=checkpointer)


_NEXT = ["propose_call", "agent"]


def _next(state: AgentState) -> str:
    """The next call of the turn, else back to the model."""
    return "propose_call" if next_call(state) is not None else "agent"


def _after_agent(state: AgentState) -> str:
    if next_call(state) is None:
        return "done"
    return "propose_call" if state.get("session") else "vault_session"


def _after_session(state: AgentState) -> str:
    if state.get("status") == "rejected":
        return END
    return "propose_call" if state.get("session") else "vault_session"  # refused: ask anew


def _after_propose(state: AgentState) -> str:
    return "gate_call" if state.get("pending") else _next(state)  # refused: answered already


def _after_gate(state: AgentState) -> str:
    call = next_call(state)
    if call is not None and call["id"] in state.get("approvals", {}):
        return "call_tool"
    return _next(state)  # rejected (answered), edited or refused (proposed anew)


def done(state: AgentState) -> dict[str, Any]:
    """The model answered without calling a tool: the run is done."""
    return {"status": "done", "pending": {}}
