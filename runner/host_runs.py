"""Host runs: an agent run whose tool calls come from an MCP host instead of a chat model.

The agent graph (``graphs.agent``) lets a model decide the calls. In a host run the host
decides: each call is written into the run as the model's turn (``update_state`` as the
``agent`` node, so it is checkpointed before anything runs) and the run moves on from there
through the toolkit's own gates — the vault session once, reads at once, every effect asked.
When the tool has answered, the graph asks its model again; ``HostTurn`` hands the turn back
to the host. Otherwise it is an ordinary agent run: same checkpoints and audit log, and any
process with the run database can move it on (``vaultborn approve`` builds the ``Deps`` from
the plan the run keeps).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from vaultborn.approvals.action import canonical_json
from vaultborn.graphs.agent import build_agent_graph
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.tools import TOOLS, ToolSpec
from vaultborn.runner.agent_runs import advance_agent, agent_start, view_agent
from vaultborn.runner.leases import hold_run_async
from vaultborn.runner.run_kind import is_host_run
from vaultborn.runner.runs import RunView, StateDb

__all__ = [
    "HANDED_BACK",
    "HostTurn",
    "answer_of",
    "host_start",
    "is_host_run",
    "last_call",
    "move_host_run",
    "offer_call",
    "waiting_text",
]

HANDED_BACK = "(the turn goes back to the MCP host)"
"""What ``HostTurn`` says after each tool answer: the host decides what comes next."""


class HostTurn(BaseChatModel):
    """The model of a host run: it never calls a tool (the host does), it hands back."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> HostTurn:
        """The tools are the host's to call: nothing to bind."""
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:  # fmt: skip
        return ChatResult(generations=[ChatGeneration(message=AIMessage(HANDED_BACK))])

    @property
    def _llm_type(self) -> str:
        return "vaultborn-host-turn"


def host_start(run_id: str, client: str, *, vaults: Sequence[str], plan: Mapping[str, Any],
               now: float, tools: Sequence[ToolSpec] = TOOLS) -> dict[str, Any]:  # fmt: skip
    """The first state of a host run for the MCP client named ``client``."""
    task = f"Tool calls of the MCP client {client}"
    return {**agent_start(run_id, task, vaults=vaults, now=now, tools=tools),
            "client": client, "plan": dict(plan)}  # fmt: skip


def _config(run_id: str) -> Any:
    return {"configurable": {"thread_id": run_id}}


async def offer_call(
    db: StateDb,
    deps: Deps,
    run_id: str,
    call: Mapping[str, Any],
    *,
    start: dict[str, Any] | None = None,
    tools: Sequence[ToolSpec] = TOOLS,
) -> RunView:
    """Record the host's call as the run's next turn; move the run on until it answers or waits.

    Args:
        db: The run database.
        deps: The clients the tools use.
        run_id: The run.
        call: ``name``, ``args`` and ``id`` of the host's tool call.
        start: The first state (``host_start``) when the run begins with this call.
        tools: The toolkit.
    """
    turn = AIMessage("", tool_calls=[{**call, "type": "tool_call"}])
    first = dict(start or {})
    messages = [*first.pop("messages", []), turn]
    values = {**first, "messages": messages, "status": "running", "pending": {}}
    async with hold_run_async(db.url, run_id):
        async with db.open_async() as saver:
            graph = build_agent_graph(HostTurn(), tools=tools, checkpointer=saver)
            await graph.aupdate_state(_config(run_id), values, as_node="agent")
        return await move_host_run(db, deps, run_id, tools=tools, hold=False)


async def move_host_run(
    db: StateDb,
    deps: Deps,
    run_id: str,
    *,
    answer: object = None,
    tools: Sequence[ToolSpec] = TOOLS,
    hold: bool = True,
) -> RunView:
    """Move a host run on: with ``answer`` for its gate, or running again what is pending.

    Args:
        db: The run database.
        deps: The clients the tools use.
        run_id: The run.
        answer: The answer for the gate it waits at (None: run again what is pending).
        tools: The toolkit.
        hold: Take the run's lease while moving it (False when the caller holds it).
    """
    if not hold:
        return await advance_agent(db, deps, HostTurn(), run_id, answer=answer, tools=tools)
    async with hold_run_async(db.url, run_id):
        return await advance_agent(db, deps, HostTurn(), run_id, answer=answer, tools=tools)


def view_host_run(db: StateDb, run_id: str, tools: Sequence[ToolSpec] = TOOLS) -> RunView:
    """Where the host run is now."""
    with db.open() as saver:
        return view_agent(saver, run_id, tools)


def last_call(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The host's latest tool call in the run (answered or not)."""
    for message in reversed(values.get("messages", [])):
        if isinstance(message, AIMessage) and message.tool_calls:
            return dict(message.tool_calls[-1])
    return None


def answer_of(values: Mapping[str, Any], call_id: str) -> tuple[str, Any, bool] | None:
    """The answer of call ``call_id``: its text, its JSON (or None) and whether it is an error."""
    for message in values.get("messages", []):
        if isinstance(message, ToolMessage) and message.tool_call_id == call_id:
            text = str(message.content)
            if message.status == "error":
                return text, None, True
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            return text, data if isinstance(data, dict) else None, False
    return None


def waiting_text(view: RunView, inbox: str | None = None) -> str:
    """What the host is told while a person decides: what waits, and where it is answered.

    Args:
        view: The run.
        inbox: The address of an approval inbox serving now (``vaultborn inbox``), if any.
    """
    waiting = view.waiting or {}
    run = view.run_id
    if waiting.get("kind") == "vault_session":
        what = f"the vault session ({', '.join(waiting.get('vaults', []))}) before any tool runs"
    else:
        action = waiting.get("action", {})
        what = f"{action.get('name')}: {action.get('summary', '')}"
    where = (
        f"A person answers in the approval inbox at {inbox}runs/{run} (or with `vaultborn "
        f"approve {run}`)"
        if inbox
        else f"A person answers with `vaultborn approve {run}`, `vaultborn reject {run} "
        f"--reason TEXT` or `vaultborn edit {run} KEY=VALUE`"
    )
    return (
        f"waiting for approval: run {run} asks for {what} (digest "
        f"{str(waiting.get('digest', ''))[:19]}…). {where}; call this tool again with the same "
        "arguments for its outcome."
    )


def call_key(name: str, args: Mapping[str, Any]) -> str:
    """What makes two calls the same call: the tool and its checked arguments."""
    return canonical_json([name, dict(args)])
