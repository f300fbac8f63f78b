"""LangGraph StateGraphs: checkpoint-safe state, graph factories and the saver factory.

Arrives with the setup graph.
"""
