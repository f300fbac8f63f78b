"""A scripted chat model, and agent runs on the embedded defaults (dev IdP, local vault, moto).

``ScriptedModel`` answers the n-th model turn of a conversation with the n-th entry of its
script (an ``AIMessage``, or a function of the messages so far that makes one): the same
conversation always gets the same answer, in this process or in another one resuming it.
``AgentRun`` drives ``vaultborn.runner.agent_runs`` on one ``tests.graph.kit.Harness``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from tests.graph.kit import Harness, embedded_run
from vaultborn.approvals.policy import Policy
from vaultborn.approvals.request import answer_for
from vaultborn.nodes.tools import TOOLS, ToolSpec
from vaultborn.runner.agent_runs import advance_agent, agent_start, view_agent
from vaultborn.runner.runs import RunView

Turn = AIMessage | Callable[[list[BaseMessage]], AIMessage]

AGENT_SECRET = "op://ACL/vaultborn dev — Auth0 M2M agent/password"
SOME_API = "op://ACL/vaultborn dev — Some API/password"
TARGET = "aws-secretsmanager://us-east-1/vaultborn-demo/some-api"
ITEM_TITLE = "Auth0 — agent@example.com"


class ScriptedModel(GenericFakeChatModel):
    """A fake chat model that plays a script, turn by turn, and accepts ``bind_tools``."""

    script: list[Any]
    messages: Any = iter(())
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound: list[dict[str, Any]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """The tools' schemas are checked to convert, then ignored: the script decides."""
        from langchain_core.utils.function_calling import convert_to_openai_tool

        self.bound = [convert_to_openai_tool(t) for t in tools]
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:  # fmt: skip
        self.seen.append(list(messages))
        turn = sum(1 for m in messages if isinstance(m, AIMessage))
        entry = self.script[turn] if turn < len(self.script) else AIMessage("done")
        reply = entry(messages) if callable(entry) else entry
        return ChatResult(generations=[ChatGeneration(message=reply)])


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    """One tool call of an ``AIMessage``."""
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def calls(*tool_calls: dict[str, Any], text: str = "") -> AIMessage:
    """A model turn that calls tools."""
    return AIMessage(text, tool_calls=list(tool_calls))


def result_of(messages: Sequence[BaseMessage], call_id: str) -> dict[str, Any]:
    """The JSON result of the tool call ``call_id`` (refusals and failures are text)."""
    (answer,) = [m for m in messages if isinstance(m, ToolMessage) and m.tool_call_id == call_id]
    assert answer.status == "success", answer.content
    loaded: dict[str, Any] = json.loads(str(answer.content))
    return loaded


def approve(view: RunView, approver: str = "ana") -> dict[str, Any]:
    """An approval of what ``view`` waits for."""
    assert view.waiting is not None, view
    return answer_for(view.waiting, "approve", approver=approver)


def reject(view: RunView, reason: str = "not now") -> dict[str, Any]:
    """A rejection of what ``view`` waits for."""
    assert view.waiting is not None, view
    return answer_for(view.waiting, "reject", approver="ana", reason=reason)


@dataclass
class AgentRun:
    """One agent thread on a harness, with a scripted model."""

    harness: Harness
    model: BaseChatModel
    run_id: str = "agent-1"
    tools: Sequence[ToolSpec] = TOOLS

    def start(self, task: str = "set things up") -> RunView:
        """Start the run with ``task``."""
        start = agent_start(self.run_id, task, vaults=["ACL"], now=time.time(), tools=self.tools)
        return self._go(start=start)

    def answer(self, answer: object) -> RunView:
        """Give the waiting gate ``answer``."""
        return self._go(answer=answer)

    def again(self) -> RunView:
        """Run again what is pending (after a failure)."""
        return self._go()

    def view(self) -> RunView:
        """Where the run is."""
        with self.harness.db.open() as saver:
            return view_agent(saver, self.run_id, self.tools)

    def _go(self, **kwargs: Any) -> RunView:
        h = self.harness
        return asyncio.run(
            advance_agent(h.db, h.deps, self.model, self.run_id, tools=self.tools, **kwargs)
        )


@contextmanager
def agent_harness(tmp_path: Path, policy: Policy | None = None) -> Iterator[Harness]:
    """An embedded harness where nobody approves automatically (``policy``: default ask)."""
    with embedded_run(tmp_path) as base:
        deps = dataclasses.replace(
            base.deps, auto_approver=None, policy=policy or Policy.default_policy()
        )
        yield dataclasses.replace(base, deps=deps)


def the_script() -> list[Turn]:
    """The done-when conversation: a read, then two writes (one approved, one rejected)."""
    return [
        calls(call("resolve_reference", "read-1", reference=AGENT_SECRET)),
        calls(
            call(
                "create_item",
                "write-1",
                vault="ACL",
                title=ITEM_TITLE,
                username="agent@example.com",
            ),
            call(
                "create_user",
                "write-2",
                email="agent@example.com",
                password=f"op://ACL/{ITEM_TITLE}/password",
            ),
        ),
        AIMessage("The item exists; the user was not created (rejected)."),
    ]


def scan_for(values: set[str], root: Path, texts: Sequence[str] = ()) -> None:
    """No value of ``values`` in any file under ``root`` (but the IdP's own) nor in ``texts``."""
    assert values, "nothing to look for: the scan would prove nothing"
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name.startswith("devidp.db"):
            continue  # the IdP keeps what any IdP keeps (password hashes, TOTP seeds)
        data = path.read_bytes()
        for value in values:
            assert value.encode() not in data, f"a secret rests in {path.name}"
    for text in texts:
        for value in values:
            assert value not in text, "a secret reached a message"


def message_texts(messages: Sequence[BaseMessage]) -> list[str]:
    """Everything a message carries that a model or a checkpoint would see."""
    out = []
    for m in messages:
        out.append(str(m.content))
        out.append(json.dumps(getattr(m, "tool_calls", []), ensure_ascii=False))
    return out
