"""Running runs: the plan, the wiring of backends into ``Deps``, moving a run on, and watching it.

- ``runner.plan`` (with ``plan_default`` and ``plan_check``): the typed setup plan from TOML.
- ``runner.wiring``: which backend serves each system, chosen once from flags and environment.
- ``runner.runtime`` / ``runner.runtime_cache``: the ``Deps`` of one run, or shared by the runs of
  one process that name the same systems.
- ``runner.runs``: start a run, move it on with an answer, look at it; ``runner.state_db`` and
  ``runner.view_cache`` keep what looking needs without LangGraph.
- ``runner.board``, ``runner.leases``, ``runner.fleet``, ``runner.worker``, ``runner.migrate``:
  many runs at once, across processes, on SQLite or PostgreSQL.
- ``runner.agent_runs``, ``runner.studio``, ``runner.studio_entry``: the agent toolkit's runs and
  the graph that LangGraph Studio serves.

It imports the layers below (graphs, nodes, approvals, vault, idp, stores, browser, core) and is
imported only by the shell (``vaultborn.cli``, the notebook helpers).
"""
