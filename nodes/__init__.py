"""One module per step family of the setup graph.

Each node is a pure ``decide_*()`` function plus thin I/O through injected ``Deps``.
"""
