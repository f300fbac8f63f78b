"""The entry module ``langgraph.json`` names: the setup graph for LangGraph Studio / Server.

It is the top of the import graph, like ``vaultborn.cli``, and the one module that compiles a
graph at import time (ARCHITECTURE, invariant 5): without a checkpointer, its ``Deps`` opened
by the serving process on a run's first node (``vaultborn.runner.studio``). From the
repository root, with the project installed beside ``langgraph-cli[inmem]``:
``langgraph dev --allow-blocking`` (see ``vaultborn.runner.studio`` for why), then start a run
with the input ``python -m vaultborn.runner.studio`` prints.

How the server loads it (langgraph-cli 0.4.40, langgraph-api 0.16.7; read from their source):

- ``langgraph dev`` (``langgraph_cli/cli.py::dev``) validates ``langgraph.json``, appends the
  current directory and each ``dependencies`` directory to ``sys.path`` — it installs nothing
  (``pip install -e .`` first) — and hands ``graphs`` to ``langgraph_api.cli.run_server``,
  which passes them on as the ``LANGSERVE_GRAPHS`` environment variable.
- ``langgraph_api/graph.py::collect_graphs_from_env`` splits each spec at its last ``:``; a
  spec with a ``/`` is a file path, resolved against the *current directory* (not the config
  file's: run ``langgraph dev`` from the repository root), else a module name.
- ``_graph_from_spec`` imports a path with ``importlib.util.spec_from_file_location`` under a
  name made of the path (``./runner/studio_entry.py`` → ``__runner__studio_entry``), registers
  it in ``sys.modules`` and executes it: a second copy of this module beside
  ``vaultborn.runner.studio_entry``, which is why it holds no state. It then takes
  ``module.__dict__["graph"]``: a callable is a factory (called per request with nothing, a
  ``RunnableConfig`` and/or a ``ServerRuntime``, ``_factory_utils.py``), a ``StateGraph`` is
  compiled, and a compiled graph (``Pregel``) with its own checkpointer or store is refused
  under ``langgraph dev`` ("Heads up! Your graph … includes a custom checkpointer").
- For a run, ``get_graph`` hands out ``graph.copy(update={"checkpointer": …, "store": …})``
  with the server's persistence, and ``stream.py`` calls ``astream``/``astream_events`` with
  ``context=`` the request's JSON (``{}`` or the run's ``configurable`` when none is given),
  minus the keys its context JSON schema lacks (when that schema has properties). LangGraph
  builds the ``context_schema`` from that dict (``Pregel._coerce_context``: a dataclass is
  called with its keys), so the live clients of ``Deps`` cannot arrive that way: see
  ``graphs.served``.
- Under ``langgraph dev`` a run executes on the server's event loop with ``blockbuster``
  raising on blocking calls there (``langgraph_runtime_inmem/queue.py``) unless
  ``--allow-blocking`` is given; sync nodes run in threads and are not affected.
- ``env`` in ``langgraph.json`` is applied before LangGraph's serializer is imported, so
  ``LANGGRAPH_STRICT_MSGPACK`` there holds for the server's checkpointer too.
"""

from __future__ import annotations

from vaultborn.runner.studio import build_studio_graph

graph = build_studio_graph()
