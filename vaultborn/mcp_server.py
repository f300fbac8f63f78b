"""The agent toolkit as an MCP server, on the official SDK's low-level ``Server``.

Each tool of ``nodes.tools.TOOLS`` is listed with its typed schema (the same pydantic model a
chat model's ``bind_tools`` gets) and hints (read-only for reads). A call goes to the MCP
session's run (``runner.host_session.HostSession``): the same gates, checkpoints and audit
log as every agent run. A session is keyed by the client's name and the transport's session:
one run per stdio process, one per ``Mcp-Session-Id`` over HTTP (per client while a modern,
session-less HTTP client talks to this process). One resource, ``vaultborn://session``, says
where the caller's run is and how a person answers it.

Nothing secret crosses: tool results are the toolkit's (references, versions, metadata),
refusals and errors are the project's one-line, value-free messages, and an unexpected error
is reported by its type only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext

from vaultborn import __version__
from vaultborn.core.errors import VaultbornError
from vaultborn.nodes.tools import TOOLS, ToolSpec
from vaultborn.runner.host_runs import waiting_text
from vaultborn.runner.host_session import HostSession, Outcome, new_host_run_id

__all__ = ["INSTRUCTIONS", "SESSION_URI", "Sessions", "build_server"]

SESSION_URI = "vaultborn://session"
INSTRUCTIONS = (
    "vaultborn manages credentials behind a person's approval. Secrets never reach you: tools "
    "take op:// references and return references, versions and metadata. The first call asks "
    "for the vault session; reads then answer at once, and every tool with side effects waits "
    "for a person. A tool that answers 'waiting for approval' is decided by a person with "
    "`vaultborn approve RUN` (or reject/edit), or in the approval inbox it names; call it "
    "again with the same arguments to get its outcome. A refusal is final: do not retry it "
    "unchanged."
)
_log = logging.getLogger("vaultborn.mcp")

OpenSession = Callable[[str, str], HostSession]
"""Makes the session of a client (its name) for a run id."""


class Sessions:
    """The runs of this server's MCP sessions, made on their first call.

    Args:
        open_session: Makes a ``HostSession`` for a client and run id.
        run_id: Serve this one run (an existing one is continued) instead of one per session.
    """

    def __init__(self, open_session: OpenSession, *, run_id: str | None = None) -> None:
        self._open = open_session
        self._fixed = run_id
        self._by_key: dict[tuple[str, str | None], HostSession] = {}
        self._lock = asyncio.Lock()

    async def of(self, client: str, transport_session: str | None) -> HostSession:
        """The session of ``client`` on ``transport_session`` (None: stdio, or session-less)."""
        key = ("", None) if self._fixed else (client, transport_session)
        async with self._lock:
            if key not in self._by_key:
                session = self._open(client, self._fixed or new_host_run_id())
                await session.attach()
                self._by_key[key] = session
            return self._by_key[key]


def _client_of(ctx: ServerRequestContext[Any]) -> str:
    params = ctx.session.client_params
    info = params.client_info if params is not None else None
    if info is None:
        return "an unnamed MCP client"
    return f"{info.name} {info.version}".strip()


def _transport_session(ctx: ServerRequestContext[Any]) -> str | None:
    request = ctx.request
    headers = getattr(request, "headers", None)
    return None if headers is None else headers.get("mcp-session-id")


def _tool(spec: ToolSpec) -> types.Tool:
    read = not spec.effects
    return types.Tool(
        name=spec.name,
        description=spec.description
        + ("" if read else " Waits for a person's approval (side effects: "
           + ", ".join(spec.effects) + ")."),
        input_schema=spec.schema.model_json_schema(by_alias=True),
        annotations=types.ToolAnnotations(
            read_only_hint=read, destructive_hint=False, idempotent_hint=True,
            open_world_hint=not read,
        ),
    )  # fmt: skip


def _result(outcome: Outcome) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=outcome.text)],
        structured_content=outcome.data,
        is_error=outcome.is_error,
    )


def build_server(sessions: Sessions, tools: Sequence[ToolSpec] = TOOLS) -> Server[Any]:
    """The MCP server: the tools, their calls through ``sessions``, and the session resource."""
    listed = [_tool(t) for t in tools]

    async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        session = await sessions.of(_client_of(ctx), _transport_session(ctx))
        try:
            outcome = await session.call(params.name, dict(params.arguments or {}))
        except VaultbornError as error:  # one line, value-free by the error tree's rule
            outcome = Outcome("failed", f"failed: {error}", session.run_id, is_error=True)
        except Exception as error:  # a bug: its type only, never a message that may hold data
            _log.error("internal error in %s (%s)", params.name, type(error).__name__)
            text = f"failed: internal error ({type(error).__name__}); see the server's log"
            outcome = Outcome("failed", text, session.run_id, is_error=True)
        return _result(outcome)

    async def list_resources(
        ctx: ServerRequestContext[Any], params: Any
    ) -> types.ListResourcesResult:
        resource = types.Resource(
            uri=SESSION_URI, name="session", mime_type="application/json",
            description="This MCP session's run: its id, status and what waits for a person.",
        )  # fmt: skip
        return types.ListResourcesResult(resources=[resource])

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if str(params.uri) != SESSION_URI:
            raise ValueError(f"no resource {params.uri}; there is {SESSION_URI}")
        session = await sessions.of(_client_of(ctx), _transport_session(ctx))
        view = await session.view()
        about: dict[str, Any] = {"run_id": session.run_id, "client": session.client,
                                 "status": view.status if view else "not started"}  # fmt: skip
        if view is not None and view.status == "waiting":
            about["waiting"] = waiting_text(view, session.inbox())
        text = json.dumps(about, ensure_ascii=False)
        contents = types.TextResourceContents(uri=SESSION_URI, text=text,
                                              mime_type="application/json")  # fmt: skip
        return types.ReadResourceResult(contents=[contents])

    return Server(
        "vaultborn",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )
