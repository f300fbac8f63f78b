"""The agent graph's state: the conversation, decisions and statuses — never a value.

A TypedDict like the setup's (``nodes.state``): plain data at run time, for strict msgpack.
``graphs.agent`` re-exports it for the graph; the agent's nodes import it from here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

# On Python < 3.12 LangGraph's server (pydantic) derives a run's input schema only from
# typing_extensions' TypedDict, nested ones included.
from typing_extensions import TypedDict

from vaultborn.nodes.state import ApprovalRecord, Asked, PlanData, SessionRecord

__all__ = ["AgentState", "PendingCall"]


class PendingCall(Asked, total=False):
    """A tool call's approval request (``agent_calls.propose_call``); empty once answered."""

    call_id: str
    """The model's id of the tool call."""


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
    session: SessionRecord
    """The vault-session approval: ``approver``, ``at``."""
    pending: PendingCall
    """The approval request of the current call: ``call_id``, ``action``, ``digest``, times."""
    approvals: dict[str, ApprovalRecord]
    """Per tool-call id: ``digest``, ``approver``, ``at`` of the decision that allows it."""
    edits: dict[str, dict[str, Any]]
    """Per tool-call id: the arguments a person changed (asked again with a new digest)."""
    status: Literal["running", "done", "rejected", "cancelled"]
    """Where the run is."""
    reason: str
    """Why it stopped or was asked again, when it was."""
    client: str
    """Host runs (``runner.host_runs``): the MCP client whose tool calls these are."""
    plan: PlanData
    """Host runs: the plan whose vault, IdP and stores serve the tools, so that any process
    (``vaultborn approve``) can build the run's ``Deps`` and move it on."""
