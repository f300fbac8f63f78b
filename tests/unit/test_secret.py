from __future__ import annotations

import copy
import json
import pickle

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from vaultborn.vault.secret import Secret

CANARY = "CANARY-s3cr3t-9f1c"


def test_every_rendering_is_redacted() -> None:
    s = Secret(CANARY, label="password of op://ACL/x/password")
    rendered = [repr(s), str(s), f"{s}", f"{s!r}", "%s" % s, format(s, ">40"), repr([s])]  # noqa: UP031
    assert all(CANARY not in r for r in rendered)
    assert "password of op://ACL/x/password" in repr(s)


def test_reveal_is_the_only_way_out() -> None:
    assert Secret(CANARY).reveal() == CANARY


@pytest.mark.parametrize(
    "serialize",
    [
        pickle.dumps,
        json.dumps,
        lambda s: JsonPlusSerializer().dumps_typed({"state": s}),
        lambda s: JsonPlusSerializer().dumps_typed([s]),
    ],
    ids=["pickle", "json", "langgraph-msgpack-dict", "langgraph-msgpack-list"],
)
def test_refuses_serialization(serialize: object) -> None:
    with pytest.raises(TypeError):
        serialize(Secret(CANARY))  # type: ignore[operator]


def test_equality_is_by_value_and_hash_is_refused() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    with pytest.raises(TypeError):
        hash(Secret("a"))


def test_immutable_and_copies_are_itself() -> None:
    s = Secret(CANARY)
    with pytest.raises(AttributeError):
        s._value = "x"  # type: ignore[misc]
    assert copy.copy(s) is s
    assert copy.deepcopy({"k": s})["k"] is s


def test_only_strings() -> None:
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]
    assert Secret(Secret("x")).reveal() == "x"
