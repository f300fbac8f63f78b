"""LangGraph StateGraphs: checkpoint-safe state, graph factories and the saver factory."""

import vaultborn  # noqa: F401  (turns LangGraph's strict msgpack on before LangGraph loads)
