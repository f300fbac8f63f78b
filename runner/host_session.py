"""One MCP session, one host run: the host's tool calls, one at a time, answered or waiting.

Transport-free: ``vaultborn.mcp_server`` turns each ``Outcome`` into an MCP tool result.

- A call is checked against its tool's schema *before* it reaches the run, so a refused
  argument (a pasted secret where an ``op://`` reference belongs) is answered naming the field
  and is never checkpointed or audited with its value.
- The first call starts the run (and asks for the vault session); reads then answer at once;
  an effect waits for a person. The call waits for the decision up to ``wait`` seconds, then
  answers "waiting for approval: …" with the commands to decide; the host calls the same tool
  with the same arguments again to poll, and gets the receipt once a person decided (the
  process that took the decision ran the effect).
- While a call waits, a different call is refused as busy: one call at a time, in order.
- A run that a crash left with work pending is moved on again before the next call (each
  effect looks up before it creates, so nothing happens twice).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from vaultborn.core.errors import VaultbornError
from vaultborn.nodes.agent_calls import next_call
from vaultborn.nodes.agent_state import AgentState
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.tools import TOOLS, ToolRefused, ToolSpec, checked_args
from vaultborn.runner.host_runs import (
    answer_of,
    call_key,
    host_start,
    last_call,
    move_host_run,
    offer_call,
    view_host_run,
    waiting_text,
)
from vaultborn.runner.leases import is_held
from vaultborn.runner.runs import RunView, StateDb

__all__ = ["HostSession", "Outcome", "new_host_run_id"]


def new_host_run_id() -> str:
    """A fresh host run id (``mcp-…``)."""
    return "mcp-" + secrets.token_hex(6)


@dataclass(frozen=True)
class Outcome:
    """What the host is told about one call.

    Attributes:
        status: ``answered``, ``waiting``, ``refused``, ``busy``, ``over`` or ``failed``.
        text: The tool's answer (JSON) or one line saying what happened.
        data: The tool's result as data, when it answered with one.
        is_error: Whether the host should take it as a failed call.
        run_id: The session's run.
    """

    status: str
    text: str
    run_id: str
    data: dict[str, Any] | None = None
    is_error: bool = False


def _waiting(view: RunView) -> dict[str, Any]:
    """What waits, as data: the run, the kind of request, the action and its digest."""
    waiting = view.waiting or {}
    action = waiting.get("action", {})
    return {"status": "waiting", "run_id": view.run_id, "kind": waiting.get("kind"),
            "action": action.get("name", "vault_session"), "digest": waiting.get("digest"),
            "approve": f"vaultborn approve {view.run_id}"}  # fmt: skip


class HostSession:
    """The run of one MCP session.

    Args:
        db: The run database.
        deps: The clients the tools use (and the policy, audit log, clock).
        plan: The plan whose systems serve the tools (kept in the run).
        client: The MCP client's name (and version), as it introduced itself.
        vaults: The vaults the vault session opens.
        run_id: The run (a new id, or an existing run to continue).
        wait: Seconds a call waits for a person's decision before answering "waiting".
        poll: Seconds between looks at the run while waiting.
        tools: The toolkit.
        sleep: Waits between looks (tests).
    """

    def __init__(self, db: StateDb, deps: Deps, plan: Mapping[str, Any], *, client: str,
                 vaults: Sequence[str], run_id: str, wait: float = 0.0, poll: float = 0.25,
                 tools: Sequence[ToolSpec] = TOOLS,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:  # fmt: skip
        self.db, self.deps, self.plan = db, deps, dict(plan)
        self.client, self.vaults, self.run_id = client, list(vaults), run_id
        self.wait, self.poll, self.tools = wait, poll, list(tools)
        self._named = {t.name: t for t in tools}
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._started = False
        self._later: dict[str, str] = {}
        """Calls the host stopped waiting for, by ``call_key``: their ids."""

    async def attach(self) -> RunView | None:
        """Continue ``run_id`` if it exists: run again what a crash left pending.

        Returns its view, or None for a new run.
        """
        try:
            view = await asyncio.to_thread(view_host_run, self.db, self.run_id, self.tools)
        except VaultbornError:
            return None
        self._started = True
        if view.status == "failed":
            view = await move_host_run(self.db, self.deps, self.run_id, tools=self.tools)
        latest = last_call(view.values)
        if latest is not None and latest["name"] in self._named:
            self._later[self._key(latest["name"], latest["args"])] = latest["id"]
        return view

    def _key(self, name: str, args: Mapping[str, Any]) -> str:
        try:
            return call_key(name, checked_args(self._named[name], args))
        except (KeyError, ToolRefused):
            return call_key(name, args)

    def _refused(self, subject: str, why: str) -> Outcome:
        self.deps.audit.append(self.run_id, "refused", subject, {"why": why})
        return Outcome("refused", f"refused: {why}", self.run_id, is_error=True)

    async def call(self, name: str, args: Mapping[str, Any]) -> Outcome:
        """Take the host's call of tool ``name``: its answer, or what it waits for."""
        spec = self._named.get(name)
        if spec is None:
            return self._refused(name, f"there is no tool {name!r}; use one of "
                                       f"{', '.join(self._named)}")  # fmt: skip
        try:
            checked = checked_args(spec, args)
        except ToolRefused as refused:  # names fields and problems, never the values
            return self._refused(name, str(refused))
        key = call_key(name, checked)
        async with self._lock:
            return await self._take(name, args, key)

    async def _take(self, name: str, args: Mapping[str, Any], key: str) -> Outcome:
        call_id: str | None = None
        if self._started:
            view = await self._view()
            if view.status == "failed" and not await asyncio.to_thread(
                is_held, self.db.url, self.run_id
            ):  # a crash left work pending (nobody is moving it): finish it first
                view = await move_host_run(self.db, self.deps, self.run_id, tools=self.tools)
            if view.status in ("rejected", "cancelled"):
                return self._over(view)
            pending = next_call(cast(AgentState, view.values))  # an agent run's values
            if pending is not None:
                if self._key(pending["name"], pending["args"]) != key:
                    return Outcome("busy", f"busy: {waiting_text(view)}", self.run_id,
                                   is_error=True)  # fmt: skip
                call_id = str(pending["id"])
            else:
                call_id = self._later.pop(key, None)
        if call_id is None:
            call_id = f"{name}-{secrets.token_hex(4)}"
            start = None if self._started else self._first_state()
            await offer_call(self.db, self.deps, self.run_id,
                             {"name": name, "args": dict(args), "id": call_id},
                             start=start, tools=self.tools)  # fmt: skip
            self._started = True
        return await self._outcome(call_id, key)

    def _first_state(self) -> dict[str, Any]:
        self.deps.audit.append(self.run_id, "session", "mcp", {"client": self.client})
        return host_start(self.run_id, self.client, vaults=self.vaults, plan=self.plan,
                          now=self.deps.clock(), tools=self.tools)  # fmt: skip

    async def view(self) -> RunView | None:
        """Where the session's run is (None before its first call)."""
        return await self._view() if self._started else None

    async def _view(self) -> RunView:
        return await asyncio.to_thread(view_host_run, self.db, self.run_id, self.tools)

    def _over(self, view: RunView) -> Outcome:
        why = view.reason or "the vault session was rejected"
        return Outcome("over", f"refused: {why}; this session's run {self.run_id} is over "
                               "(reconnect to start a new one)", self.run_id,
                       is_error=True)  # fmt: skip

    async def _outcome(self, call_id: str, key: str) -> Outcome:
        deadline = time.monotonic() + self.wait
        while True:
            view = await self._view()
            answered = answer_of(view.values, call_id)
            if answered is not None:
                text, data, error = answered
                return Outcome("answered", text, self.run_id, data=data, is_error=error)
            if view.status in ("rejected", "cancelled"):
                return self._over(view)
            moving = view.status != "waiting" and await asyncio.to_thread(
                is_held, self.db.url, self.run_id
            )  # another process (``vaultborn approve``) is moving the run on right now
            if view.status != "waiting" and not moving:
                reason = view.reason or f"the run is {view.status}"
                self._later[key] = call_id
                return Outcome("failed", f"failed: {reason}; call again to retry", self.run_id,
                               is_error=True)  # fmt: skip
            if time.monotonic() >= deadline:
                if moving:
                    self._later[key] = call_id
                    text = (f"being decided: another process is moving run {self.run_id} on "
                            "(a person's answer); call this tool again with the same arguments "
                            "for its outcome")  # fmt: skip
                    data = {"status": "waiting", "run_id": self.run_id}
                    return Outcome("waiting", text, self.run_id, data=data)
                self._later[key] = call_id
                return Outcome("waiting", waiting_text(view), self.run_id, data=_waiting(view))
            await self._sleep(self.poll)
