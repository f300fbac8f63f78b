"""Requests and the strict parsing of answers: one check, one error, one value-free line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vaultborn.approvals.action import Action
from vaultborn.approvals.errors import (
    ApprovalError,
    ApprovalExpired,
    DigestMismatch,
    EditRefused,
    InvalidDecision,
    RequestMismatch,
)
from vaultborn.approvals.request import (
    ApprovalRequest,
    Approved,
    Edited,
    HumanStepRequest,
    Rejected,
    VaultSessionRequest,
    answer_for,
    checked_ttl,
    derived_request_id,
    parse_ack,
    parse_decision,
)
from vaultborn.core.errors import UsageError
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("approval integrity: answer parsing")

ACTION = Action(
    "create_item",
    {"vault": "ACL", "title": "Auth0 — admin", "password_recipe": "letters,32"},
    ("vault.create_item",),
    "Create the break-glass item",
)
REQUEST = ApprovalRequest("run-1", ACTION, requested_at=1000.0, expires_at=4600.0)
SESSION = VaultSessionRequest(
    run_id="run-1", backend="local", vaults=("ACL",), plan_digest="sha256:" + "a" * 64,
    summary="use the local vault", requested_at=1000.0, expires_at=4600.0,
)  # fmt: skip
HUMAN = HumanStepRequest("run-1", "https://idp.test/guardian/enroll", "solve the check")
MARK = "NOT-FOR-MESSAGES"


def answer(**changes: Any) -> dict[str, Any]:
    base = {"decision": "approve", "digest": ACTION.digest, "approver": "ana", "reason": "",
            "run_id": "run-1", "request_id": REQUEST.request_id}  # fmt: skip
    return {**base, **changes}


def test_approve_reject_edit() -> None:
    approved = parse_decision(answer(reason="ok"), REQUEST, now=2000)
    assert approved == Approved(ACTION.digest, "ana", 2000, "ok")
    rejected = parse_decision(answer(decision="reject", reason="not now"), REQUEST, now=2000)
    assert rejected == Rejected(ACTION.digest, "ana", 2000, "not now")
    edited = parse_decision(answer(decision="edit", args={"title": "Other"}), REQUEST, now=2000)
    assert isinstance(edited, Edited) and edited.digest == ACTION.digest
    assert edited.action.args["title"] == "Other"
    assert edited.action.digest != ACTION.digest  # so it is asked again


@pytest.mark.parametrize(
    ("value", "error", "says"),
    [
        ("approve", InvalidDecision, "must be an object"),
        (None, InvalidDecision, "must be an object"),
        (answer(extra=1), InvalidDecision, "only the keys decision, digest, run_id, request_id"),
        ({k: v for k, v in answer().items() if k != "reason"}, InvalidDecision, "lacks reason"),
        ({k: v for k, v in answer().items() if k != "digest"}, InvalidDecision, "lacks digest"),
        ({k: v for k, v in answer().items() if k != "approver"}, InvalidDecision, "lacks approver"),
        (answer(decision="maybe"), InvalidDecision, "approve, reject or edit"),
        (answer(decision=True), InvalidDecision, "approve, reject or edit"),
        (answer(digest=3), InvalidDecision, "must be text"),
        (answer(reason=None), InvalidDecision, "must be text"),
        (answer(approver=" "), InvalidDecision, "name its approver"),
        (answer(approver=7), InvalidDecision, "name its approver"),
        (answer(approver="ana\nbob"), InvalidDecision, "name its approver"),
        (answer(approver="a" * 201), InvalidDecision, "name its approver"),
        (answer(reason="a\nb"), InvalidDecision, "one line"),
        (answer(decision="reject"), InvalidDecision, "needs a reason"),
        (answer(decision="reject", reason="  "), InvalidDecision, "needs a reason"),
        (answer(args={"title": "x"}), InvalidDecision, "belong to an edit"),
        (answer(decision="reject", reason="no", args={}), InvalidDecision, "belong to an edit"),
        (answer(decision="edit"), InvalidDecision, "an edit needs args"),
        (answer(decision="edit", args=["x"]), InvalidDecision, "an edit needs args"),
        ({k: v for k, v in answer().items() if k != "run_id"}, InvalidDecision, "lacks run_id"),
        (
            {k: v for k, v in answer().items() if k != "request_id"},
            InvalidDecision,
            "lacks request_id",
        ),
        (answer(digest=""), InvalidDecision, "must name the digest"),
        (answer(digest="  "), InvalidDecision, "must name the digest"),
        (answer(run_id=""), InvalidDecision, "must name its run_id"),
        (answer(run_id=3), InvalidDecision, "must name its run_id"),
        (answer(request_id=" "), InvalidDecision, "must name its request_id"),
        (answer(request_id="a\nb"), InvalidDecision, "must name its request_id"),
        (answer(run_id="run-2"), RequestMismatch, "for another run, not for the create_item of"),
        (answer(request_id="req-0000000000000000"), RequestMismatch, "an earlier request"),
        (answer(digest="sha256:" + "0" * 64), DigestMismatch, "not for the waiting create_item"),
        (answer(digest=ACTION.digest.upper()), DigestMismatch, "not for the waiting"),
        (answer(decision="edit", args={"new": "x"}), EditRefused, "not add arguments (new)"),
        (answer(decision="edit", args={"title": ["x"]}), EditRefused, "nothing else"),
    ],
)
def test_each_bad_answer_has_its_error(value: object, error: type[Exception], says: str) -> None:
    with pytest.raises(ApprovalError) as caught:
        parse_decision(value, REQUEST, now=2000)
    assert type(caught.value) is error
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_the_digest_mismatch_names_only_the_action_and_a_short_prefix() -> None:
    with pytest.raises(DigestMismatch) as caught:
        parse_decision(answer(digest=f"sha256:{MARK}\nxyz"), REQUEST, now=2000)
    message = str(caught.value)
    assert message == f"the answer is not for the waiting create_item ({ACTION.digest[:15]}…)"


@pytest.mark.parametrize(
    "value",
    [
        answer(**{MARK: "x"}),
        answer(decision=MARK),
        answer(digest=MARK),
        answer(approver=f"{MARK}\n"),
        answer(reason=f"{MARK}\n"),
        answer(decision="edit", args={MARK: "x"}),
        answer(decision="edit", args={"title": [MARK]}),
    ],
)
def test_messages_carry_no_value_of_the_answer(value: object) -> None:
    with pytest.raises(ApprovalError) as caught:
        parse_decision(value, REQUEST, now=2000)
    assert MARK not in str(caught.value)


def test_expiry_is_checked_against_now() -> None:
    with pytest.raises(ApprovalExpired) as late:
        parse_decision(answer(), REQUEST, now=REQUEST.expires_at)
    # It says why, and when: an expired answer is refused out loud, not silently re-asked.
    assert str(late.value) == (
        "the request for create_item expired at 1970-01-01 01:16:40 UTC (asked 1970-01-01 "
        "00:16:40 UTC) before this answer came"
    )
    with pytest.raises(ApprovalExpired):
        parse_decision(answer(decision="reject", reason="late"), REQUEST, now=9e9)
    assert isinstance(parse_decision(answer(), REQUEST, now=REQUEST.expires_at - 0.001), Approved)


def test_a_foreign_digest_is_a_mismatch_even_when_expired() -> None:
    with pytest.raises(DigestMismatch):
        parse_decision(answer(digest="sha256:" + "0" * 64), REQUEST, now=9e9)


def test_vault_session_is_approved_or_rejected_never_edited() -> None:
    bound = {"digest": SESSION.digest, "request_id": SESSION.request_id}
    ok = parse_decision(answer(**bound), SESSION, now=2000)
    assert ok == Approved(SESSION.digest, "ana", 2000)
    with pytest.raises(DigestMismatch, match="not for the waiting vault session"):
        parse_decision(answer(request_id=SESSION.request_id), SESSION, now=2000)
    with pytest.raises(InvalidDecision, match="cannot be edited"):
        parse_decision(answer(decision="edit", args={}, **bound), SESSION, now=2000)


@pytest.mark.parametrize(
    "change",
    [{"run_id": "run-2"}, {"backend": "1password"}, {"vaults": ("ACL", "Ops")},
     {"plan_digest": "sha256:" + "b" * 64}],
)  # fmt: skip
def test_the_session_digest_covers_what_is_approved(change: dict[str, Any]) -> None:
    fields = {**SESSION.__dict__, **change}
    assert VaultSessionRequest(**fields).digest != SESSION.digest
    later = {**SESSION.__dict__, "requested_at": 5000.0, "expires_at": 8600.0, "summary": "x"}
    assert VaultSessionRequest(**later).digest == SESSION.digest


@pytest.mark.parametrize("request_", [REQUEST, SESSION, HUMAN])
def test_payloads_are_json_and_round_trip(request_: Any) -> None:
    payload = request_.to_payload()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["kind"] == request_.kind
    assert type(request_).from_payload(payload) == request_


@pytest.mark.parametrize(
    ("request_", "change"),
    [
        (REQUEST, {"extra": 1}),
        (REQUEST, {"kind": "vault_session"}),
        (REQUEST, {"digest": "sha256:" + "0" * 64}),
        (REQUEST, {"summary": "something milder"}),
        (REQUEST, {"action": {**ACTION.to_payload(), "args": {"vault": "Other"}}}),
        (REQUEST, {"expires_at": "soon"}),
        (REQUEST, {"expires_at": 10.0}),
        (SESSION, {"vaults": ["Other"]}),
        (SESSION, {"digest": "sha256:" + "0" * 64}),
        (SESSION, {"requested_at": float("nan")}),
        (HUMAN, {"kind": "approval"}),
        (HUMAN, {"url": 3}),
    ],
)
def test_from_payload_is_strict(request_: Any, change: dict[str, Any]) -> None:
    with pytest.raises(InvalidDecision):
        type(request_).from_payload({**request_.to_payload(), **change})
    missing = request_.to_payload()
    missing.pop("run_id")
    with pytest.raises(InvalidDecision):
        type(request_).from_payload(missing)


def test_a_human_step_shows_no_query_fragment_or_credentials() -> None:
    step = HumanStepRequest(
        "run-1", "https://user:pw@IdP.test:8443/enroll?ticket=abc#frag", "do it"
    )
    assert step.url == "https://idp.test:8443/enroll"
    assert HumanStepRequest("r", "http://[::1]:8080/x?t=1", "i").url == "http://[::1]:8080/x"


def test_ack() -> None:
    assert parse_ack({"done": True, "by": "ana"}, HUMAN).by == "ana"
    for bad in (
        {"done": False, "by": "ana"},
        {"done": 1, "by": "ana"},
        {"done": True},
        {"done": True, "by": ""},
        {"done": True, "by": "ana\nbob"},
        {"done": True, "by": "ana", "extra": 1},
        None,
        True,
    ):
        with pytest.raises(InvalidDecision) as caught:
            parse_ack(bad, HUMAN)
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda s: ApprovalRequest(s, ACTION, 0, 1),
        lambda s: ApprovalRequest("r", s, 0, 1),
        lambda s: ApprovalRequest("r", ACTION, s, 1),
        lambda s: VaultSessionRequest(s, "local", ("ACL",), "p", "x", 0, 1),
        lambda s: VaultSessionRequest("r", s, ("ACL",), "p", "x", 0, 1),
        lambda s: VaultSessionRequest("r", "local", (s,), "p", "x", 0, 1),
        lambda s: VaultSessionRequest("r", "local", ("ACL",), s, "x", 0, 1),
        lambda s: VaultSessionRequest("r", "local", ("ACL",), "p", s, 0, 1),
        lambda s: HumanStepRequest(s, "https://x.test/", "i"),
        lambda s: HumanStepRequest("r", s, "i"),
        lambda s: HumanStepRequest("r", "https://x.test/", s),
    ],
)
def test_requests_refuse_a_secret_anywhere(make: Any) -> None:
    with pytest.raises(TypeError):
        make(Secret("hunter2-hunter2"))


def test_a_request_expires_after_it_was_made() -> None:
    with pytest.raises(ValueError, match="expires_at must come after"):
        ApprovalRequest("r", ACTION, 100.0, 100.0)


def test_an_answer_binds_the_run_and_the_request_as_well_as_the_action() -> None:
    """The same action asked in another run, or asked again in this one, is another request."""
    other_run = ApprovalRequest("run-2", ACTION, requested_at=1000.0, expires_at=4600.0)
    asked_again = ApprovalRequest("run-1", ACTION, 1500.0, 5100.0)
    nonce = ApprovalRequest("run-1", ACTION, 1000.0, 4600.0, request_id="req-fixed")
    assert other_run.digest == asked_again.digest == REQUEST.digest  # the action is the same
    assert len({REQUEST.request_id, other_run.request_id, asked_again.request_id}) == 3
    with pytest.raises(RequestMismatch, match="another run"):
        parse_decision(answer(), other_run, now=2000)
    with pytest.raises(RequestMismatch, match="an earlier request"):
        parse_decision(answer(), asked_again, now=2000)
    with pytest.raises(RequestMismatch, match="an earlier request"):
        parse_decision(answer(), nonce, now=2000)
    assert isinstance(parse_decision(answer(request_id="req-fixed"), nonce, now=2000), Approved)
    assert REQUEST.request_id == derived_request_id("run-1", ACTION.digest, 1000.0)


def test_a_request_mismatch_names_no_value_of_the_answer() -> None:
    with pytest.raises(RequestMismatch) as caught:
        parse_decision(answer(run_id=MARK), REQUEST, now=2000)
    assert MARK not in str(caught.value)
    with pytest.raises(RequestMismatch) as caught:
        parse_decision(answer(request_id=MARK), REQUEST, now=2000)
    assert MARK not in str(caught.value)


@pytest.mark.parametrize("request_", [REQUEST, SESSION])
def test_answer_for_binds_what_waits(request_: Any) -> None:
    waiting = request_.to_payload()
    approved = answer_for(waiting, "approve", approver="ana")
    assert isinstance(parse_decision(approved, request_, now=2000), Approved)
    assert (approved["run_id"], approved["request_id"]) == ("run-1", request_.request_id)
    rejected = answer_for(waiting, "reject", approver="ana", reason="no")
    assert isinstance(parse_decision(rejected, request_, now=2000), Rejected)
    reviewed = answer_for(waiting, "approve", approver="ana", digest="sha256:" + "0" * 64)
    with pytest.raises(DigestMismatch):
        parse_decision(reviewed, request_, now=2000)
    empty = answer_for(waiting, "approve", approver="ana", digest="")
    assert empty["digest"] == ""  # never "whatever waits"
    with pytest.raises(InvalidDecision, match="must name the digest"):
        parse_decision(empty, request_, now=2000)


def test_answer_for_an_edit_and_a_hand_off() -> None:
    edit = answer_for(REQUEST.to_payload(), "edit", approver="ana", args={"title": "Other"})
    edited = parse_decision(edit, REQUEST, now=2000)
    assert isinstance(edited, Edited) and edited.action.args["title"] == "Other"
    done = answer_for(HUMAN.to_payload(), "approve", approver="ana")
    assert parse_ack(done, HUMAN).by == "ana"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (float("inf"), ValueError),
        (float("-inf"), ValueError),
        (float("nan"), ValueError),
        (0, ValueError),
        (-1.0, ValueError),
        (30 * 24 * 3600 + 1, ValueError),
        (1e308, ValueError),
        (True, TypeError),
        ("3600", TypeError),
        (None, TypeError),
    ],
)
def test_a_ttl_is_finite_and_bounded(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        checked_ttl(value)


def test_a_ttl_in_bounds_is_taken() -> None:
    assert checked_ttl(1) == 1.0
    assert checked_ttl(30 * 24 * 3600) == 30 * 24 * 3600.0
