"""A lifecycle run's state: a setup run's (the plan, approvals, status …) and what it did.

``rotate``, ``revoke`` and ``drift`` are runs like a setup: the same vault session, gates,
checkpoints and audit log. Their state is ``SetupState`` with the lifecycle's kind and one key
per step's record (``nodes.lifecycle_records``); references, ids and counts only.
"""

# No ``from __future__ import annotations``: see ``nodes.state``.
from vaultborn.nodes.lifecycle_records import (
    DriftRecord,
    LifecycleRecord,
    RotationRecord,
    StoreDeleteRecord,
)
from vaultborn.nodes.state import SetupState

__all__ = ["LifecycleState"]


class LifecycleState(SetupState, total=False):
    """One rotate, revoke or drift run's checkpointed state."""

    lifecycle: str
    """What the run does: ``drift``, ``revoke`` or ``rotate:<what>`` (``nodes.lifecycle``)."""
    source_run: str
    """The setup run whose plan it works on ("" when given a plan file or the embedded demo)."""
    totp_before: LifecycleRecord
    """The user's confirmed TOTP authenticators before a TOTP rotation (their ids only)."""
    rotated: RotationRecord
    """The new value in the vault (client secret, break-glass password or TOTP seed)."""
    new_secrets: dict[str, RotationRecord]
    """Per seed source (``from``): the store secret's new value in the vault."""
    pushed: LifecycleRecord
    """The new value pushed to the IdP (client secret or password)."""
    verified: LifecycleRecord
    """The chain checked with the new value."""
    removed: LifecycleRecord
    """The user's authenticators removed (a revocation's)."""
    retired: LifecycleRecord
    """The old value taken out of the item's live fields (the vault's history keeps it)."""
    user_revoked: LifecycleRecord
    """The IdP user blocked or deleted."""
    client_revoked: LifecycleRecord
    """The agent client's grants, or the client, deleted."""
    stores_deleted: dict[str, StoreDeleteRecord]
    """Per store target: its deletion."""
    archived: LifecycleRecord
    """The vault items tagged archived (nothing destroyed)."""
    drift: DriftRecord
    """The drift report."""
