"""The setup graph's state: references, ids, versions, decisions and statuses — never a value.

Everything here is checkpointed (plain JSON-like data, safe for strict msgpack). Values live
as ``vault.Secret`` inside one node and never reach the state; tests scan the checkpoint
database's raw bytes for planted canaries.
"""

from __future__ import annotations

from typing import Any, Literal

# On Python < 3.12 LangGraph's server derives a run's input schema only from this TypedDict.
from typing_extensions import TypedDict

__all__ = ["RunStatus", "SetupState"]

RunStatus = Literal["running", "waiting", "done", "rejected", "failed"]


class SetupState(TypedDict, total=False):
    """One setup run's checkpointed state."""

    run_id: str
    """The run (and LangGraph thread) id."""
    plan: dict[str, Any]
    """The plan as plain data (``Plan.to_dict()``): references and plain values."""
    plan_digest: str
    """The plan's digest, recorded in the audit log with the session approval."""
    started_at: float
    """When the run started (the vault-session request's time, stable across re-runs)."""
    session_ttl: float
    """How long the vault-session request stays answerable, fixed when it is asked."""
    session: dict[str, Any]
    """The vault-session approval: ``approver``, ``at``."""
    pending: dict[str, Any]
    """The approval request waiting at the current gate (interrupt payload), if any."""
    approvals: dict[str, dict[str, Any]]
    """Per gate key: ``digest``, ``approver``, ``at`` of the decision that allows the effect."""
    edits: dict[str, dict[str, Any]]
    """Per gate key: argument changes a person made (asked again with a new digest)."""
    item: dict[str, Any]
    """The break-glass item: ``vault_id``, ``item_id``, ``version``, ``password_ref``."""
    user: dict[str, Any]
    """The IdP user: ``user_id``, ``email``, ``created`` (False when it existed)."""
    enrollment: dict[str, Any]
    """The TOTP enrollment: ``status``, ``strategy``, ``source``, ``otp_ref``."""
    seeds: dict[str, dict[str, Any]]
    """Per target URI: the seed receipt (version id, source reference and version, outcome)."""
    verify: dict[str, Any]
    """The verification: token claims checked, protected API status, login drill outcome."""
    human: dict[str, Any]
    """A hand-off waiting for a person: ``url`` (no query), ``instructions``."""
    status: RunStatus
    """Where the run is."""
    reason: str
    """Why it stopped (rejection reason, error message), when it did."""
