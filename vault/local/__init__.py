"""The embedded local vault: one encrypted SQLite file under ``VAULTBORN_HOME``.

``LocalVault`` is the default trust anchor when no 1Password account is configured. Layout:
``backend`` (the ``Vault`` protocol), ``store`` (SQLite tables and transactions), ``crypto``
(AES-256-GCM sealing bound to each row), ``keys`` (the vault key), ``fs`` (0700/0600 files)
and ``health`` (``vaultborn doctor`` checks).
"""

from __future__ import annotations

from vaultborn.vault.local.backend import LocalVault

__all__ = ["LocalVault"]
