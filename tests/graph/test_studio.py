"""``langgraph.json``: LangGraph Studio / ``langgraph dev`` load the setup graph and run it.

The graph is loaded the way langgraph-api 0.16.7 does it — ``langgraph_api/graph.py``:
``collect_graphs_from_env`` (the spec split at its last ``:``, a ``/`` meaning a file path),
``_graph_from_spec`` (``spec_from_file_location`` under a name made from the path, the
attribute taken from the module's ``__dict__``, a compiled graph with its own checkpointer or
store refused under ``langgraph dev``) — and run the way ``get_graph``/``stream.py`` run it:
a copy with the server's checkpointer and store, ``context=`` the request's JSON, gates
answered as interrupt resumes. The process's embedded runtime (dev IdP, moto, local vault in
``$VAULTBORN_HOME``) is real.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from vaultborn.approvals.audit import AuditLog
from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import database_url
from vaultborn.graphs.setup import build_graph
from vaultborn.runner import studio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The repository root as the current directory (``langgraph dev`` resolves paths there);
    the process's embedded runtime closed afterwards."""
    monkeypatch.chdir(ROOT)
    try:
        yield
    finally:
        studio.close_studio_runtime()


def _graph_spec() -> tuple[str, str]:
    """(path, variable) of the setup graph, split as ``collect_graphs_from_env`` does."""
    config = json.loads((ROOT / "langgraph.json").read_text(encoding="utf-8"))
    assert config["dependencies"] == ["."]
    path, variable = config["graphs"]["setup"].rsplit(":", maxsplit=1)
    assert "/" in path  # a file path, not a module name
    return path, variable


def _load(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The graph value, imported as ``_graph_from_spec`` imports a file path."""
    path, variable = _graph_spec()
    modname = path.replace("/", "__").replace(".py", "").replace(" ", "_").lstrip(".")
    modspec = importlib.util.spec_from_file_location(modname, path)
    assert modspec is not None and modspec.loader is not None
    module = importlib.util.module_from_spec(modspec)
    monkeypatch.setitem(sys.modules, modname, module)
    modspec.loader.exec_module(module)
    return module.__dict__[variable]


def test_studio_loader_accepts_the_setup_graph(
    served_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = _load(monkeypatch)

    # Not a factory: a compiled graph, without the persistence ``langgraph dev`` refuses.
    assert not callable(graph)
    assert isinstance(graph, Pregel)
    assert not isinstance(graph.checkpointer, BaseCheckpointSaver)
    assert not isinstance(graph.store, BaseStore)
    # What Studio draws (GET /assistants/{id}/graph) is the production graph.
    drawn = graph.get_graph()
    assert set(drawn.nodes) == set(build_graph().get_graph().nodes)
    assert {"session_gate", "gate_create_item", "create_item", "human_step", "verify"} <= set(
        drawn.nodes
    )
    json.dumps(drawn.to_json())
    # Its context schema is JSON (the server shows it and filters a run's context by it).
    assert graph.get_context_jsonschema()["title"] == "StudioContext"
    assert studio._opened is None  # nothing started at import


def _approve(waiting: dict[str, Any]) -> Command[Any]:
    """The resume Studio sends: the JSON answer ``vaultborn approve`` gives."""
    return Command(
        resume={
            "decision": "approve",
            "reason": "",
            "digest": waiting["digest"],
            "run_id": waiting["run_id"],
            "request_id": waiting["request_id"],
            "approver": "studio-user",
        }
    )


def test_a_studio_run_gets_its_deps_from_the_serving_process(
    served_process: None, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    graph = _load(monkeypatch)
    served = graph.copy(update={"checkpointer": InMemorySaver(), "store": InMemoryStore()})
    start = studio.start_input()
    config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}

    async def waiting_after(payload: Any) -> dict[str, Any]:
        await served.ainvoke(payload, config, context={}, durability="sync")
        snapshot = await served.aget_state(config)
        assert len(snapshot.interrupts) == 1, snapshot
        return dict(snapshot.interrupts[0].value)

    async def conversation() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        asked = [await waiting_after(start)]
        for _ in range(2):
            asked.append(await waiting_after(_approve(asked[-1])))
        return asked, dict((await served.aget_state(config)).values)

    asked, values = asyncio.run(conversation())

    assert [w["kind"] for w in asked] == ["vault_session", "approval", "approval"]
    assert [w["action"]["name"] for w in asked[1:]] == ["create_item", "create_user"]
    assert values["session"]["approver"] == "studio-user"
    assert values["item"]["password_ref"].startswith("op://")
    audit = AuditLog(database_url(home))
    try:
        kinds = [(e.kind, e.subject) for e in audit.events(run_id=start["run_id"])]
    finally:
        audit.close()
    assert ("decision", "vault_session") in kinds
    assert ("effect", "create_item") in kinds
    assert any(kind == "vault" for kind, _ in kinds)  # the audited vault knew the run


def test_a_studio_run_needs_a_plan_and_the_process_plan(
    served_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = _load(monkeypatch).copy(update={"checkpointer": InMemorySaver()})

    def run(payload: dict[str, Any]) -> None:
        config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
        asyncio.run(served.ainvoke(payload, config, context={}))

    with pytest.raises(UsageError, match=r"python -m vaultborn\.runner\.studio"):
        run({"run_id": "run-empty"})
    assert studio._opened is None
    run(studio.start_input())  # opens the runtime, then waits at the vault session
    other = studio.start_input()
    other["plan"] = {**other["plan"], "break_glass": {"email": "someone-else@example.com"}}
    with pytest.raises(UsageError, match="another plan"):
        run(other)
