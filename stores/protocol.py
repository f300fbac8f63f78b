"""The ``SecretStore`` protocol: a runtime store that the vault seeds, one way.

A store is a cache of vault values for services that must not call the vault per request.
It takes values as ``Secret`` and gives back only metadata: version ids and provenance (the
canonical ``op://`` reference and the vault item's version), never a value or its hash.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vaultborn.vault.secret import Secret

__all__ = [
    "DEFAULT_RECOVERY_DAYS",
    "DeleteOutcome",
    "Deleted",
    "Outcome",
    "Provenance",
    "PutResult",
    "SecretStore",
    "StoreState",
    "idempotency_key",
]

DEFAULT_RECOVERY_DAYS = 30
"""Days a deleted secret can be restored (Secrets Manager's default recovery window)."""

# Fixed forever: changing it would turn every re-seed into a new version.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://vaultborn.dev/stores/seed")


@dataclass(frozen=True)
class Provenance:
    """Where a stored value came from."""

    source: str
    """The canonical, id-based ``op://`` reference."""
    version: int
    """The vault item's version when the value was read."""


class Outcome(StrEnum):
    """What a ``put`` did to the store."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class PutResult:
    """The store's answer to a ``put``: metadata only."""

    version_id: str
    outcome: Outcome


@dataclass(frozen=True)
class StoreState:
    """What ``describe`` knows about a target, without its value."""

    target: str
    exists: bool
    version_id: str | None = None
    """The current version (AWSCURRENT for Secrets Manager)."""
    provenance: Provenance | None = None
    """From the store's tags; None if the value did not come from vaultborn."""
    pending_deletion: bool = False


class DeleteOutcome(StrEnum):
    """What a ``delete`` did."""

    SCHEDULED = "scheduled"
    """Scheduled for deletion: restorable until the recovery window ends (Secrets Manager)."""
    DELETED = "deleted"
    """Gone at once: the store has no recovery window (Parameter Store)."""
    ABSENT = "absent"
    """Nothing to delete: missing, or scheduled already (a repeat)."""


@dataclass(frozen=True)
class Deleted:
    """The store's answer to a ``delete``: metadata only."""

    target: str
    outcome: DeleteOutcome
    recovery_days: int = 0
    """How long it stays restorable (0: not at all)."""


def idempotency_key(target: str, provenance: Provenance) -> str:
    """A deterministic version id for seeding ``provenance`` into ``target``.

    The same seed retried gives the same key (a no-op in the store); a new vault version gives
    a new key (a new store version). The value itself is not an input: nothing derived from it
    leaves the vault.
    """
    name = f"{target}\n{provenance.source}\n{provenance.version}"
    return str(uuid.uuid5(_NAMESPACE, name))


@runtime_checkable
class SecretStore(Protocol):
    """A runtime store (Secrets Manager, Parameter Store …) written one way from the vault."""

    scheme: str
    """The target URI scheme this store serves, e.g. ``aws-secretsmanager``."""

    def put(
        self, target: str, secret: Secret, provenance: Provenance, idempotency_key: str
    ) -> PutResult:
        """Make ``secret`` the current value of ``target``; repeating the same key is a no-op."""
        ...

    def describe(self, target: str) -> StoreState:
        """The current version id and provenance of ``target``; never its value."""
        ...

    def versions(self, target: str) -> int:
        """How many versions of ``target`` the store keeps (0 if it does not exist)."""
        ...

    def delete(self, target: str, *, recovery_days: int = DEFAULT_RECOVERY_DAYS) -> Deleted:
        """Delete ``target``, restorable for ``recovery_days`` where the store can; idempotent.

        A target that is missing, or scheduled for deletion already, is ``absent``.
        """
        ...
