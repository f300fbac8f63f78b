"""A saved plan: ``vaultborn plan --out FILE``, then ``vaultborn setup --approval FILE``.

As ``terraform plan -out`` and ``apply``: the file lists every action a run will take, each
with its digest, the vault session of the run it reserves, and the digest of all of it; running
``setup --approval FILE`` is the one approval, recorded with the user who ran it. The run then
takes the file's run id (so a file starts one run only) and asks nothing the file covers: a
step whose action differs from the file's (the plan was edited since, another store target) is
asked on its own, and so is the vault session when the plan is not the file's. Past its expiry
the file approves nothing.

The file holds the plan's references, the actions' arguments and digests, never a value.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaultborn.approvals.action import Action
from vaultborn.approvals.errors import InvalidDecision
from vaultborn.approvals.plan_approval import PlanApproval, plan_approval_digest
from vaultborn.approvals.request import session_digest
from vaultborn.core.errors import UsageError
from vaultborn.core.files import read_small_file
from vaultborn.nodes.plan_actions import planned_actions
from vaultborn.nodes.steps import STEPS
from vaultborn.runner.plan import Plan

__all__ = ["KIND", "SavedPlan", "read_plan_file", "save_plan", "write_plan_file"]

KIND = "vaultborn-plan/1"
"""The saved plan's format, first in the file."""

_KEYS = frozenset(
    {"kind", "run_id", "source", "plan_digest", "backend", "vaults", "session", "actions",
     "digest", "created_at", "expires_at"}
)  # fmt: skip


@dataclass(frozen=True)
class SavedPlan:
    """What ``plan --out`` saved: the run it reserves, and every digest it approves.

    Attributes:
        run_id: The run that applying the file starts.
        source: Where the plan came from (a path, or the embedded default).
        plan_digest: The plan's digest.
        backend: The vault backend the session is for.
        vaults: The vaults the session opens.
        session: The vault session's digest (for ``run_id``).
        actions: Every action, in order: ``key``, ``name``, ``summary``, ``effects``, ``args``,
            ``digest``.
        digest: The digest of the session and every action (``plan_approval_digest``).
        created_at: When it was saved.
        expires_at: Applying it approves nothing from then on.
    """

    run_id: str
    source: str
    plan_digest: str
    backend: str
    vaults: tuple[str, ...]
    session: str
    actions: tuple[dict[str, Any], ...]
    digest: str
    created_at: float
    expires_at: float

    def as_dict(self) -> dict[str, Any]:
        """The file's JSON."""
        return {
            "kind": KIND,
            "run_id": self.run_id,
            "source": self.source,
            "plan_digest": self.plan_digest,
            "backend": self.backend,
            "vaults": list(self.vaults),
            "session": self.session,
            "actions": list(self.actions),
            "digest": self.digest,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }

    def approval(self, approver: str, now: float) -> PlanApproval:
        """The plan approval of applying this file as ``approver`` at ``now``.

        Raises:
            UsageError: The file expired.
        """
        if not now < self.expires_at:
            raise UsageError(
                f"the saved plan of run {self.run_id} expired; run vaultborn plan again"
            )
        return PlanApproval(
            digest=self.digest,
            plan_digest=self.plan_digest,
            session=self.session,
            actions={a["key"]: a["digest"] for a in self.actions},
            expires_at=self.expires_at,
            approver=approver,
            at=now,
        )


def save_plan(plan: Plan, backend: str, *, run_id: str, now: float, ttl: float) -> SavedPlan:
    """The saved plan of a run ``run_id`` of ``plan`` on the ``backend`` vault."""
    vaults = (plan.vault.name,)
    session = session_digest(run_id, backend, vaults, plan.digest)
    planned = planned_actions(plan.to_dict())
    actions = tuple(
        {"key": key, **action.to_payload(), "digest": action.digest} for key, action in planned
    )
    pairs = [(key, action.digest) for key, action in planned]
    return SavedPlan(
        run_id=run_id, source=plan.source, plan_digest=plan.digest, backend=backend,
        vaults=vaults, session=session, actions=actions,
        digest=plan_approval_digest(session, plan.digest, pairs), created_at=now,
        expires_at=now + ttl,
    )  # fmt: skip


def write_plan_file(path: Path, saved: SavedPlan) -> None:
    """Write ``saved`` to ``path`` (replacing it).

    Raises:
        UsageError: It cannot be written.
    """
    text = json.dumps(saved.as_dict(), indent=2, ensure_ascii=False) + "\n"
    partial = path.with_name(path.name + ".partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write the saved plan {path}: {error.strerror}") from None


def read_plan_file(path: Path) -> SavedPlan:
    """The saved plan at ``path``, checked: its digest is recomputed from what it lists.

    Raises:
        UsageError: It cannot be read, is not a saved plan, or was altered.
    """
    try:
        data = json.loads(read_small_file(path))
    except OSError as error:
        raise UsageError(f"cannot read the saved plan {path}: {error.strerror}") from None
    except ValueError:
        raise UsageError(f"{path} is not a saved plan (not JSON)") from None
    if not isinstance(data, dict) or data.get("kind") != KIND or set(data) != _KEYS:
        raise UsageError(f"{path} is not a saved plan of this vaultborn ({KIND})")
    try:
        saved = SavedPlan(
            run_id=_text(data["run_id"]), source=_text(data["source"]),
            plan_digest=_text(data["plan_digest"]), backend=_text(data["backend"]),
            vaults=tuple(_text(v) for v in data["vaults"]), session=_text(data["session"]),
            actions=tuple(_action(a) for a in data["actions"]), digest=_text(data["digest"]),
            created_at=_time(data["created_at"]), expires_at=_time(data["expires_at"]),
        )  # fmt: skip
    except (TypeError, KeyError):
        raise UsageError(f"{path} is not a saved plan (a field has the wrong type)") from None
    pairs = [(a["key"], a["digest"]) for a in saved.actions]
    if plan_approval_digest(saved.session, saved.plan_digest, pairs) != saved.digest:
        raise UsageError(f"the saved plan {path} was altered (its digest does not match)")
    return saved


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("text expected")
    return value


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError("a number of seconds expected")
    return float(value)


def _action(value: object) -> dict[str, Any]:
    """A listed action, its digest recomputed from what it shows (name, args, effects)."""
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        raise TypeError("an action expected")
    shown = {k: v for k, v in value.items() if k not in ("key", "digest")}
    try:
        action = Action.from_payload(shown)
    except InvalidDecision:
        raise TypeError("an action expected") from None
    step = STEPS.get(action.name)
    # The summary is not in the digest, but it is what a person reads: it must be the step's.
    if step is None or step.summary(dict(action.args)) != action.summary:
        raise TypeError("an action's summary is not its step's")
    if value.get("digest") != action.digest:
        raise TypeError("an action's digest does not match it")
    return value
