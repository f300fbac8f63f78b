"""Lifecycle runs (rotate, revoke, drift): what they work on, their first state, their actions.

A lifecycle run works on the plan of a setup: a finished setup run's (``RUN``, the plan kept in
its checkpoints), a plan file, or the embedded demo's. It is then a run like any other, moved by
``runner.runs.advance`` (which picks its graph by the ``lifecycle`` key of its state) and
driven by ``runner.drive.drive_run``: answered with ``approve``, continued with ``resume``,
listed by ``runs``, moved by a ``worker``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaultborn.approvals.action import Action, sha256_digest
from vaultborn.core.errors import UsageError
from vaultborn.nodes.lifecycle_records import RotationRecord, StoreDeleteRecord
from vaultborn.nodes.lifecycle_state import LifecycleState
from vaultborn.nodes.lifecycle_steps import LIFECYCLES
from vaultborn.nodes.state import PlanData, SetupState
from vaultborn.runner.runs import StateDb, view_run
from vaultborn.vault.items import OTP_LABEL

__all__ = [
    "RESULT_KEYS",
    "Subject",
    "lifecycle_start",
    "plan_file",
    "projected_lifecycle_actions",
    "results_of",
    "subject_from_run",
]

RESULT_KEYS = (
    "totp_before", "rotated", "new_secrets", "pushed", "verified", "seeds", "removed",
    "retired", "user_revoked", "client_revoked", "stores_deleted", "archived", "drift",
)  # fmt: skip
"""The state keys a lifecycle run files its records under (``nodes.lifecycle_state``)."""


@dataclass(frozen=True)
class Subject:
    """The plan a lifecycle run works on, and where it came from."""

    plan: PlanData
    digest: str
    source_run: str = ""
    """The setup run the plan was taken from ("" for a plan file or the embedded demo)."""


def subject_from_run(db: StateDb, run_id: str) -> Subject:
    """The plan of the setup run ``run_id``, from its checkpoints.

    Raises:
        UsageError: There is no such run, or it is not a setup (an agent's, a lifecycle's).
    """
    with db.open() as saver:
        values = view_run(saver, run_id).values
    if "toolkit" in values or values.get("lifecycle") or "plan" not in values:
        raise UsageError(f"run {run_id} is not a setup run; name a setup run or a plan file")
    plan: PlanData = values["plan"]
    return Subject(plan, str(values.get("plan_digest") or sha256_digest(plan)), run_id)


def lifecycle_start(subject: Subject, run_id: str, kind: str, session_ttl: float) -> LifecycleState:
    """The first state of a ``kind`` run on ``subject``'s plan.

    Raises:
        UsageError: ``kind`` is not a lifecycle.
    """
    if kind not in LIFECYCLES:
        raise UsageError(f"no lifecycle {kind!r} (one of {', '.join(LIFECYCLES)})")
    return {
        "run_id": run_id,
        "plan": subject.plan,
        "plan_digest": subject.digest,
        "started_at": time.time(),
        "session_ttl": session_ttl,
        "status": "running",
        "lifecycle": kind,
        "source_run": subject.source_run,
    }


def projected_lifecycle_actions(kind: str, plan: PlanData) -> list[Action]:
    """The actions a ``kind`` run of ``plan`` would ask about, in order (a dry run).

    Steps whose arguments come from an earlier step's record (which field a rotation changed)
    are shown with the plan's names for it.
    """
    state: dict[str, Any] = {"run_id": "(this run)", "plan": plan}
    actions = []
    for step in LIFECYCLES[kind]:
        for _ in range(step.times(plan)):
            as_setup: SetupState = _as_state(state)
            args = step.args(as_setup)
            actions.append(Action(step.name, args, step.effects, step.summary(args)))
            state |= _projected_record(step.state_key, args, step.repeats is not None, state)
    return actions


def _as_state(state: dict[str, Any]) -> SetupState:
    projected: SetupState = state  # type: ignore[assignment]
    return projected


def _projected_record(
    key: str, args: dict[str, Any], repeats: bool, state: dict[str, Any]
) -> dict[str, Any]:
    """What a step would file, enough for the later steps' arguments."""
    if key == "rotated":
        rotated: RotationRecord = {
            "target": str(args.get("secret", "")), "vault_id": str(args.get("vault", "")),
            "item_id": str(args.get("item", "")),
            "field": OTP_LABEL if "replaces" in args else "password", "version": 0,
            "rotation": "(this run)", "previous_kept": True,
        }  # fmt: skip
        return {key: rotated}
    if not repeats:
        return {key: {"subject": "", "outcome": "projected"}}
    name = str(args.get("to") or args.get("secret") or "")
    filed: StoreDeleteRecord = {"target": name, "outcome": "projected", "recovery_days": 0}
    return {key: {**state.get(key, {}), name: filed}}


def results_of(values: dict[str, Any]) -> dict[str, Any]:
    """The records a lifecycle run's state holds, by state key (references and counts)."""
    return {key: values[key] for key in RESULT_KEYS if key in values}


def plan_file(target: str) -> Path | None:
    """``target`` as a plan file, if a file by that name exists."""
    path = Path(target)
    return path if path.is_file() else None
