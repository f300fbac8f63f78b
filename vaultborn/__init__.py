"""vaultborn: an agent workflow orchestrator whose credentials are born in the vault.

The application shell lives here: the CLI (``vaultborn.cli``), the setup plan, the wiring of
backends, and ``vaultborn.errors`` — the root of the error tree, the one module of this package
that the lower layers (``vault``, ``idp``, ``stores``, ``browser``) may import.
"""

from __future__ import annotations

import os

# LangGraph reads this once, when its serializer module is first imported, and several of our
# modules import LangGraph before any of our own code runs: every package that touches
# LangGraph imports this package first, so strict msgpack is on whatever is imported first.
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")

__version__ = "0.1.0"
