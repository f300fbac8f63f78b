"""1Password through its own Python SDK: ``OpSdkVault`` (the backend) and a fake service.

``OpSdkVault`` is imported on first use, and the SDK (a native core, about a second to load)
only when a vault first connects, so choosing another backend never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaultborn.vault.opsdk.backend import OpSdkVault

__all__ = ["OpSdkVault"]


def __getattr__(name: str) -> Any:
    if name == "OpSdkVault":
        from vaultborn.vault.opsdk.backend import OpSdkVault

        return OpSdkVault
    raise AttributeError(f"module 'vaultborn.vault.opsdk' has no attribute {name!r}")
