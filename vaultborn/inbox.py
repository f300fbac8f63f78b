"""``vaultborn inbox``: the approval inbox, a small web app on loopback.

It lists what waits across the runs of one run database (a SQLite file, or a PostgreSQL
database a team shares), refreshed without a reload; shows each item (its action, summary,
references, digest and expiry; an edited action as a diff against the proposal; the plan
offered with the vault session; a hand-off's page and what to do there); and answers it —
approve, approve the plan, reject with a reason, edit, done — through
``runner.answering.answer_run``, the same path as ``vaultborn approve``: the digest shown is
the digest sent, the gate checks it and the expiry, every refusal is audited, and an answer
from a page whose interrupt has passed is refused. Answers are given one at a time; the run
then moves on in this process, as after ``vaultborn approve``.

Access: ``inbox_guard`` (the printed link's token, a cookie, CSRF values, loopback only).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from vaultborn.core.errors import ConfigurationError, UsageError, VaultbornError
from vaultborn.inbox_guard import COOKIE, SECURITY_HEADERS, InboxGuard, new_token
from vaultborn.inbox_pages import (
    SCRIPT,
    STYLE,
    denied_page,
    item_page,
    items_fragment,
    list_page,
    run_page,
)
from vaultborn.prompts import describe_waiting
from vaultborn.runner.answering import Answered, answer_run
from vaultborn.runner.inbox_items import inbox_item, waiting_items
from vaultborn.runner.runs import RunView, StateDb, view_run
from vaultborn.runner.runtime import RunOptions
from vaultborn.runner.view_cache import started_runs
from vaultborn.runner.wiring import Settings

__all__ = ["InboxConfig", "RunningInbox", "build_inbox", "start_inbox"]

_log = logging.getLogger("vaultborn.inbox")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
_DECISIONS = ("approve", "plan", "reject", "edit", "done")
_STARTUP_TIMEOUT = 10.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class InboxConfig:
    """What an inbox serves and how it answers.

    Attributes:
        db: The run database whose runs it lists and answers.
        settings: Backends and home, as runs are driven with.
        options: This process's run options (policy, audit log, browser), made into a stack
            for each answer.
        approver: Who answers (recorded as the approver, as the CLI records its user).
        poll: Seconds between the pages' looks for what changed.
    """

    db: StateDb
    settings: Settings
    options: Callable[[ExitStack], RunOptions]
    approver: str
    poll: float = 2.0


class _Inbox:
    """The routes' state: the config, the guard, the answers' lock and the notes to show."""

    def __init__(self, config: InboxConfig, guard: InboxGuard) -> None:
        self.config, self.guard = config, guard
        self._answering = threading.Lock()  # one run moved at a time (one Chromium, one loop)
        self._notes: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._notes_lock = threading.Lock()

    def note(self, run_id: str, kind: str, text: str) -> None:
        with self._notes_lock:
            self._notes[run_id].append((kind, " ".join(text.split())))

    def notes(self, run_id: str) -> list[tuple[str, str]]:
        with self._notes_lock:
            return self._notes.pop(run_id, [])

    def view(self, run_id: str) -> RunView:
        with self.config.db.open() as saver:
            return view_run(saver, run_id)

    def answer(self, run_id: str, form: dict[str, str], args: dict[str, str]) -> Answered:
        decision = form["decision"]
        answer: dict[str, Any] = {"decision": "approve", "reason": ""}
        if decision == "reject":
            answer = {"decision": "reject", "reason": form.get("reason", "")}
        elif decision == "edit":
            answer = {"decision": "edit", "reason": "", "args": self._edits(run_id, args)}
        with self._answering, ExitStack() as stack:
            return answer_run(
                self.config.db, self.config.settings, lambda: self.config.options(stack),
                run_id, answer, approver=self.config.approver,
                digest=form.get("digest") or None, plan=decision == "plan",
                interrupt_id=form.get("interrupt_id", ""),
            )  # fmt: skip

    def _edits(self, run_id: str, given: dict[str, str]) -> dict[str, Any]:
        """The arguments the edit form changed, typed as the waiting action's are."""
        waiting = self.view(run_id).waiting or {}
        now = waiting.get("action", {}).get("args", {})
        changed: dict[str, Any] = {}
        for name, text in given.items():
            if name not in now:
                changed[name] = text  # refused by the gate: an edit adds no argument
            elif _as_text(now[name]) != text:
                changed[name] = _typed(text, now[name])
        if not changed:
            raise UsageError("the edit changes no argument")
        return changed


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _typed(text: str, like: object) -> object:
    """``text`` as the kind of value it replaces: text stays text, else JSON if it reads so."""
    if isinstance(like, str):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if value is None or isinstance(value, str | int | float | bool) else text


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status)


def _outcome(answered: Answered) -> str:
    view = answered.view
    if view is None:
        return "answer queued"
    if view.status == "waiting" and view.waiting:
        return f"answered; the run now waits for {describe_waiting(view.waiting)}"
    reason = f" ({view.reason})" if view.reason else ""
    return f"answered; the run is {view.status}{reason}"


def build_inbox(config: InboxConfig, guard: InboxGuard) -> Any:
    """The inbox's ASGI app (Starlette, behind the guard)."""
    pages = _Pages(_Inbox(config, guard))
    app = Starlette(
        routes=[
            Route("/", pages.home),
            Route("/items", pages.items),
            Route("/runs/{run_id}", pages.run),
            Route("/runs/{run_id}/state", pages.state),
            Route("/runs/{run_id}/answer", pages.answer, methods=["POST"]),
            Route("/inbox.css", lambda _: Response(STYLE, media_type="text/css")),
            Route("/inbox.js", lambda _: Response(SCRIPT, media_type="text/javascript")),
        ]
    )
    return _Guarded(app, guard)


class _Pages:
    """The routes. Each one asks for the session cookie; a form also for its CSRF value."""

    def __init__(self, inbox: _Inbox) -> None:
        self.inbox, self.guard, self.config = inbox, inbox.guard, inbox.config

    def _signed_in(self, request: Request) -> bool:
        return self.guard.cookie_ok(request.cookies.get(COOKIE))

    def home(self, request: Request) -> Response:
        """The list; with ``?token=``, the token traded for the session cookie."""
        token = request.query_params.get("token")
        if token is not None:
            if not self.guard.token_ok(token):
                return _html(denied_page(), 401)
            # The token becomes a cookie, and leaves the address bar and the history.
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, self.guard.session, httponly=True, samesite="strict",
                                path="/")  # fmt: skip
            return response
        if not self._signed_in(request):
            return _html(denied_page(), 401)
        items = waiting_items(started_runs(self.config.db))
        return _html(list_page(items, self.config.poll, self.config.db.url.shown))

    def items(self, request: Request) -> Response:
        """The list's table, which the list page polls."""
        if not self._signed_in(request):
            return _html(denied_page(), 401)
        return _html(items_fragment(waiting_items(started_runs(self.config.db))))

    def run(self, request: Request) -> Response:
        """One run: what it waits for and the forms that answer it, or where it stands."""
        if not self._signed_in(request):
            return _html(denied_page(), 401)
        run_id = _run_id(request)
        view = self._view(run_id)
        if run_id is None or view is None:
            return _html(run_page(run_id or "?", "unknown", "no such run"), 404)
        item, notes = inbox_item(view), self.inbox.notes(run_id)
        if item is None:
            return _html(run_page(run_id, view.status, view.reason, notes))
        return _html(item_page(item, self.guard.csrf, self.config.poll, notes))

    def state(self, request: Request) -> Response:
        """Where a run is, for a page to tell whether it has gone stale."""
        if not self._signed_in(request):
            return JSONResponse({"error": "the inbox's link is required"}, 401)
        view = self._view(_run_id(request))
        if view is None:
            return JSONResponse({"error": "no such run"}, 404)
        return JSONResponse({"status": view.status, "interrupt_id": view.interrupt_id})

    def _view(self, run_id: str | None) -> RunView | None:
        if run_id is None:
            return None
        try:
            return self.inbox.view(run_id)
        except UsageError:
            return None

    async def answer(self, request: Request) -> Response:
        """An answer from a page: checked here for its origin, then by the run's gate."""
        if not self._signed_in(request):
            return _html(denied_page(), 401)
        run_id = _run_id(request)
        form = await request.form()
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if run_id is None or not self.guard.form_ok(fields.get("csrf"), request.headers):
            return _html(denied_page(), 403)
        if fields.get("decision") not in _DECISIONS:
            self.inbox.note(run_id, "refused", "refused: not an answer this inbox gives")
            return RedirectResponse(f"/runs/{run_id}", status_code=303)
        args = {k.removeprefix("arg:"): v for k, v in fields.items() if k.startswith("arg:")}
        try:
            answered = await run_in_threadpool(self.inbox.answer, run_id, fields, args)
        except UsageError as refused:
            self.inbox.note(run_id, "refused", f"refused: {refused}")
        except VaultbornError as failed:  # one line, value-free by the error tree's rule
            self.inbox.note(run_id, "refused", f"failed: {failed}")
        except Exception as error:  # a bug: its type only, never a message that may hold data
            _log.error("internal error answering %s (%s)", run_id, type(error).__name__)
            self.inbox.note(run_id, "refused", f"failed: internal error ({type(error).__name__})")
        else:
            self.inbox.note(run_id, "ok", _outcome(answered))
        return RedirectResponse(f"/runs/{run_id}", status_code=303)


def _run_id(request: Request) -> str | None:
    text = str(request.path_params.get("run_id", ""))
    return text if _RUN_ID.fullmatch(text) else None


class _Guarded:
    """ASGI: a request for another host is refused; every response gets the security headers."""

    def __init__(self, app: Any, guard: InboxGuard) -> None:
        self.app, self.guard = app, guard
        self._headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        if not self.guard.host_ok(host):
            await _refuse_host(send, self._headers)
            return

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._headers]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _refuse_host(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    body = b"this inbox answers at 127.0.0.1 only"
    await send({"type": "http.response.start", "status": 421,
                "headers": [(b"content-type", b"text/plain"), *headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class RunningInbox:
    """An inbox serving in a background thread; ``url`` opens it (its token included)."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, port: int,
                 token: str) -> None:  # fmt: skip
        self._server, self._thread = server, thread
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/"
        """The inbox's address, without its token (for links that must not carry it)."""
        self.url = f"{self.base_url}?token={token}"
        """The link that opens it: keep it to yourself."""

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait for the thread (an answer in flight finishes first)."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C in the command)."""
        while self._thread.is_alive():
            self._thread.join(0.5)


def _listen(port: int) -> socket.socket:
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


@contextmanager
def start_inbox(
    config: InboxConfig, *, port: int = 0, token: str | None = None
) -> Iterator[RunningInbox]:
    """Serve ``config``'s inbox on 127.0.0.1 for the block.

    Raises:
        ConfigurationError: The port cannot be bound, or the server did not start.
    """
    sock = _listen(port)
    bound = int(sock.getsockname()[1])
    token = token or new_token()
    app = build_inbox(config, InboxGuard(token, bound))
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                       lifespan="off", ws="none", http="h11", server_header=False,
                       timeout_graceful_shutdown=2)
    )  # fmt: skip
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="vaultborn-inbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    running = RunningInbox(server, thread, bound, token)
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError(f"the inbox did not start on 127.0.0.1:{bound}")
            time.sleep(0.01)
        yield running
    finally:
        running.stop()
        sock.close()
