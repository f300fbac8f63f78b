"""LangGraph StateGraphs: checkpoint-safe state, graph factories and the saver factory."""

import os

# Read by LangGraph when its serializer is first imported: set it before anything does.
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
