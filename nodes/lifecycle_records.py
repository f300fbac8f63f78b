"""What the lifecycle's steps (rotate, revoke, drift) record: references, ids, counts — no value.

TypedDicts, as the setup's records are (``nodes.state``): plain dicts in the checkpoints, the
audit log and ``show --json``. Each one's producer is named in its docstring.
"""

# No ``from __future__ import annotations``: TypedDict reads ``NotRequired`` from the evaluated
# annotations only (see ``nodes.state``).
from typing import Literal, NotRequired

from typing_extensions import TypedDict

__all__ = [
    "DriftCheck",
    "DriftRecord",
    "DriftStatus",
    "LifecycleRecord",
    "RotationRecord",
    "StoreDeleteRecord",
]


class RotationRecord(TypedDict):
    """A new value born in the vault (``nodes.rotation.new_value``)."""

    target: str
    """The reference rotated, as the plan names it (a repeat is filed under it)."""
    vault_id: str
    item_id: str
    field: str
    """The rotated field's label (``password``, ``one-time password``)."""
    version: int
    """The item's version holding the new value."""
    rotation: str
    """The run that rotated it (the item's ``vaultborn rotation`` field says so too)."""
    previous_kept: bool
    """Whether the old value waits in the item's ``previous <field>`` until it is retired."""
    code_steps: NotRequired[list[int]]
    """The TOTP time steps of the codes a TOTP rotation's enrollment sent (a drill in another
    process sends none of these again)."""


class LifecycleRecord(TypedDict):
    """One change pushed outward, checked or undone (``nodes.rotation``, ``nodes.revocation``)."""

    subject: str
    """What it was done to: a client id, a user id, an item id."""
    outcome: str
    """``updated``, ``verified``, ``retired``, ``removed``, ``blocked``, ``absent`` …"""
    count: NotRequired[int]
    """How many things it touched, where there can be several (authenticators, grants …)."""
    detail: NotRequired[str]
    """One line more (how a token was checked, an authenticator's id …)."""
    authenticators: NotRequired[list[str]]
    """Ids of the authenticators it found or removed (a TOTP rotation's)."""


class StoreDeleteRecord(TypedDict):
    """A runtime store's secret deleted (``nodes.revocation.delete_store_secret``)."""

    target: str
    outcome: str
    """``scheduled`` (restorable for ``recovery_days``), ``deleted`` or ``absent``."""
    recovery_days: int


DriftStatus = Literal["in-sync", "drifted", "unknown"]


class DriftCheck(TypedDict):
    """One credential compared across the vault, the IdP and the stores."""

    credential: str
    """What was compared (``break-glass item``, ``IdP TOTP``, a store target …)."""
    status: DriftStatus
    """``unknown``: nothing here can tell (an OpenID Provider has no Management API)."""
    detail: str
    """Why, without a value: versions, counts, an HTTP status."""


class DriftRecord(TypedDict):
    """The drift report (``nodes.drift.check_drift``)."""

    in_sync: bool
    """True when no check drifted (``unknown`` checks do not count as drift)."""
    drifted: int
    checks: list[DriftCheck]
