"""One module per step family of the setup graph.

Each node is a pure ``decide_*()`` function plus thin I/O through injected ``Deps``.
"""

import vaultborn  # noqa: F401  (turns LangGraph's strict msgpack on before LangGraph loads)
