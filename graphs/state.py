"""The setup graph's state: references, ids, versions, decisions and statuses — never a value.

Everything here is checkpointed (plain JSON-like data, safe for strict msgpack). Values live
as ``vault.Secret`` inside one node and never reach the state; tests scan the checkpoint
database's raw bytes for planted canaries.

The types are defined with the nodes that read and write them (``nodes.state``, a lower layer
than the graph's); this is the graph's import point for them.
"""

from __future__ import annotations

from vaultborn.nodes.state import (
    AgentData,
    ApprovalRecord,
    BreakGlassData,
    EnrollmentRecord,
    HandOff,
    HumanRecord,
    IdpData,
    InterruptedRecord,
    ItemRecord,
    PendingRequest,
    PlanApprovalRecord,
    PlanData,
    RunStatus,
    SeedData,
    SeedReceiptData,
    SessionRecord,
    SetupState,
    StepRecord,
    UserRecord,
    VaultData,
    VerifyRecord,
)

__all__ = [
    "AgentData",
    "ApprovalRecord",
    "BreakGlassData",
    "EnrollmentRecord",
    "HandOff",
    "HumanRecord",
    "IdpData",
    "InterruptedRecord",
    "ItemRecord",
    "PendingRequest",
    "PlanApprovalRecord",
    "PlanData",
    "RunStatus",
    "SeedData",
    "SeedReceiptData",
    "SessionRecord",
    "SetupState",
    "StepRecord",
    "UserRecord",
    "VaultData",
    "VerifyRecord",
]
