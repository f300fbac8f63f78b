"""Wiring: which backend serves each external system, chosen once from flags and environment.

Only this module (and ``doctor``) knows the concrete backend classes; everything else takes
the ``vault.Vault`` protocol.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from vaultborn.core.errors import UsageError
from vaultborn.vault.protocol import Vault

__all__ = ["VAULT_BACKENDS", "Settings", "open_vault"]

VAULT_BACKENDS = ("local", "op", "op-sdk")
"""The embedded local vault; 1Password through its CLI; 1Password through its Python SDK."""


@dataclass(frozen=True)
class Settings:
    """Choices that hold for one CLI invocation."""

    vault_backend: str = "local"
    """``local`` (the embedded vault), ``op`` (1Password's CLI) or ``op-sdk`` (its SDK)."""
    home: Path | None = None
    """The data directory; None means ``$VAULTBORN_HOME`` or ``~/.vaultborn``."""
    backend_chosen: bool = False
    """Whether a flag or ``VAULTBORN_VAULT_BACKEND`` chose the backend (not the default)."""
    backend_source: str = "the default"
    """What chose the backend, for ``doctor``: the flag, the variable, a plan or the default."""

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] = os.environ,
        *,
        vault_backend: str | None = None,
        home: Path | None = None,
    ) -> Settings:
        """Flags win over ``VAULTBORN_VAULT_BACKEND`` / ``VAULTBORN_HOME``."""
        chosen = vault_backend or env.get("VAULTBORN_VAULT_BACKEND")
        backend = (chosen or "local").lower()
        if backend not in VAULT_BACKENDS:
            raise UsageError(
                f"unknown vault backend {backend!r} (choose {', '.join(VAULT_BACKENDS)})"
            )
        source = (
            "--vault-backend" if vault_backend
            else "VAULTBORN_VAULT_BACKEND" if chosen
            else "the default"
        )  # fmt: skip
        return cls(
            vault_backend=backend, home=home, backend_chosen=bool(chosen), backend_source=source
        )

    def for_plan(self, plan_backend: str) -> Settings:
        """These settings with the vault a plan names (its ``vault.backend``).

        Raises:
            UsageError: A flag or the environment chose another backend.
        """
        if self.backend_chosen and plan_backend != self.vault_backend:
            raise UsageError(
                f"the plan says vault.backend = {plan_backend!r} but --vault-backend (or "
                f"VAULTBORN_VAULT_BACKEND) says {self.vault_backend!r}; make them agree"
            )
        if self.backend_chosen:
            return self
        return replace(self, vault_backend=plan_backend, backend_source="the plan's vault.backend")

    def env(self, base: Mapping[str, str] = os.environ) -> dict[str, str]:
        """The environment the backends read, with this invocation's choices applied."""
        out = dict(base)
        if self.home is not None:
            out["VAULTBORN_HOME"] = str(self.home)
        return out


def open_vault(settings: Settings) -> Vault:
    """The vault backend ``settings`` selects (imported lazily: one never loads the other)."""
    env = settings.env()
    if settings.vault_backend == "op":
        from vaultborn.vault.op import OpVault

        return OpVault.from_env(env)
    if settings.vault_backend == "op-sdk":
        from vaultborn.vault.opsdk import OpSdkVault

        return OpSdkVault.from_env(env)
    from vaultborn.vault.local import LocalVault

    return LocalVault.from_env(env)
