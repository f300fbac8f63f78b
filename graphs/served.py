"""``ServedContext``: the setup graph where a run's context is JSON (LangGraph Server, Studio).

The CLI hands each run its live clients as the run's context (``ainvoke(..., context=deps)``).
A server cannot: a run's ``context`` arrives as JSON in the request, and LangGraph turns it into
the graph's ``context_schema`` (a dataclass schema is called with the JSON's keys), so
``Deps`` — vault, IdP clients, stores, browser pool — cannot be that schema there. A served
graph declares a JSON-only schema instead, and every node is wrapped so that it still sees a
``Runtime`` whose ``context`` is a ``Deps``: ``runtime.override(context=deps)``, the ``Deps``
coming from ``ServedContext.deps``. The nodes themselves do not change.

The wrapper also binds those ``Deps`` to the state's run (``Deps.for_run``), as
``vaultborn.runner.runs.advance`` does for the CLI, so the run's vault operations are audited
under it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from langgraph.runtime import Runtime

from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import SetupState

__all__ = ["ServedContext", "serve_node"]

C = TypeVar("C")


@dataclass(frozen=True)
class ServedContext(Generic[C]):
    """How a served graph's nodes get their ``Deps`` when the run's context is JSON."""

    schema: type[C]
    """The run context's schema: JSON-serialisable fields only (the server shows it, and
    filters a request's context by it)."""
    deps: Callable[[C, SetupState], Deps]
    """The ``Deps`` for a run, from its context and the node's input state; may block (it is
    called off the event loop)."""


def serve_node(node: Callable[..., Any], served: ServedContext[Any]) -> Callable[..., Any]:
    """``node`` with ``runtime.context`` replaced by the served ``Deps`` (sync stays sync)."""
    if inspect.iscoroutinefunction(node):

        @functools.wraps(node)
        async def served_async(state: SetupState, runtime: Runtime[Any]) -> Any:
            deps = await asyncio.to_thread(served.deps, runtime.context, state)
            return await node(state, runtime.override(context=_for_run(deps, state)))

        return served_async

    @functools.wraps(node)
    def served_sync(state: SetupState, runtime: Runtime[Any]) -> Any:
        deps = served.deps(runtime.context, state)
        return node(state, runtime.override(context=_for_run(deps, state)))

    return served_sync


def _for_run(deps: Deps, state: SetupState) -> Deps:
    """``deps`` bound to the state's run (a server's first node may come before its id)."""
    run_id = state.get("run_id")
    return deps.for_run(run_id) if run_id else deps
