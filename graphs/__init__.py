"""LangGraph StateGraphs: checkpoint-safe state, graph factories and the saver factory."""
