"""``vaultborn mcp``: the agent toolkit for MCP hosts, over stdio or streamable HTTP.

stdio (the default) is what desktop hosts start: one process, one session, one run. With
``--http`` the server listens on 127.0.0.1 only, at ``/mcp``, and every request must carry
``Authorization: Bearer <token>``: the token is ``$VAULTBORN_MCP_TOKEN`` or the content of
the token file (``$VAULTBORN_HOME/mcp.token``, made on first use, mode 0600), never printed.
The ``mcp`` package (extra ``vaultborn[mcp]``) is imported only when the command runs.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from vaultborn.cli.options import DbOpt, finite
from vaultborn.core.errors import ConfigurationError, UsageError
from vaultborn.runner.wiring import Settings

__all__ = ["register_mcp_command"]

TOKEN_ENV = "VAULTBORN_MCP_TOKEN"  # noqa: S105 (a variable's name)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def register_mcp_command(app: typer.Typer) -> None:
    """Add ``mcp`` to ``app``."""
    app.command("mcp", rich_help_panel="Servers")(mcp_command)


def mcp_command(
    ctx: typer.Context,
    http: Annotated[
        bool, typer.Option("--http", help="Streamable HTTP on 127.0.0.1 instead of stdio.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="With --http: the port (0: a free one).")] = 0,
    url_file: Annotated[
        Path | None, typer.Option("--url-file", help="With --http: write the URL here.")
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="With --http: the bearer token's file "
                     "(default $VAULTBORN_HOME/mcp.token)."),
    ] = None,
    plan: Annotated[
        Path | None, typer.Option("--plan", help="The plan whose vault, IdP and stores serve.")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Approval policy (TOML) by tool name.")
    ] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", help="Continue this run (after a crash), for every session."),
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=0, max=600, callback=finite,
                            help="Seconds a tool call waits for a person before answering "
                                 "'waiting for approval'.")
    ] = 20.0,
    db: DbOpt = None,
) -> None:  # fmt: skip
    """Serve the agent toolkit to MCP hosts, every call behind the same gates."""
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "vaultborn mcp needs the MCP SDK: pip install 'vaultborn[mcp]'"
        ) from None
    if not http and (url_file or token_file or port):
        raise UsageError("--port, --url-file and --token-file go with --http")
    settings: Settings = ctx.obj
    token = _token(settings, token_file) if http else b""
    with _served(settings, plan, policy, run, wait, db) as sessions:
        if http:
            asyncio.run(_serve_http(sessions, token, port, url_file))
        else:
            asyncio.run(_serve_stdio(sessions))


@contextmanager
def _served(settings: Settings, plan_path: Path | None, policy_path: Path | None,
            run_id: str | None, wait: float, db: str | None) -> Iterator[Any]:  # fmt: skip
    """The server's sessions, over the plan's systems (started for the block)."""
    from vaultborn.approvals.policy import Policy
    from vaultborn.cli.driving import approval_ttl, plan_for
    from vaultborn.graphs.checkpoint import prepare_database
    from vaultborn.mcp_server import Sessions
    from vaultborn.nodes.steps import STEPS
    from vaultborn.nodes.tools import TOOLS
    from vaultborn.runner.host_session import HostSession
    from vaultborn.runner.inbox_link import serving_inbox
    from vaultborn.runner.run_kind import is_host_run
    from vaultborn.runner.runs import view_run
    from vaultborn.runner.runtime import RunOptions, open_runtime
    from vaultborn.runner.state_db import home_of, keys_home, state_db
    from vaultborn.runner.wiring import open_vault

    loaded = plan_for(plan_path, settings)
    known = {*STEPS, *(t.name for t in TOOLS)}
    rules = Policy.from_file(policy_path, known=known) if policy_path else Policy.default()
    keys_in = keys_home(settings, loaded.vault.backend, loaded.vault.name)
    run_db = state_db(settings, db, make_keys_in=keys_in)
    prepare_database(run_db.url)
    if run_id is not None:  # a typo must not start a fresh run under the wrong name
        with run_db.open() as saver:
            if not is_host_run(view_run(saver, run_id).values):
                raise UsageError(f"run {run_id} is not an MCP session's run")
    with ExitStack() as stack:
        audit = run_db.audit_log()
        stack.callback(audit.close)
        opts = RunOptions(policy=rules, audit=audit, approval_ttl=approval_ttl())
        vault = open_vault(settings.for_plan(loaded.vault.backend))
        plan = loaded.to_dict()
        deps = stack.enter_context(open_runtime(vault, plan, home_of(settings), opts))

        def open_session(client: str, run: str) -> HostSession:
            _say(f"{client}: run {run}")
            return HostSession(run_db, deps, plan, client=client, vaults=[plan["vault"]["name"]],
                               run_id=run, wait=wait,
                               inbox=lambda: serving_inbox(home_of(settings)))  # fmt: skip

        yield Sessions(open_session, run_id=run_id)


async def _serve_stdio(sessions: Any) -> None:
    from mcp.server.stdio import stdio_server

    from vaultborn.mcp_server import build_server

    server = build_server(sessions)
    _say("serving MCP on stdio")
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def _serve_http(sessions: Any, token: bytes, port: int, url_file: Path | None) -> None:
    import uvicorn

    from vaultborn.mcp_server import build_server

    app = build_server(sessions).streamable_http_app(host="127.0.0.1")
    sock = _loopback(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    config = uvicorn.Config(BearerGate(app, token), log_level="warning", access_log=False,
                            lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    if url_file is not None:
        url_file.write_text(url + "\n", encoding="utf-8")
    _say(f"serving MCP at {url} (bearer token required)")
    try:
        await server.serve(sockets=[sock])
    finally:
        if url_file is not None:
            url_file.unlink(missing_ok=True)


def _loopback(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: a free one), bound before serving."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise ConfigurationError(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
    return sock


class BearerGate:
    """ASGI middleware: an HTTP request without the server's bearer token gets a 401."""

    def __init__(self, app: Any, token: bytes) -> None:
        self.app = app
        self._expected = b"Bearer " + token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass on lifespan events and requests with the token; answer the rest 401."""
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="vaultborn"'),
                        ],
                    }
                )
                await send({"type": "http.response.body",
                            "body": b'{"error":"a bearer token is required"}'})  # fmt: skip
                return
        await self.app(scope, receive, send)


def _token(settings: Settings, token_file: Path | None) -> bytes:
    """``$VAULTBORN_MCP_TOKEN``, else the token file's (made with a fresh token if missing)."""
    from vaultborn.runner.state_db import home_of

    given = os.environ.get(TOKEN_ENV)
    if given:
        if len(given) < 32:
            raise UsageError(f"{TOKEN_ENV} must be at least 32 characters")
        return given.encode()
    path = token_file or home_of(settings) / "mcp.token"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigurationError(f"cannot use the token file {path}: {error.strerror}") from None
    if len(text) < 32:
        raise ConfigurationError(f"the token file {path} holds fewer than 32 characters")
    _say(f"the bearer token is in {path}")
    return text.encode()


def _say(line: str) -> None:
    sys.stderr.write(f"vaultborn mcp: {line}\n")
    sys.stderr.flush()
