"""Actions, digests and the strict parsing of answers: one check, one error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvals.action import Action
from approvals.errors import ApprovalExpired, DigestMismatch, EditRefused, InvalidDecision
from approvals.policy import Policy
from approvals.request import (
    ApprovalRequest,
    Approved,
    Edited,
    Rejected,
    parse_ack,
    parse_decision,
)
from vault.secret import Secret
from vaultborn.errors import UsageError

pytestmark = pytest.mark.robustness("approval integrity: answer parsing")

ACTION = Action(
    "create_item",
    {"vault": "ACL", "title": "Auth0 — admin", "password_recipe": "letters,32"},
    ("vault.create_item",),
    "Create the break-glass item",
)
REQUEST = ApprovalRequest(
    kind="approval",
    run_id="run-1",
    digest=ACTION.digest,
    requested_at=1000.0,
    expires_at=4600.0,
    action=ACTION,
)


def answer(**changes: Any) -> dict[str, Any]:
    base = {"decision": "approve", "digest": ACTION.digest, "approver": "ana", "reason": ""}
    return {**base, **changes}


scalars = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none())
args = st.dictionaries(st.text(min_size=1, max_size=8), scalars, max_size=5)


@given(args)
def test_digest_ignores_key_order(values: dict[str, Any]) -> None:
    reordered = dict(reversed(list(values.items())))
    assert (
        Action("seed", values, ("store.put",)).digest
        == Action("seed", reordered, ("store.put",)).digest
    )


@given(args, st.text(min_size=1, max_size=8), scalars)
def test_any_argument_change_changes_the_digest(
    values: dict[str, Any], key: str, value: object
) -> None:
    changed = {**values, key: value}
    if changed == values:
        return
    assert Action("seed", values).digest != Action("seed", changed).digest


def test_name_and_effects_are_in_the_digest() -> None:
    assert Action("seed", {"a": 1}).digest != Action("sow", {"a": 1}).digest
    assert Action("seed", {"a": 1}).digest != Action("seed", {"a": 1}, ("store.put",)).digest
    assert Action("seed", {"a": 1}, summary="x").digest == Action("seed", {"a": 1}).digest


def test_an_action_refuses_a_secret() -> None:
    with pytest.raises(TypeError, match="never a secret value"):
        Action("create_user", {"password": Secret("hunter2-hunter2")})


def test_payload_round_trip_is_strict() -> None:
    assert Action.from_payload(ACTION.to_payload()) == ACTION
    with pytest.raises(InvalidDecision):
        Action.from_payload({**ACTION.to_payload(), "extra": 1})


def test_approve_reject_edit() -> None:
    assert isinstance(parse_decision(answer(), REQUEST, now=2000), Approved)
    rejected = parse_decision(answer(decision="reject", reason="not now"), REQUEST, now=2000)
    assert isinstance(rejected, Rejected) and rejected.reason == "not now"
    edited = parse_decision(answer(decision="edit", args={"title": "Other"}), REQUEST, now=2000)
    assert isinstance(edited, Edited)
    assert edited.action.args["title"] == "Other"
    assert edited.action.digest != ACTION.digest


@pytest.mark.parametrize(
    ("value", "error", "says"),
    [
        ("yes", InvalidDecision, "must be an object"),
        (answer(extra=1), InvalidDecision, "unknown keys in the answer: extra"),
        (answer(decision="maybe"), InvalidDecision, "approve, reject or edit"),
        (answer(approver=" "), InvalidDecision, "name its approver"),
        (answer(digest=3), InvalidDecision, "must be text"),
        (answer(digest="sha256:" + "0" * 64), DigestMismatch, "not for the waiting create_item"),
        (answer(decision="reject"), InvalidDecision, "needs a reason"),
        (answer(args={"title": "x"}), InvalidDecision, "belong to an edit"),
        (answer(decision="edit"), InvalidDecision, "an edit needs args"),
        (answer(decision="edit", args={"new": "x"}), EditRefused, "not add arguments (new)"),
        (answer(decision="edit", args={"title": ["x"]}), EditRefused, "a plain value"),
    ],
)
def test_each_bad_answer_has_its_error(value: object, error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=r".*") as caught:
        parse_decision(value, REQUEST, now=2000)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_expired_answer_is_refused() -> None:
    with pytest.raises(ApprovalExpired):
        parse_decision(answer(), REQUEST, now=REQUEST.expires_at)
    assert isinstance(parse_decision(answer(), REQUEST, now=REQUEST.expires_at - 0.001), Approved)


def test_ack() -> None:
    assert parse_ack({"done": True, "by": "ana"}).by == "ana"
    for bad in ({"done": False, "by": "ana"}, {"done": True}, {"done": True, "by": ""}, None):
        with pytest.raises(InvalidDecision):
            parse_ack(bad)


def test_policy_rules_and_errors() -> None:
    policy = Policy.from_toml('default = "ask"\n[actions]\nseed = "allow"\ncreate_user = "deny"\n')
    assert policy.rule_for(Action("seed", {}, ("store.put",))) == "allow"
    assert policy.rule_for(Action("create_user", {}, ("idp.create_user",))) == "deny"
    assert policy.rule_for(ACTION) == "ask"
    assert policy.rule_for(Action("verify", {})) == "allow"  # read-only
    assert Policy.default_policy().rule_for(ACTION) == "ask"
    for text, says in (
        ('[actions]\nseed = "yes"', "actions.seed: expected allow, ask or deny, got 'yes'"),
        ('defualt = "ask"', "unknown key defualt (did you mean default?)"),
        ("default = ", "policy"),
    ):
        with pytest.raises(UsageError) as caught:
            Policy.from_toml(text)
        assert says in str(caught.value)
