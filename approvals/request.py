"""Interrupt payloads (what a run waits for) and the strict parsing of their answers.

Three kinds: ``approval`` (an ``Action`` and its digest), ``vault_session`` (the one approval
of vault access for the run) and ``human_step`` (a page where a person must act). Payloads and
answers are plain JSON data with no secret; LangGraph checkpoints both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from approvals.action import Action, canonical_json
from approvals.errors import ApprovalExpired, DigestMismatch, InvalidDecision

__all__ = [
    "ApprovalRequest",
    "Approved",
    "Decision",
    "Edited",
    "HumanAck",
    "Rejected",
    "parse_ack",
    "parse_decision",
    "session_digest",
]


@dataclass(frozen=True)
class ApprovalRequest:
    """An approval asked at a gate (``kind`` is ``approval`` or ``vault_session``)."""

    kind: str
    run_id: str
    digest: str
    requested_at: float
    expires_at: float
    action: Action | None = None
    summary: str = ""

    def to_payload(self) -> dict[str, Any]:
        """The interrupt payload."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "run_id": self.run_id,
            "digest": self.digest,
            "requested_at": self.requested_at,
            "expires_at": self.expires_at,
            "summary": self.summary,
        }
        if self.action is not None:
            out["action"] = self.action.to_payload()
        return out


@dataclass(frozen=True)
class Approved:
    """Go ahead with the action of ``digest``."""

    digest: str
    approver: str
    at: float
    reason: str = ""


@dataclass(frozen=True)
class Rejected:
    """Do not; the run ends and says ``reason``."""

    digest: str
    approver: str
    at: float
    reason: str


@dataclass(frozen=True)
class Edited:
    """Do ``action`` instead (other argument values): it is asked again."""

    digest: str
    approver: str
    at: float
    action: Action
    reason: str = ""


Decision = Approved | Rejected | Edited


@dataclass(frozen=True)
class HumanAck:
    """A person says the page is done."""

    by: str


def session_digest(run_id: str, backend: str, vaults: tuple[str, ...], plan_digest: str) -> str:
    """The digest of a vault-session request."""
    body = canonical_json(
        {"run": run_id, "backend": backend, "vaults": list(vaults), "plan": plan_digest}
    )
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


_KEYS = {"decision", "digest", "approver", "reason", "args"}


def parse_decision(value: object, request: ApprovalRequest, *, now: float) -> Decision:
    """The decision in a resume value, checked strictly against ``request``.

    Raises:
        InvalidDecision: Not an object of the decision's keys and types, or an unknown decision.
        DigestMismatch: It answers another action.
        ApprovalExpired: It came after the request expired.
        EditRefused: An edit would widen the action.
    """
    if not isinstance(value, Mapping):
        raise InvalidDecision("an answer must be an object with decision, digest and approver")
    extra = sorted(set(value) - _KEYS)
    if extra:
        raise InvalidDecision(f"unknown keys in the answer: {', '.join(map(str, extra))}")
    decision, digest = value.get("decision"), value.get("digest")
    approver, reason = value.get("approver"), value.get("reason", "")
    if decision not in ("approve", "reject", "edit"):
        raise InvalidDecision("decision must be approve, reject or edit")
    if not isinstance(digest, str) or not isinstance(reason, str):
        raise InvalidDecision("digest and reason must be text")
    if not isinstance(approver, str) or not approver.strip():
        raise InvalidDecision("an answer must name its approver")
    if digest != request.digest:
        raise DigestMismatch(
            f"the answer is for {digest[:15]}…, not for the waiting {_what(request)} "
            f"({request.digest[:15]}…)"
        )
    if now >= request.expires_at:
        raise ApprovalExpired(f"the request for {_what(request)} expired; ask again with resume")
    if decision == "reject":
        if not reason.strip():
            raise InvalidDecision("a rejection needs a reason")
        return Rejected(digest, approver, now, reason)
    if decision == "edit":
        args = value.get("args")
        if request.action is None or not isinstance(args, Mapping):
            raise InvalidDecision("an edit needs args, and only an action can be edited")
        return Edited(digest, approver, now, request.action.with_args(args), reason)
    if "args" in value:
        raise InvalidDecision("args belong to an edit, not to an approval")
    return Approved(digest, approver, now, reason)


def parse_ack(value: object) -> HumanAck:
    """A person's answer to a hand-off: ``{"done": true, "by": NAME}``.

    Raises:
        InvalidDecision: Any other shape, or ``done`` not true.
    """
    if not isinstance(value, Mapping) or set(value) != {"done", "by"}:
        raise InvalidDecision("a hand-off answer is {done: true, by: NAME}")
    by = value["by"]
    if value["done"] is not True or not isinstance(by, str) or not by.strip():
        raise InvalidDecision("a hand-off answer needs done: true and who did it")
    return HumanAck(by)


def _what(request: ApprovalRequest) -> str:
    return request.action.name if request.action is not None else request.kind
