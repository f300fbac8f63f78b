"""The ground floor: what every layer of vaultborn may import, and which imports none of them.

- ``core.errors``: the root of the error tree (``VaultbornError``) and its kinds — a user's
  mistake, a configuration or service failure, a transient one that a retry may cure.
- ``core.database``: the run database's URL, parsed once (``DatabaseUrl``), and engines for it.
- ``core.sqltx``: explicit write transactions and one-line database errors, for SQLite and
  PostgreSQL alike.
- ``core.files``: the small files a user names (plans, env files, tenants), read with a bound.
- ``core.hardening``: core dumps off in every process that may hold a secret value.

Importing any part of vaultborn turns LangGraph's strict msgpack on first (below): LangGraph
reads the switch once, when its serializer is first imported, so it has to be set before any
layer imports LangGraph.
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
