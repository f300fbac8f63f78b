"""One approval for a whole plan: the vault session and every action, bound to their digests.

A run's first gate (the vault session) offers its plan beside it: every action the run will
take, each with its digest. Approving the offer's digest approves the session and covers each
listed action — a step whose action comes with the listed digest, before the expiry, is
approved without asking. A step whose action differs when it comes (an edited argument,
another reference, a store target the plan did not list) is asked on its own. A policy still
decides first: ``deny`` denies, and a rule that names an action ``ask`` asks for it even
inside an approved plan.

>>> from vaultborn.approvals.action import Action
>>> seed = Action("seed", {"to": "aws-secretsmanager://us-east-1/x"}, ("store.put",))
>>> offer = PlanRequest("run-1", "local", ("ACL",), "sha256:p", "s", 0, 60,
...                     actions=(("seed[0]", seed),))
>>> offer.digest != offer.session_digest
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vaultborn.approvals.action import Action, require_text, sha256_digest
from vaultborn.approvals.errors import InvalidDecision
from vaultborn.approvals.policy import SESSION, Policy
from vaultborn.approvals.request import (
    Approved,
    VaultSessionRequest,
    derived_request_id,
    session_digest,
)

__all__ = ["PLAN", "PlanApproval", "PlanRequest", "plan_approval_digest"]

PLAN = "plan"
"""How the audit log names a plan approval (its subject)."""

_RECORD_KEYS = frozenset(
    {"digest", "plan_digest", "session", "actions", "expires_at", "approver", "at"}
)


def plan_approval_digest(session: str, plan_digest: str, actions: Sequence[tuple[str, str]]) -> str:
    """The digest one approval of a plan carries: its session and every action's digest.

    The times are left out, as for an ``Action``: the digest names what is approved.

    Args:
        session: The vault session's digest (it names the run, vault backend and plan).
        plan_digest: The plan's digest.
        actions: ``(gate key, action digest)`` in the order the run takes them.
    """
    return sha256_digest(
        {"session": session, "plan": plan_digest, "actions": [list(pair) for pair in actions]}
    )


@dataclass(frozen=True)
class PlanRequest(VaultSessionRequest):
    """The vault session of a run offered with its whole plan: one answer for all of it.

    Its ``digest`` is the plan approval's (``plan_approval_digest``); ``session_digest`` is
    the vault session's alone, which an answer may carry instead to approve the session only.
    A plan cannot be edited: an edit is an answer to one action, at its own gate.

    Attributes:
        actions: ``(gate key, Action)`` of every step the run will take, in order.
    """

    actions: tuple[tuple[str, Action], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.request_id:  # the session's id: one request, whichever digest answers it
            object.__setattr__(
                self,
                "request_id",
                derived_request_id(self.run_id, self.session_digest, self.requested_at),
            )
        super().__post_init__()
        for key, action in self.actions:
            require_text(key, "a planned action's key")
            if not isinstance(action, Action):
                raise TypeError("a plan lists Actions")

    @property
    def session_digest(self) -> str:
        """The vault session's own digest."""
        return session_digest(self.run_id, self.backend, self.vaults, self.plan_digest)

    @property
    def digest(self) -> str:
        """The digest an answer approving the whole plan carries."""
        pairs = [(key, action.digest) for key, action in self.actions]
        return plan_approval_digest(self.session_digest, self.plan_digest, pairs)

    @property
    def subject(self) -> str:
        """What the request is about, for messages."""
        return "plan"

    def session(self) -> VaultSessionRequest:
        """The vault session alone, as an answer for the session only is checked against."""
        return VaultSessionRequest(
            self.run_id, self.backend, self.vaults, self.plan_digest, self.summary,
            self.requested_at, self.expires_at, self.request_id,
        )  # fmt: skip

    def offer(self) -> dict[str, Any]:
        """The plan as a person is shown it: its digest, expiry and every action."""
        return {
            "digest": self.digest,
            "expires_at": self.expires_at,
            "actions": [
                {"key": key, "digest": action.digest, **action.to_payload()}
                for key, action in self.actions
            ],
        }

    def to_payload(self) -> dict[str, Any]:
        """The interrupt payload: the vault session's, and the plan under ``plan``."""
        return {**self.session().to_payload(), "plan": self.offer()}

    def approval(self, decision: Approved) -> PlanApproval:
        """The plan approval an approving answer gives."""
        return PlanApproval(
            digest=self.digest,
            plan_digest=self.plan_digest,
            session=self.session_digest,
            actions={key: action.digest for key, action in self.actions},
            expires_at=self.expires_at,
            approver=decision.approver,
            at=decision.at,
        )


@dataclass(frozen=True)
class PlanApproval:
    """An approval that covers a run's vault session and the actions of its plan.

    Attributes:
        digest: The approval's own digest (``plan_approval_digest``).
        plan_digest: The plan it was given for.
        session: The vault session's digest it covers ("" for none).
        actions: The digest of each covered action, by gate key.
        expires_at: Nothing is covered from then on (the steps are asked on their own).
        approver: Who approved.
        at: When.
    """

    digest: str
    plan_digest: str
    session: str
    actions: Mapping[str, str]
    expires_at: float
    approver: str
    at: float

    def __post_init__(self) -> None:
        for name in ("digest", "plan_digest", "session", "approver"):
            require_text(getattr(self, name), name)
        if not isinstance(self.actions, Mapping):
            raise TypeError("a plan approval's actions map gate keys to digests")
        actions = {
            require_text(k, "a gate key"): require_text(v, k) for k, v in self.actions.items()
        }
        object.__setattr__(self, "actions", MappingProxyType(actions))
        for name in ("expires_at", "at"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number of seconds")

    def covers(self, key: str, action: Action, policy: Policy, now: float) -> Approved | None:
        """The approval of ``action`` at gate ``key`` by this plan approval, or None.

        None when the policy decides the action itself (it allows or denies it, or names it
        ``ask``), when the action's digest is not the one approved, or from the expiry on.
        """
        if policy.rule_for(action) != "ask" or action.name in policy.actions:
            return None
        if self.actions.get(key) != action.digest or not now < self.expires_at:
            return None
        return Approved(action.digest, self.approver, now, f"{PLAN} {self.digest}")

    def covers_session(self, digest: str, policy: Policy, now: float) -> Approved | None:
        """The approval of the vault session of ``digest``, or None (as ``covers``)."""
        if SESSION in policy.actions or not self.session or self.session != digest:
            return None
        if not now < self.expires_at:
            return None
        return Approved(digest, self.approver, now, f"{PLAN} {self.digest}")

    def to_record(self) -> dict[str, Any]:
        """Plain data, as the run's state keeps it."""
        return {
            "digest": self.digest,
            "plan_digest": self.plan_digest,
            "session": self.session,
            "actions": dict(self.actions),
            "expires_at": self.expires_at,
            "approver": self.approver,
            "at": self.at,
        }

    @classmethod
    def from_record(cls, data: object) -> PlanApproval:
        """The approval ``to_record`` made, checked strictly.

        Raises:
            InvalidDecision: Not exactly that shape.
        """
        if not isinstance(data, Mapping) or set(data) != _RECORD_KEYS:
            raise InvalidDecision(
                f"a plan approval needs exactly the keys {', '.join(sorted(_RECORD_KEYS))}"
            )
        try:
            return cls(**{key: data[key] for key in _RECORD_KEYS})
        except (TypeError, ValueError) as error:
            raise InvalidDecision(f"not a plan approval: {error}") from None
