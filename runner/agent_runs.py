"""Agent runs: start one with a task, move it on with an answer for its gate, look at it.

The same contract as ``vaultborn.runner.runs`` for setup runs: a run is one LangGraph thread in the
run database (``StateDb``), checkpointed with ``durability="sync"``; an answer goes only to
the interrupt the run waits at; any process with the database, the ``Deps`` and the model can
move the run on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from vaultborn.core.errors import RunStateError, UsageError
from vaultborn.graphs.agent import AgentState, build_agent_graph
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.tools import TOOLS, ToolSpec, toolkit_digest
from vaultborn.runner.runs import RunView, StateDb, snapshot_view

__all__ = ["RECURSION_LIMIT", "advance_agent", "agent_start", "view_agent"]

RECURSION_LIMIT = 200
"""Graph steps per ``advance_agent``: a model turn, then three per tool call."""


def agent_start(
    run_id: str, task: str, *, vaults: Sequence[str], now: float,
    tools: Sequence[ToolSpec] = TOOLS,
) -> AgentState:  # fmt: skip
    """The input of a new agent run: the person's task and the vaults it may use."""
    return {
        "run_id": run_id,
        "messages": [HumanMessage(task)],
        "vaults": list(vaults),
        "toolkit": toolkit_digest(tools),
        "started_at": now,
        "status": "running",
    }


def _config(run_id: str) -> Any:
    return {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT}


def view_agent(
    saver: BaseCheckpointSaver[str], run_id: str, tools: Sequence[ToolSpec] = TOOLS
) -> RunView:
    """Where the agent run is (``waiting`` with the interrupt payload, ``done`` …).

    Raises:
        UsageError: There is no agent run with that id.
    """
    snapshot = build_agent_graph(None, tools=tools, checkpointer=saver).get_state(_config(run_id))
    if not snapshot.values:
        raise UsageError(f"no agent run {run_id!r}")
    return snapshot_view(run_id, snapshot)


async def advance_agent(
    db: StateDb,
    deps: Deps,
    model: BaseChatModel,
    run_id: str,
    *,
    start: AgentState | None = None,
    answer: object = None,
    tools: Sequence[ToolSpec] = TOOLS,
) -> RunView:
    """Run the agent ``run_id`` until it is done or waits.

    From ``start`` (``agent_start``), with ``answer`` for the gate it waits at, or — neither —
    by running again what is pending (after a crash, or with a changed policy).

    Raises:
        RunStateError: ``answer`` was given but the run waits for nothing (audited).
    """
    if start is not None:
        payload: Any = start
    elif answer is not None:
        with db.open() as viewer:
            view = view_agent(viewer, run_id, tools)
        if view.status != "waiting" or not view.interrupt_id:
            deps.audit.append(run_id, "refused", "answer", {"why": f"the run is {view.status}"})
            raise RunStateError(f"run {run_id} is not waiting for an answer (it is {view.status})")
        # Keyed by the id it waits at: an answer never picks its own interrupt.
        payload = Command(resume={view.interrupt_id: answer})
    else:
        payload = None
    async with db.open_async() as saver:
        graph = build_agent_graph(model, tools=tools, checkpointer=saver)
        await graph.ainvoke(
            payload, _config(run_id), context=deps.for_run(run_id), durability="sync"
        )
    with db.open() as viewer:
        return view_agent(viewer, run_id, tools)
