"""vaultborn: an agent workflow orchestrator whose credentials are born in the vault.

This package is the shell (the CLI, prompts, rendering, ``doctor``, the notebook helpers) and
the one name the project installs under: the layers are its sub-packages, from the ground up
``vaultborn.core``; ``vault``, ``idp``, ``stores``, ``browser``, ``approvals``; ``nodes``;
``graphs``; ``runner``. Each imports only the layers below it (``docs/architecture.md``).
"""

from __future__ import annotations

import vaultborn.core  # noqa: F401  (LangGraph's strict msgpack, before any layer loads LangGraph)

__version__ = "0.1.0"
