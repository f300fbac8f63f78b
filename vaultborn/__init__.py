"""vaultborn: an agent workflow orchestrator whose credentials are born in the vault.

The application shell lives here: the CLI (``vaultborn.cli``), the setup plan, the wiring of
backends, and ``vaultborn.errors`` — the root of the error tree, the one module of this package
that the lower layers (``vault``, ``idp``, ``stores``, ``browser``) may import.
"""

from __future__ import annotations

__version__ = "0.1.0"
