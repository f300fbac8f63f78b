"""Setup runs: start one, move it on (with an answer for its gate), and look at it.

A run is one LangGraph thread. What it waits for is the pending interrupt's payload (an
approval request, the vault session, or a hand-off) — references and plain values only.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import replace
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, StateSnapshot

from vaultborn.core.errors import RunStateError, UsageError
from vaultborn.graphs.setup import build_graph
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import InterruptedRecord, SetupState
from vaultborn.nodes.step_vault import MoveItems
from vaultborn.runner import view_cache
from vaultborn.runner.board import RunBoard
from vaultborn.runner.notify import notify_drift, notify_waiting
from vaultborn.runner.run_view import RunView
from vaultborn.runner.state_db import StateDb
from vaultborn.runner.used_steps import SharedStepLedger

__all__ = [
    "OnStep",
    "RunView",
    "StateDb",
    "advance",
    "graph_of",
    "history",
    "list_runs",
    "mark_interrupted",
    "new_run_id",
    "snapshot_view",
    "view_after_move",
    "view_run",
]


OnStep = Callable[[str, str, dict[str, Any] | None], None]
"""Watches a run move: ``(run_id, node, None)`` as a node starts, ``(run_id, node, update)``
as it finishes (its state update: references, ids and versions, never a value)."""


def new_run_id() -> str:
    """A fresh run id."""
    return "run-" + secrets.token_hex(6)


def _config(run_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": run_id}}


def _latest_values(saver: BaseCheckpointSaver[str], run_id: str) -> dict[str, Any]:
    latest = saver.get_tuple(_config(run_id))  # type: ignore[arg-type]
    return {} if latest is None else dict(latest.checkpoint.get("channel_values", {}))


def graph_of(saver: BaseCheckpointSaver[str], run_id: str) -> Any:
    """The graph ``run_id`` runs on, by its state.

    An agent (or MCP host) run's state has a toolkit, a lifecycle run's (rotate, revoke,
    drift) its kind, a setup's neither.
    """
    values = _latest_values(saver, run_id)
    if "toolkit" in values:
        from vaultborn.graphs.agent import build_agent_graph

        return build_agent_graph(None, checkpointer=saver)
    return _graph_for(values, saver)


def _graph_for(values: dict[str, Any], saver: BaseCheckpointSaver[str]) -> Any:
    """The setup graph, or the lifecycle graph a run's state names."""
    kind = values.get("lifecycle")
    if kind:
        from vaultborn.graphs.lifecycle import build_lifecycle_graph

        return build_lifecycle_graph(str(kind), saver)
    return build_graph(saver)


def view_run(saver: BaseCheckpointSaver[str], run_id: str) -> RunView:
    """The run's current view (a setup run's, or an agent or MCP host run's).

    Raises:
        UsageError: There is no run with that id.
    """
    snapshot = graph_of(saver, run_id).get_state(_config(run_id))
    if not snapshot.values:
        raise UsageError(f"no run {run_id!r} (see 'vaultborn runs')")
    return snapshot_view(run_id, snapshot)


def snapshot_view(run_id: str, snapshot: StateSnapshot) -> RunView:
    """The view of a thread's state snapshot (setup or agent graph alike)."""
    values = dict(snapshot.values or {})
    interrupts = list(snapshot.interrupts)
    status = str(values.get("status", "running"))
    reason = str(values.get("reason", ""))
    if interrupts:
        status = "waiting"
    elif status not in ("done", "rejected", "cancelled") and snapshot.next:
        stop = values.get("interrupted") or {}
        parent = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        marked = (snapshot.metadata or {}).get("source") == "update"
        if marked and parent and stop.get("after") == parent:
            status = "interrupted"
            reason = f"interrupted (Ctrl-C) during {stop.get('during') or 'a step'}"
        else:
            status = "failed"
    return RunView(
        run_id=run_id,
        status=status,
        next=tuple(snapshot.next),
        waiting=dict(interrupts[0].value) if interrupts else None,
        reason=reason,
        values=values,
        interrupt_id=interrupts[0].id if interrupts else "",
    )


async def advance(
    db: StateDb,
    deps: Deps,
    run_id: str,
    *,
    start: SetupState | None = None,
    answer: object = None,
    saver: BaseCheckpointSaver[str] | None = None,
    board: RunBoard | None = None,
    progress: Callable[[str, str], None] | None = None,
    on_step: OnStep | None = None,
) -> RunView:
    """Run ``run_id`` until it is done or waits.

    From ``start`` (a new run), with ``answer`` for its gate, or — neither — by running again
    what is pending (after a crash, or with a changed policy). The run board records it as
    ``running`` meanwhile and where it stopped after.

    Args:
        db: The run database.
        deps: The clients of the run.
        run_id: The run.
        start: The first state of a new run.
        answer: The answer for the interrupt the run waits at.
        saver: An async checkpointer on ``db`` shared by many runs (else one is opened).
        board: The run board of ``db`` shared by many runs (else one is opened).
        progress: Called with ``(run_id, node)`` as each node of the graph finishes.
        on_step: Called with ``(run_id, node, None)`` as each node starts and with
            ``(run_id, node, update)`` as it finishes (what it wrote to the state).

    Raises:
        RunStateError: ``answer`` was given but the run waits for nothing (audited).
    """
    if start is not None:
        payload: Any = start
    elif answer is not None:
        payload = Command(resume={await asyncio.to_thread(_waiting_at, db, deps, run_id): answer})
    else:
        payload = None
    with ExitStack() as stack:
        if board is None:
            board = stack.enter_context(RunBoard(db.url))
        # Database calls block: in threads, so runs sharing the loop (and SQLite's one writer,
        # which a checkpoint write mid-transaction may hold) never wait on each other.
        before = await asyncio.to_thread(board.mark, run_id, "running")
        config: Any = _config(run_id)
        # The run's vault operations audited under it; what a step creates handed to the next;
        # the TOTP steps used known to every process on the run database.
        steps = SharedStepLedger(deps.browser.steps, db.url)
        stack.callback(steps.close)
        run_deps = replace(
            deps.for_run(run_id), move=MoveItems(), browser=replace(deps.browser, steps=steps)
        )
        async with AsyncExitStack() as opened:
            if saver is None:
                saver = await opened.enter_async_context(db.open_async())
            graph = _graph_for(await _kind_of(saver, run_id, start), saver)
            async for mode, event in graph.astream(
                payload, config, context=run_deps, durability="sync",
                stream_mode=["updates", "tasks"] if on_step else ["updates"],
            ):  # fmt: skip
                chunk: dict[str, Any] = dict(event) if isinstance(event, dict) else {}
                if mode == "tasks":
                    if on_step is not None and "input" in chunk:  # a node starts
                        on_step(run_id, chunk["name"], None)
                    continue
                for node, update in chunk.items():
                    if node.startswith("__"):
                        continue
                    if progress is not None:
                        progress(run_id, node)
                    if on_step is not None:
                        on_step(run_id, node, update if isinstance(update, dict) else {})
        view = await asyncio.to_thread(view_after_move, db, run_id)
        await asyncio.to_thread(board.mark, run_id, view.status)
        if view.status == "waiting":  # tell people, where a webhook is set; never fails the run
            await asyncio.to_thread(notify_waiting, view, run_deps.vault)
        if view.status == "done" and before != "done":  # the move that finished it, only
            await asyncio.to_thread(_report_drift, view, run_deps)
        return view


def _report_drift(view: RunView, deps: Deps) -> None:
    """A drift run that ends drifted: an audit row (``drift_found``) and the webhook, if set."""
    report = view.values.get("drift")
    if view.values.get("lifecycle") != "drift" or not report or report.get("in_sync", True):
        return
    drifted = [c["credential"] for c in report.get("checks", []) if c.get("status") == "drifted"]
    deps.audit.append(view.run_id, "drift_found", "drift", {
        "drifted": drifted, "source_run": str(view.values.get("source_run") or ""),
    })  # fmt: skip
    notify_drift(view, deps.vault)


async def _kind_of(
    saver: BaseCheckpointSaver[str], run_id: str, start: SetupState | None
) -> dict[str, Any]:
    """What chooses the run's graph: the first state of a new run, else its latest state."""
    if start is not None:
        return dict(start)
    latest = await saver.aget_tuple(_config(run_id))  # type: ignore[arg-type]
    return {} if latest is None else dict(latest.checkpoint.get("channel_values", {}))


def view_after_move(db: StateDb, run_id: str) -> RunView:
    """Where the run stands after a move, kept for the commands that only look (``view_cache``)."""
    head = view_cache.head_of(db, run_id)  # before the view: a later move makes it stale
    with db.open() as viewer:
        view = view_run(viewer, run_id)
    view_cache.keep(db, run_id, head, view)
    return view


def mark_interrupted(db: StateDb, run_id: str, *, at: float) -> RunView:
    """Record that a person stopped ``run_id`` mid-step (Ctrl-C); its view is then ``interrupted``.

    The mark is a state update on top of the run's newest checkpoint, naming that checkpoint;
    what runs next stays the same (the update is the last node's, whose edges are taken
    again). Views count it only on the checkpoint it made: once the run moves on (``resume``)
    it is history. The run board says ``interrupted`` too, so no worker takes the run up: a
    person stopped it, and ``vaultborn resume`` goes on.
    """
    with db.open() as saver:
        graph = graph_of(saver, run_id)
        snapshot = graph.get_state(_config(run_id))
        mark: InterruptedRecord = {
            "after": str(snapshot.config["configurable"]["checkpoint_id"]),
            "during": ",".join(snapshot.next),
            "at": at,
        }
        graph.update_state(snapshot.config, {"interrupted": mark})
    view = view_after_move(db, run_id)
    with RunBoard(db.url) as board:
        board.mark(run_id, view.status)
    return view


def _waiting_at(db: StateDb, deps: Deps, run_id: str) -> str:
    """The id of the interrupt ``run_id`` waits at: the only one an answer may go to.

    LangGraph would otherwise take a dict keyed by interrupt ids as naming its own target,
    and resume a stopped run with the answer kept for whatever interrupt came next.
    """
    with db.open() as viewer:
        view = view_run(viewer, run_id)
    if view.status != "waiting" or not view.interrupt_id:
        why = f"the run is {view.status}, not waiting"
        deps.audit.append(run_id, "refused", "answer", {"why": why})
        raise RunStateError(f"run {run_id} is not waiting for an answer (it is {view.status})")
    return view.interrupt_id


def list_runs(saver: BaseCheckpointSaver[str]) -> list[RunView]:
    """Every run in the database, newest first."""
    seen: list[str] = []
    for checkpoint in saver.list(None):
        thread = checkpoint.config["configurable"]["thread_id"]
        if thread not in seen:
            seen.append(thread)
    return [view_run(saver, run_id) for run_id in seen]


def history(saver: BaseCheckpointSaver[str], run_id: str) -> list[dict[str, Any]]:
    """The run's checkpoint timeline, oldest first: id, time, step, what ran next, status."""
    graph = graph_of(saver, run_id)
    config: Any = _config(run_id)
    out = []
    for snap in graph.get_state_history(config):
        out.append(
            {
                "checkpoint_id": snap.config["configurable"]["checkpoint_id"],
                "created_at": snap.created_at,
                "step": (snap.metadata or {}).get("step"),
                "next": list(snap.next),
                "status": (snap.values or {}).get("status", ""),
                "waiting": bool(snap.interrupts),
            }
        )
    return list(reversed(out))
