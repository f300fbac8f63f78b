"""The setup graph's state and every record in it: references, ids, versions — never a value.

TypedDicts, not classes: at run time each one is a plain ``dict``, so checkpoints (strict
msgpack), interrupt payloads, audit rows and the JSON of ``show``/``runs`` keep their shapes,
and the types only tell mypy what the nodes read and write. ``graphs.state`` re-exports the
state for the graph; the nodes, the lowest layer that reads it, import it from here.

Every key below is written by one producer, named in each docstring; ``tests/unit`` checks
the plan's against ``Plan.to_dict()`` and a real run's records against ``show --json``.
"""

# No ``from __future__ import annotations`` here: TypedDict reads ``NotRequired`` from the
# evaluated annotations only, and ``__required_keys__`` (which tests and tools read) would
# count the optional keys as required if they stayed strings.
from typing import Any, Literal, NotRequired

# On Python < 3.12 LangGraph's server (pydantic) derives a run's input schema only from
# typing_extensions' TypedDict, nested ones included.
from typing_extensions import TypedDict

from vaultborn.approvals.action import ActionPayload
from vaultborn.nodes.lifecycle_records import (
    DriftRecord,
    LifecycleRecord,
    RotationRecord,
    StoreDeleteRecord,
)
from vaultborn.stores.seed import SeedReceiptData

__all__ = [
    "AgentData",
    "ApprovalRecord",
    "Asked",
    "BreakGlassData",
    "EnrollmentRecord",
    "HandOff",
    "HumanRecord",
    "IdpData",
    "InterruptedRecord",
    "ItemRecord",
    "NotifyData",
    "PendingRequest",
    "PlanApprovalRecord",
    "PlanData",
    "RunStatus",
    "ScheduleData",
    "SeedData",
    "SeedReceiptData",
    "SessionAsk",
    "SessionRecord",
    "SessionUpdate",
    "SetupState",
    "StepRecord",
    "UserRecord",
    "VaultData",
    "VerifyRecord",
]

RunStatus = Literal["running", "waiting", "done", "rejected", "failed", "interrupted", "cancelled"]


# -- the plan, as ``Plan.to_dict()`` makes it (``dataclasses.asdict``: every field, None kept) --


class VaultData(TypedDict):
    """``[vault]``: the backend (``local`` or ``op``) and the vault's name."""

    backend: str
    name: str


class IdpData(TypedDict):
    """``[idp]``: the IdP and its management client (``domain`` None: the embedded dev IdP)."""

    management_client_id: str | None
    management_secret: str | None
    """The ``op://`` reference of the management client's secret."""
    kind: str
    """``auth0`` or ``oidc``."""
    domain: str | None
    connection: str


class BreakGlassData(TypedDict):
    """``[break_glass]``: the account, its item, password recipe, enrollment and pages."""

    email: str
    item: str
    """The vault item's title."""
    password_recipe: str
    enrollment: str
    """``browser`` or ``api``."""
    login_url: str | None
    signup_url: str | None
    enroll_url: str | None


class AgentData(TypedDict):
    """``[agent]``: the M2M client, the reference of its secret, audience, API and scopes."""

    client_id: str
    secret: str
    """The ``op://`` reference of the client secret."""
    audience: str
    protected_api: str | None
    scope: str | None


SeedData = TypedDict("SeedData", {"from": str, "to": str})
"""One ``[[seed]]``: the ``op://`` reference read (``from``) and the target URI (``to``)."""


class NotifyData(TypedDict):
    """``[notify]``: where to tell people that something waits."""

    webhook: str
    """The ``op://`` reference of the webhook's URL (a Slack URL is a credential)."""


class ScheduleData(TypedDict):
    """``[schedule]``: lifecycle work a worker starts when it is due (``runner.due``)."""

    drift_every: NotRequired[str]
    """How often a drift run checks the chain, as written (``1d``)."""
    rotate_every: NotRequired[str]
    """How often each credential of ``rotate`` is rotated, as written (``30d``)."""
    rotate: NotRequired[list[str]]
    """What is rotated on schedule (``rotate --what`` names)."""


class PlanData(TypedDict):
    """The plan as the graph carries it: the TOML's shape, references and plain values."""

    vault: VaultData
    idp: IdpData
    break_glass: BreakGlassData
    agent: AgentData
    seed: list[SeedData]
    notify: NotRequired[NotifyData]
    """Present only when the plan has a ``[notify]`` table (so other plans keep their digest)."""
    schedule: NotRequired[ScheduleData]
    """Present only when the plan has a ``[schedule]`` table (so other plans keep their digest)."""


# -- what the steps record ---------------------------------------------------------------------


class ItemRecord(TypedDict):
    """The break-glass item (``nodes.vault_item.create_break_glass_item``)."""

    vault_id: str
    item_id: str
    version: int
    created: bool
    """False when an item of that title was there already."""
    password_ref: str
    """The canonical ``op://`` reference of its password (by ids)."""


class UserRecord(TypedDict):
    """The IdP user (``nodes.idp_user.create_idp_user``)."""

    user_id: str
    """The IdP's id; an application's account is named by its e-mail."""
    email: str
    created: bool
    """False when it existed."""


class EnrollmentRecord(TypedDict):
    """The TOTP enrollment (``nodes.enrollment.enroll_totp_step``)."""

    status: str
    """``confirmed``."""
    strategy: str
    """``browser`` or ``api``."""
    source: str
    """How the seed reached the vault: ``uri``, ``manual``, ``qr``, ``vault`` (drawn here), or
    ``existing`` (enrolled before)."""
    outcome: NotRequired[str]
    """What showed the browser flow's end (a browser flow that ran to its end only)."""
    recovery_codes_kept: NotRequired[int]
    """How many recovery codes went into the vault, when the page showed some."""
    code_steps: NotRequired[list[int]]
    """The TOTP time steps of the codes sent (a later drill sends none of these again)."""


class VerifyRecord(TypedDict):
    """The verification (``nodes.verification.verify_chain``)."""

    token_subject: str
    token_audience: str | list[str] | None
    """The token's ``aud`` claim as the IdP issued it."""
    token_check: str
    """What accepted the token: the protected API, or the IdP's JWKS."""
    api_status: NotRequired[int]
    """The protected API's answer (200), when one was called."""
    login_drill: str
    """The drill's outcome, or why it was skipped."""
    login_drill_codes: NotRequired[int]
    """Codes the drill sent, when it ran."""


class HumanRecord(TypedDict, total=False):
    """A hand-off to a person (empty once answered)."""

    url: str
    """The page, without its query."""
    instructions: str


class InterruptedRecord(TypedDict):
    """Where a person's Ctrl-C stopped a run."""

    after: str
    """The checkpoint the run stopped at; the mark is the update on top of it, and once the
    run moves past that, the record is history."""
    during: str
    """The step (graph nodes) that was running."""
    at: float
    """When (UNIX time)."""


class HandOff(TypedDict):
    """An effect's answer that a person must act first (the step runs again after)."""

    human: HumanRecord


StepRecord = (
    ItemRecord
    | UserRecord
    | EnrollmentRecord
    | SeedReceiptData
    | VerifyRecord
    | RotationRecord
    | LifecycleRecord
    | StoreDeleteRecord
    | DriftRecord
)
"""What a gated step's effect records (``GatedStep.state_key`` says where); the last four are
the lifecycle's (``nodes.lifecycle_records``)."""


# -- approvals ---------------------------------------------------------------------------------


class SessionRecord(TypedDict):
    """The vault-session approval (``nodes.session.ask_session``)."""

    approver: str
    at: float


class Asked(TypedDict, total=False):
    """What every pending approval request holds (a gate's or an agent's tool call's)."""

    action: ActionPayload
    digest: str
    """The digest of the action asked about."""
    request_id: str
    """The request's id, fixed when it is proposed: an answer must name it (and the run)."""
    requested_at: float
    """When it was first asked (a re-run keeps it: the expiry comes from here)."""
    ttl_seconds: float
    """How long it stays answerable, fixed when asked."""


class PendingRequest(Asked, total=False):
    """The approval request waiting at a gate (``gating.propose_node``); empty once answered."""

    key: str
    """The gate key: the step's name, ``seed[i]`` for a repeat."""


class PlanApprovalRecord(TypedDict):
    """One approval of a whole plan (``approvals.plan_approval.PlanApproval.to_record``)."""

    digest: str
    """The approval's own digest: the session's and every action's digest."""
    plan_digest: str
    session: str
    """The vault session's digest it covers ("" for none)."""
    actions: dict[str, str]
    """Per gate key: the digest of the action it covers."""
    expires_at: float
    """From then on it covers nothing: each step is asked on its own."""
    approver: str
    at: float


class SessionAsk(TypedDict, total=False):
    """What the vault-session request reads of a run's state (a setup's or an agent's)."""

    run_id: str
    started_at: float
    session_ttl: float
    session: SessionRecord


class SessionUpdate(TypedDict, total=False):
    """The state update of a vault-session answer (``nodes.session.ask_session``)."""

    session: SessionRecord
    started_at: float
    """Asked again from now (expired or refused)."""
    session_ttl: float
    reason: str
    status: Literal["rejected"]
    plan_approval: PlanApprovalRecord
    """The plan approved with the session (a setup run's first gate only)."""


class ApprovalRecord(TypedDict):
    """The decision that allows an effect (``nodes.gating.settled``)."""

    digest: str
    """The digest of the exact action approved."""
    approver: str
    at: float
    covered_by: NotRequired[str]
    """The digest of the plan approval that covered it (absent: answered at its own gate)."""


class SetupState(TypedDict, total=False):
    """One setup run's checkpointed state."""

    run_id: str
    """The run (and LangGraph thread) id."""
    plan: PlanData
    """The plan as plain data (``Plan.to_dict()``): references and plain values."""
    plan_digest: str
    """The plan's digest, recorded in the audit log with the session approval."""
    started_at: float
    """When the run started (the vault-session request's time, stable across re-runs)."""
    session_ttl: float
    """How long the vault-session request stays answerable, fixed when it is asked."""
    session: SessionRecord
    """The vault-session approval: ``approver``, ``at``."""
    pending: PendingRequest
    """The approval request waiting at the current gate (interrupt payload), if any."""
    approvals: dict[str, ApprovalRecord]
    """Per gate key: ``digest``, ``approver``, ``at`` of the decision that allows the effect."""
    plan_approval: PlanApprovalRecord
    """One approval of the whole plan (given at the first gate, or by ``setup --approval``)."""
    edits: dict[str, dict[str, Any]]
    """Per gate key: argument changes a person made (asked again with a new digest)."""
    item: ItemRecord
    """The break-glass item: ``vault_id``, ``item_id``, ``version``, ``password_ref``."""
    user: UserRecord
    """The IdP user: ``user_id``, ``email``, ``created`` (False when it existed)."""
    enrollment: EnrollmentRecord
    """The TOTP enrollment: ``status``, ``strategy``, ``source`` (and how a browser flow went)."""
    seeds: dict[str, SeedReceiptData]
    """Per target URI: the seed receipt (version id, source reference and version, outcome)."""
    verify: VerifyRecord
    """The verification: token claims checked, protected API status, login drill outcome."""
    human: HumanRecord
    """A hand-off waiting for a person: ``url`` (no query), ``instructions``."""
    status: RunStatus
    """Where the run is (``cancelled``: ended by ``vaultborn cancel``; what it made stays
    recorded above)."""
    reason: str
    """Why it stopped (rejection or cancel reason, error message), when it did."""
    interrupted: InterruptedRecord
    """A person's Ctrl-C stopped the run mid-step (``runner.runs.mark_interrupted``); it counts
    only while the run is still at the checkpoint that mark made."""
