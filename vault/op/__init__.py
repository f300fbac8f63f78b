"""1Password through its CLI: ``OpVault`` (the backend) and a fake ``op`` for tests.

``OpVault`` is imported on first use, so that the fake ``op``
(``python -m vaultborn.vault.op.fake``), which runs once per op call in tests, does not pay for
the backend's imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaultborn.vault.op.backend import OpVault

__all__ = ["OpVault"]


def __getattr__(name: str) -> Any:
    if name == "OpVault":
        from vaultborn.vault.op.backend import OpVault

        return OpVault
    raise AttributeError(f"module 'vaultborn.vault.op' has no attribute {name!r}")
