"""The agent's tool calls, one at a time: propose, gate, call — the setup's three nodes again.

A model turn may ask for several tool calls; they are taken in the order the model gave them,
one ``propose → gate → call`` pass each, so every approval is its own interrupt (its own task,
hence its own interrupt id) and the order of effects never depends on timing.

- ``propose_call``: checks the next unanswered call's arguments against its tool's schema
  (a refused call is answered at once with an error ``ToolMessage``) and records the
  ``Action`` as ``pending`` with the time it was first asked.
- ``gate_call``: only ``request_approval`` (interrupt, unless the policy decides) and the
  parsing of its answer, which must name the run, the request and the action's digest (two
  calls of one tool with the same arguments are two requests). A rejection answers the call
  with a refusal ``ToolMessage``: the model sees it and goes on.
- ``run_call``: refuses to run without an approval of the exact action's digest, runs the tool
  and answers the call with its result (references and metadata). ``GraphBubbleUp`` (an
  interrupt inside a tool) is re-raised before any other handler sees it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime

from vaultborn.approvals.action import Action, canonical_json
from vaultborn.approvals.request import Approved, Edited, Rejected, new_request_id
from vaultborn.core.errors import TransientError, VaultbornError
from vaultborn.nodes.agent_state import AgentState
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.gating import REFUSED, ApprovalMissing, ask_pending, require_audited
from vaultborn.nodes.session import ask_session
from vaultborn.nodes.state import ApprovalRecord, SessionUpdate
from vaultborn.nodes.tools import ToolRefused, ToolSpec, checked_args

__all__ = [
    "agent_session",
    "call_key",
    "gate_call",
    "next_call",
    "propose_call",
    "run_call",
    "tools_by_name",
]


def next_call(state: AgentState) -> dict[str, Any] | None:
    """The first tool call of the last model turn that has no answer yet (None: all have)."""
    messages = state.get("messages", [])
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            return next((dict(c) for c in message.tool_calls if c["id"] not in answered), None)
    return None


def call_key(call: Mapping[str, Any]) -> str:
    """How the audit log names one call: ``tool[call id]``."""
    return f"{call['name']}[{call['id']}]"


def _answer(call: Mapping[str, Any], content: str, *, error: bool) -> ToolMessage:
    return ToolMessage(
        content=content,
        tool_call_id=call["id"],
        name=call["name"],
        status="error" if error else "success",
    )


def _action(tools: Mapping[str, ToolSpec], call: Mapping[str, Any], state: AgentState) -> Action:
    """The action of ``call`` now, with a person's edits applied (checked by the schema).

    Raises:
        ToolRefused: No such tool, or the arguments do not fit its schema.
    """
    spec = tools.get(call["name"])
    if spec is None:
        raise ToolRefused(f"there is no tool {call['name']!r}; use one of {', '.join(tools)}")
    args = checked_args(spec, call["args"])
    edits = state.get("edits", {}).get(call["id"])
    return spec.action(checked_args(spec, {**args, **edits}) if edits else args)


def agent_session(state: AgentState, runtime: Runtime[Deps]) -> SessionUpdate:
    """Ask once per thread for the vault session every later read of the agent uses.

    The session approves the vaults named in the state for the toolkit (``toolkit`` digest:
    the tools and their effects); reads then pass without a prompt, effects are still gated.
    """
    return ask_session(
        state,
        runtime.context,
        vaults=tuple(state["vaults"]),
        digest=state["toolkit"],
        detail={"toolkit": state["toolkit"]},
    )


def propose_call(tools: Mapping[str, ToolSpec]) -> Any:
    """The node that records the next call's pending approval request."""

    def propose_call(state: AgentState, runtime: Runtime[Deps]) -> AgentState:
        deps, call = runtime.context, next_call(state)
        if call is None:  # pragma: no cover - routed here only with a call waiting
            return {}
        try:
            action = _action(tools, call, state)
        except ToolRefused as refused:
            deps.audit.append(state["run_id"], "refused", call_key(call), {"why": str(refused)})
            return {"messages": [_answer(call, f"{REFUSED}{refused}", error=True)], "pending": {}}
        pending = state.get("pending") or {}
        if pending.get("call_id") == call["id"] and pending.get("digest") == action.digest:
            return {}  # asked already (a re-run): keep the first request time
        return {
            "pending": {
                "call_id": call["id"],
                "action": action.to_payload(),
                "digest": action.digest,
                "request_id": new_request_id(),
                "requested_at": deps.clock(),
                "ttl_seconds": deps.approval_ttl,
            }
        }

    return propose_call


def gate_call(state: AgentState, runtime: Runtime[Deps]) -> AgentState:
    """Ask for the pending call's approval (interrupting unless the policy decides)."""
    deps, pending, run_id = runtime.context, state["pending"], state["run_id"]
    call = next_call(state)
    if call is None or call["id"] != pending["call_id"]:  # pragma: no cover - state invariant
        return {"pending": {}}
    action, key = Action.from_payload(pending["action"]), call_key(call)
    decision = ask_pending(action, key, run_id, pending, deps, detail={"tool": action.name})
    if isinstance(decision, str):
        return {"pending": {}, "reason": decision}
    if isinstance(decision, Approved):
        record: ApprovalRecord = {
            "digest": decision.digest, "approver": decision.approver, "at": decision.at
        }  # fmt: skip
        return {"approvals": {**state.get("approvals", {}), call["id"]: record},
                "pending": {}, "reason": ""}  # fmt: skip
    if isinstance(decision, Edited):
        edits = {**state.get("edits", {}), call["id"]: dict(decision.action.args)}
        return {"edits": edits, "pending": {}, "reason": ""}
    if not isinstance(decision, Rejected):  # pragma: no cover - Decision has three kinds
        raise TypeError(f"unknown decision {decision!r}")
    by = "the policy" if decision.approver == "policy" else decision.approver
    refusal = f"{REFUSED}{action.name} was rejected by {by}: {decision.reason}"
    return {"messages": [_answer(call, refusal, error=True)], "pending": {}, "reason": ""}


def run_call(tools: Mapping[str, ToolSpec]) -> Any:
    """The node that performs the next call once its exact action is approved."""

    async def run_call(state: AgentState, runtime: Runtime[Deps]) -> AgentState:
        deps, call = runtime.context, next_call(state)
        if call is None:  # pragma: no cover - routed here only with a call waiting
            return {}
        action, key = _action(tools, call, state), call_key(call)
        approved = state.get("approvals", {}).get(call["id"])
        if approved is None or approved["digest"] != action.digest:
            raise ApprovalMissing(f"{key} has no approval for the action it would perform now")
        await require_audited(deps, state["run_id"], key, action.digest)
        try:
            result = await tools[action.name].invoke(action.args, deps)
        except GraphBubbleUp:  # an interrupt inside the tool: the run must stop there
            raise
        except TransientError:  # the node's retry policy handles these
            raise
        except VaultbornError as failed:  # one line, value-free by the error tree's rule
            deps.audit.append(state["run_id"], "failed", key, {"why": str(failed)})
            return {"messages": [_answer(call, f"failed: {failed}", error=True)]}
        kind = "effect" if action.effects else "read"
        deps.audit.append(state["run_id"], kind, key, _scalars(result))
        return {"messages": [_answer(call, canonical_json(result), error=False)]}

    return run_call


def _scalars(result: Mapping[str, Any]) -> dict[str, Any]:
    """The result as audit detail: scalars only (ids, references, versions, statuses)."""
    return {k: v for k, v in result.items() if isinstance(v, str | int | float | bool)}


def tools_by_name(tools: Sequence[ToolSpec]) -> dict[str, ToolSpec]:
    """``tools`` by name; two tools of one name are refused."""
    named = {t.name: t for t in tools}
    if len(named) != len(tools):
        raise ValueError("two tools share a name")
    return named
