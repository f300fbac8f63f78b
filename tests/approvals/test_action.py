"""``Action``: a stable and sensitive digest, no secret anywhere, strict payloads, edits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultborn.approvals.action import Action, canonical_json
from vaultborn.approvals.errors import EditRefused, InvalidDecision
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("approval integrity: policies and actions")

SECRET = Secret("hunter2-hunter2")
ACTION = Action(
    "create_item",
    {"vault": "ACL", "title": "Auth0 — admin", "tags": ["vaultborn"], "length": 32},
    ("vault.create_item",),
    "Create the break-glass item",
)

scalars = st.one_of(
    st.text(max_size=12), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False,
    allow_infinity=False),
)  # fmt: skip
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=4),
                   scalars, max_size=3))  # fmt: skip
arg_maps = st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=5)
names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
effects = st.lists(st.text(min_size=1, max_size=12), max_size=3).map(tuple)


def _reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed(v) for k, v in reversed(list(value.items()))}
    return value


@given(names, arg_maps, effects)
def test_key_order_does_not_change_the_digest(
    name: str, args: dict[str, Any], fx: tuple[str, ...]
) -> None:
    assert Action(name, args, fx).digest == Action(name, _reversed(args), fx).digest


@given(names, arg_maps, effects, names, arg_maps, effects)
def test_any_change_of_name_args_or_effects_changes_the_digest(
    name: str, args: dict[str, Any], fx: tuple[str, ...],
    name2: str, args2: dict[str, Any], fx2: tuple[str, ...],
) -> None:  # fmt: skip
    one, two = Action(name, args, fx), Action(name2, args2, fx2)
    same = canonical_json([name, args, list(fx)]) == canonical_json([name2, args2, list(fx2)])
    assert (one.digest == two.digest) == same


@given(arg_maps, st.text(min_size=1, max_size=8), scalars)
def test_one_argument_changed_changes_the_digest(
    args: dict[str, Any], key: str, value: object
) -> None:
    changed = {**args, key: value}
    if canonical_json(changed) != canonical_json(args):
        assert Action("seed", args).digest != Action("seed", changed).digest


def test_types_and_effect_order_count_but_the_summary_does_not() -> None:
    assert Action("seed", {"n": 1}).digest != Action("seed", {"n": True}).digest
    assert Action("seed", {"n": 1}).digest != Action("seed", {"n": "1"}).digest
    assert Action("seed", {}, ("a", "b")).digest != Action("seed", {}, ("b", "a")).digest
    assert Action("seed", {"n": 1}, summary="x").digest == Action("seed", {"n": 1}).digest
    assert Action("seed", {"n": 1}) != Action("seed", {"n": True})
    assert ACTION.digest.startswith("sha256:") and len(ACTION.digest) == 7 + 64


@pytest.mark.parametrize(
    "make",
    [
        lambda: Action("seed", {"password": SECRET}),
        lambda: Action("seed", {"list": ["a", SECRET]}),
        lambda: Action("seed", {"nested": {"deep": SECRET}}),
        lambda: Action("seed", {}, (SECRET,)),  # type: ignore[arg-type]
        lambda: Action(SECRET),  # type: ignore[arg-type]
        lambda: Action("seed", {}, (), SECRET),  # type: ignore[arg-type]
    ],
)
def test_an_action_refuses_a_secret_anywhere(make: Any) -> None:
    with pytest.raises(TypeError, match="secret value") as caught:
        make()
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Action("seed", {1: "x"}), TypeError),
        (lambda: Action("seed", {"n": float("nan")}), TypeError),
        (lambda: Action("seed", {"when": object()}), TypeError),
        (lambda: Action("seed", ["a"]), TypeError),
        (lambda: Action("seed", {}, "store.put"), TypeError),
        (lambda: Action("Create Item"), ValueError),
        (lambda: Action(""), ValueError),
    ],
)
def test_an_action_holds_plain_json_only(make: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()


def test_args_cannot_be_changed_in_place() -> None:
    with pytest.raises(TypeError):
        ACTION.args["vault"] = "Other"  # type: ignore[index]


def test_payload_is_json_and_round_trips() -> None:
    payload = ACTION.to_payload()
    assert json.loads(json.dumps(payload)) == payload
    assert Action.from_payload(payload) == ACTION
    assert Action.from_payload(payload).digest == ACTION.digest


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"summary": None},
        {"args": ["x"]},
        {"effects": "vault.create_item"},
        {"effects": [1]},
        {"name": "Bad Name"},
        {"args": {"n": {"deep": object()}}},
    ],
)
def test_from_payload_is_strict(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidDecision):
        Action.from_payload({**ACTION.to_payload(), **change})


@pytest.mark.parametrize("key", ["name", "args", "effects", "summary"])
def test_from_payload_needs_every_key(key: str) -> None:
    payload = ACTION.to_payload()
    del payload[key]
    with pytest.raises(InvalidDecision):
        Action.from_payload(payload)


def test_an_edit_changes_values_only() -> None:
    edited = ACTION.with_args({"title": "Other", "length": 40})
    assert edited.args["title"] == "Other" and edited.args["length"] == 40
    assert (edited.name, edited.effects, edited.summary) == (
        ACTION.name, ACTION.effects, ACTION.summary,
    )  # fmt: skip
    assert edited.digest != ACTION.digest
    assert ACTION.args["title"] == "Auth0 — admin"  # the original is untouched


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"effects": "vault.delete_item"}, "not add arguments (effects) or effects"),
        ({"title": "x", "new": "y"}, "not add arguments (new) or effects"),
        ({"New Key!": "y"}, "not add arguments or effects"),
        ({"title": ["x"]}, "nothing else"),
        ({"title": {"x": 1}}, "nothing else"),
        ({"title": SECRET}, "nothing else"),
        ({"length": float("inf")}, "nothing else"),
        ({1: "x"}, "maps argument names"),
    ],
)
def test_an_edit_cannot_widen_the_action(changes: dict[Any, Any], says: str) -> None:
    with pytest.raises(EditRefused) as caught:
        ACTION.with_args(changes)
    assert says in str(caught.value)
    assert str(caught.value).startswith("an edit of create_item ")
