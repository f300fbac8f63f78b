"""Interrupt payloads (what a run waits for) and the strict parsing of their answers.

Three kinds, each a frozen request with ``to_payload()`` (the interrupt value: plain JSON, no
secret) and a strict ``from_payload()``:

- ``approval`` — ``ApprovalRequest``: an ``Action`` and its digest;
- ``vault_session`` — ``VaultSessionRequest``: the one approval of vault access for a run;
- ``human_step`` — ``HumanStepRequest``: a page where a person must act.

An answer to the first two is ``{"decision", "digest", "run_id", "request_id", "approver",
"reason"}`` (plus ``args`` for an edit), read by ``parse_decision``: it names the action (its
digest), the run and the request (asked once: a request asked again gets another id), so an
approval of one run's ``create_item`` is not one of another run's, nor of a later request. A
hand-off's answer is ``{"done": true, "by"}``, read by ``parse_ack``. ``answer_for`` builds an
answer from what a run waits for: every answering path (the CLI, the terminal prompt, programs,
an inbox) fills the binding the same way. One check, one error: each refusal is its own
``ApprovalError`` subclass with a one-line message naming at most the run, the action and a
short digest prefix, never a value of the answer.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from vaultborn.approvals.action import Action, require_text, sha256_digest
from vaultborn.approvals.errors import (
    ApprovalExpired,
    DigestMismatch,
    InvalidDecision,
    RequestMismatch,
)

__all__ = [
    "MAX_TTL_SECONDS",
    "ApprovalRequest",
    "Approved",
    "Decision",
    "Edited",
    "HumanAck",
    "HumanStepRequest",
    "Rejected",
    "VaultSessionRequest",
    "answer_for",
    "checked_ttl",
    "derived_request_id",
    "new_request_id",
    "parse_ack",
    "parse_decision",
    "session_digest",
]

_LINE_MAX = 200
"""Longest approver or ``by`` name accepted (it lands in the audit log and the terminal)."""


MAX_TTL_SECONDS = 30 * 24 * 3600.0
"""The longest time a request may stay answerable (30 days): a bound, so that no expiry is
infinite and no sum of times overflows."""


def checked_ttl(value: object, where: str = "ttl_seconds") -> float:
    """``value`` as the seconds a request stays answerable: a finite number in (0, 30 days].

    Raises:
        TypeError: Not a number (``True`` is not one).
        ValueError: Not finite, not positive, or longer than ``MAX_TTL_SECONDS``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{where} must be a number of seconds")
    if not (math.isfinite(value) and 0 < value <= MAX_TTL_SECONDS):
        raise ValueError(
            f"{where} must be a number of seconds above 0 and at most {MAX_TTL_SECONDS:.0f}"
        )
    return float(value)


def new_request_id() -> str:
    """A fresh id for a request, fixed when it is first asked (kept in the run's state)."""
    return "req-" + secrets.token_hex(8)


def derived_request_id(run_id: str, digest: str, requested_at: float) -> str:
    """The id of a request whose state keeps none: from the run, the digest and the time asked.

    A request asked again is asked at another time, so it gets another id.
    """
    return "req-" + sha256_digest([run_id, digest, repr(requested_at)])[7:23]


def _time(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"{where} must be a finite number of seconds")
    return float(value)


def _window(requested_at: float, expires_at: float) -> None:
    _time(requested_at, "requested_at")
    if _time(expires_at, "expires_at") <= requested_at:
        raise ValueError("expires_at must come after requested_at")


def _short(digest: str) -> str:
    return digest[:15] + "…"


def _strict(data: object, keys: frozenset[str], what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping) or set(data) != keys:
        raise InvalidDecision(f"{what} payload needs exactly the keys {', '.join(sorted(keys))}")
    return data


@dataclass(frozen=True)
class ApprovalRequest:
    """An ``Action`` waiting for a person's decision.

    Attributes:
        run_id: The run (LangGraph thread) that waits.
        action: What would be done.
        requested_at: When it was first asked (UNIX time, kept in the run's state so that the
            gate's re-run on resume sees the same value).
        expires_at: No answer is taken from then on.
        request_id: This request's id, fixed when it was first asked (``new_request_id``);
            "" derives one from the run, the digest and ``requested_at``.
    """

    kind: ClassVar[str] = "approval"
    _keys: ClassVar[frozenset[str]] = frozenset(
        {"kind", "run_id", "request_id", "digest", "requested_at", "expires_at", "summary",
         "action"}
    )  # fmt: skip

    run_id: str
    action: Action
    requested_at: float
    expires_at: float
    request_id: str = ""

    def __post_init__(self) -> None:
        require_text(self.run_id, "run_id")
        if not isinstance(self.action, Action):
            raise TypeError("an approval request carries an Action")
        _window(self.requested_at, self.expires_at)
        _identify(self)

    @property
    def digest(self) -> str:
        """The digest an answer must carry: the action's."""
        return self.action.digest

    @property
    def subject(self) -> str:
        """What the request is about, for messages: the action's name."""
        return self.action.name

    def to_payload(self) -> dict[str, Any]:
        """The interrupt payload: plain JSON data, no secret."""
        return {
            "kind": self.kind,
            "run_id": self.run_id,
            "request_id": self.request_id,
            "digest": self.digest,
            "requested_at": self.requested_at,
            "expires_at": self.expires_at,
            "summary": self.action.summary,
            "action": self.action.to_payload(),
        }

    @classmethod
    def from_payload(cls, data: object) -> ApprovalRequest:
        """The request ``to_payload`` made, checked strictly (its digest is recomputed).

        Raises:
            InvalidDecision: Not exactly that shape, or the digest does not match the action.
        """
        data = _strict(data, cls._keys, "an approval")
        if data["kind"] != cls.kind:
            raise InvalidDecision("not an approval payload")
        try:
            request = cls(
                data["run_id"], Action.from_payload(data["action"]), data["requested_at"],
                data["expires_at"], data["request_id"],
            )  # fmt: skip
        except (TypeError, ValueError) as error:
            raise InvalidDecision(f"not an approval payload: {error}") from None
        if data["digest"] != request.digest or data["summary"] != request.action.summary:
            raise InvalidDecision(f"the approval payload of {request.subject} was altered")
        return request


def _identify(request: ApprovalRequest | VaultSessionRequest) -> None:
    """Check ``request_id`` (one line of text), or derive it when it is ""."""
    given = require_text(request.request_id, "request_id")
    if given and not _one_line(given):
        raise ValueError("request_id must be one line of text")
    if not given:
        derived = derived_request_id(request.run_id, request.digest, request.requested_at)
        object.__setattr__(request, "request_id", derived)


def session_digest(run_id: str, backend: str, vaults: tuple[str, ...], plan_digest: str) -> str:
    """The digest of a vault-session request: the run, the backend, the vaults and the plan.

    The times are left out, as for an ``Action``: the digest names what is approved.
    """
    return sha256_digest(
        {"run": run_id, "backend": backend, "vaults": list(vaults), "plan": plan_digest}
    )


@dataclass(frozen=True)
class VaultSessionRequest:
    """The one approval of vault access for a run ("Touch ID once").

    Attributes:
        run_id: The run that waits.
        backend: The vault backend's name (``local``, ``1password`` …).
        vaults: The vaults the run will use.
        plan_digest: The digest of the plan the run carries out.
        summary: One line for the person.
        requested_at: When it was first asked (kept in the run's state).
        expires_at: No answer is taken from then on.
        request_id: This request's id; "" derives one from the run, the digest and
            ``requested_at`` (a session asked again is asked at another time).
    """

    kind: ClassVar[str] = "vault_session"
    _keys: ClassVar[frozenset[str]] = frozenset(
        {"kind", "run_id", "request_id", "digest", "requested_at", "expires_at", "summary",
         "backend", "vaults", "plan_digest"}
    )  # fmt: skip

    run_id: str
    backend: str
    vaults: tuple[str, ...]
    plan_digest: str
    summary: str
    requested_at: float
    expires_at: float
    request_id: str = ""

    def __post_init__(self) -> None:
        for name in ("run_id", "backend", "plan_digest", "summary"):
            require_text(getattr(self, name), name)
        if isinstance(self.vaults, str) or not isinstance(self.vaults, list | tuple):
            raise TypeError("vaults must be a tuple of names")
        object.__setattr__(self, "vaults", tuple(require_text(v, "vaults") for v in self.vaults))
        _window(self.requested_at, self.expires_at)
        _identify(self)

    @property
    def digest(self) -> str:
        """The digest an answer must carry."""
        return session_digest(self.run_id, self.backend, self.vaults, self.plan_digest)

    @property
    def subject(self) -> str:
        """What the request is about, for messages."""
        return "vault session"

    def to_payload(self) -> dict[str, Any]:
        """The interrupt payload: plain JSON data, no secret."""
        return {
            "kind": self.kind,
            "run_id": self.run_id,
            "request_id": self.request_id,
            "digest": self.digest,
            "requested_at": self.requested_at,
            "expires_at": self.expires_at,
            "summary": self.summary,
            "backend": self.backend,
            "vaults": list(self.vaults),
            "plan_digest": self.plan_digest,
        }

    @classmethod
    def from_payload(cls, data: object) -> VaultSessionRequest:
        """The request ``to_payload`` made, checked strictly (its digest is recomputed).

        Raises:
            InvalidDecision: Not exactly that shape, or the digest does not match.
        """
        data = _strict(data, cls._keys, "a vault session")
        if data["kind"] != cls.kind:
            raise InvalidDecision("not a vault session payload")
        try:
            request = cls(
                data["run_id"], data["backend"], data["vaults"], data["plan_digest"],
                data["summary"], data["requested_at"], data["expires_at"], data["request_id"],
            )  # fmt: skip
        except (TypeError, ValueError) as error:
            raise InvalidDecision(f"not a vault session payload: {error}") from None
        if data["digest"] != request.digest:
            raise InvalidDecision("the vault session payload was altered")
        return request


@dataclass(frozen=True)
class HumanStepRequest:
    """A page where a person must act (a CAPTCHA, a human check, an unknown screen).

    Attributes:
        run_id: The run that waits.
        url: The page, reduced to scheme, host and path: a query, a fragment or a user name
            and password in the URL (where tokens travel) are dropped.
        instructions: One line saying what to do.
    """

    kind: ClassVar[str] = "human_step"
    _keys: ClassVar[frozenset[str]] = frozenset({"kind", "run_id", "url", "instructions"})

    run_id: str
    url: str
    instructions: str

    def __post_init__(self) -> None:
        require_text(self.run_id, "run_id")
        require_text(self.instructions, "instructions")
        parts = urlsplit(require_text(self.url, "url"))
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        object.__setattr__(self, "url", urlunsplit((parts.scheme, netloc, parts.path, "", "")))

    def to_payload(self) -> dict[str, Any]:
        """The interrupt payload: plain JSON data, no secret."""
        return {
            "kind": self.kind,
            "run_id": self.run_id,
            "url": self.url,
            "instructions": self.instructions,
        }

    @classmethod
    def from_payload(cls, data: object) -> HumanStepRequest:
        """The request ``to_payload`` made, checked strictly.

        Raises:
            InvalidDecision: Not exactly that shape.
        """
        data = _strict(data, cls._keys, "a human step")
        if data["kind"] != cls.kind:
            raise InvalidDecision("not a human step payload")
        try:
            return cls(data["run_id"], data["url"], data["instructions"])
        except (TypeError, ValueError) as error:
            raise InvalidDecision(f"not a human step payload: {error}") from None


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
    """Do ``action`` instead (other argument values): it has another digest, and is asked again.

    ``digest`` is the digest of the action that was edited.
    """

    digest: str
    approver: str
    at: float
    action: Action
    reason: str = field(default="")


Decision = Approved | Rejected | Edited
"""What a gate returns."""

Request = ApprovalRequest | VaultSessionRequest
"""A request that takes a decision."""


@dataclass(frozen=True)
class HumanAck:
    """A person says the page is done."""

    by: str


_REQUIRED = frozenset({"decision", "digest", "run_id", "request_id", "approver", "reason"})
_ALLOWED = _REQUIRED | {"args"}


def _one_line(value: str) -> bool:
    return len(value) <= _LINE_MAX and value.isprintable()


def _shape(value: object) -> Mapping[str, Any]:
    """The answer checked for keys and types (nothing about the request yet)."""
    if not isinstance(value, Mapping):
        raise InvalidDecision(
            "an answer must be an object with decision, digest, run_id, request_id and approver"
        )
    if not set(value) <= _ALLOWED:
        raise InvalidDecision(
            "an answer may have only the keys decision, digest, run_id, request_id, approver, "
            "reason and args"
        )
    missing = sorted(_REQUIRED - set(value))
    if missing:
        raise InvalidDecision(f"the answer lacks {', '.join(missing)}")
    if value["decision"] not in ("approve", "reject", "edit"):
        raise InvalidDecision("decision must be approve, reject or edit")
    if not isinstance(value["digest"], str) or not isinstance(value["reason"], str):
        raise InvalidDecision("digest and reason must be text")
    if not value["digest"].strip():
        # An empty digest must never stand for "whatever waits": it names no action.
        raise InvalidDecision("an answer must name the digest of the action it answers")
    for key in ("run_id", "request_id"):
        named = value[key]
        if not isinstance(named, str) or not named.strip() or not _one_line(named):
            raise InvalidDecision(f"an answer must name its {key}, on one line")
    approver = value["approver"]
    if not isinstance(approver, str) or not approver.strip() or not _one_line(approver):
        raise InvalidDecision("an answer must name its approver, on one line")
    if "\n" in value["reason"] or "\r" in value["reason"]:
        raise InvalidDecision("a reason must be one line")
    if value["decision"] == "reject" and not value["reason"].strip():
        raise InvalidDecision("a rejection needs a reason")
    if value["decision"] == "edit" and not isinstance(value.get("args"), Mapping):
        raise InvalidDecision("an edit needs args: an object of argument values")
    if value["decision"] != "edit" and "args" in value:
        raise InvalidDecision("args belong to an edit, not to an approval or a rejection")
    return value


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def parse_decision(value: object, request: Request, *, now: float) -> Decision:
    """The decision in a resume value, checked strictly against ``request``.

    The checks run in this order, each with its own error: the answer's shape, its run, its
    digest, its request, the expiry, then (for an edit) the edit itself.

    Args:
        value: What ``interrupt()`` returned (the resume value).
        request: The request that was asked.
        now: UNIX time now (from the caller's clock).

    Raises:
        InvalidDecision: Not an object of the decision's keys and types, an empty digest, an
            unknown decision, a rejection without a reason, or an edit of a vault session.
        RequestMismatch: It answers another run, or another (earlier) request of this run.
        DigestMismatch: It answers another action (or this one with other arguments).
        ApprovalExpired: ``now`` is not before the request's ``expires_at``; the message says
            when it was asked and when it expired.
        EditRefused: An edit would add arguments or set a value that is not a scalar.
    """
    answer = _shape(value)
    decision, digest, approver, reason = (
        answer["decision"], answer["digest"], answer["approver"], answer["reason"]
    )  # fmt: skip
    if answer["run_id"] != request.run_id:
        raise RequestMismatch(
            f"the answer is for another run, not for the {request.subject} of {request.run_id}"
        )
    if digest != request.digest:
        raise DigestMismatch(
            f"the answer is not for the waiting {request.subject} ({_short(request.digest)})"
        )
    if answer["request_id"] != request.request_id:
        raise RequestMismatch(
            f"the answer is for an earlier request of {request.subject}, not the waiting one "
            f"({request.request_id})"
        )
    if not now < request.expires_at:
        raise ApprovalExpired(
            f"the request for {request.subject} expired at {_when(request.expires_at)} "
            f"(asked {_when(request.requested_at)}) before this answer came"
        )
    if decision == "reject":
        return Rejected(digest, approver, now, reason)
    if decision == "edit":
        if not isinstance(request, ApprovalRequest):
            raise InvalidDecision(f"the {request.subject} cannot be edited, only approved")
        return Edited(digest, approver, now, request.action.with_args(answer["args"]), reason)
    return Approved(digest, approver, now, reason)


def answer_for(
    waiting: Mapping[str, Any],
    decision: str,
    *,
    approver: str,
    reason: str = "",
    digest: str | None = None,
    args: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The answer to what a run waits for (its interrupt payload), bound to what was shown.

    The run, the request and — unless ``digest`` names the one the person reviewed — the
    digest come from ``waiting``; ``parse_decision`` checks them against the request the run
    asks. A hand-off gets its acknowledgement (``decision == "approve"`` means done).

    Args:
        waiting: The payload the run waits with (``RunView.waiting``).
        decision: ``approve``, ``reject`` or ``edit``.
        approver: Who answers (the name a person gives, or the process's account).
        reason: Why (a rejection needs one).
        digest: The digest the person reviewed; None takes the waiting one's. An empty one
            stays empty, and is refused.
        args: An edit's argument values.
    """
    if waiting.get("kind") == "human_step":
        return {"done": decision == "approve", "by": approver}
    answer: dict[str, Any] = {
        "decision": decision,
        "digest": waiting.get("digest") if digest is None else digest,
        "run_id": waiting.get("run_id"),
        "request_id": waiting.get("request_id"),
        "approver": approver,
        "reason": reason,
    }
    if args is not None:
        answer["args"] = dict(args)
    return answer


def parse_ack(value: object, request: HumanStepRequest) -> HumanAck:
    """A person's answer to a hand-off: ``{"done": true, "by": NAME}``.

    Args:
        value: What ``interrupt()`` returned.
        request: The hand-off that was asked (its run is named in messages).

    Raises:
        InvalidDecision: Any other shape, ``done`` not true, or no name on one line.
    """
    if not isinstance(value, Mapping) or set(value) != {"done", "by"}:
        raise InvalidDecision(f"the hand-off in run {request.run_id} takes {{done: true, by}}")
    by = value["by"]
    if value["done"] is not True:
        raise InvalidDecision(f"the hand-off in run {request.run_id} is answered when done")
    if not isinstance(by, str) or not by.strip() or not _one_line(by):
        raise InvalidDecision("a hand-off answer names who did it, on one line")
    return HumanAck(by)
