"""The one list of steps: repeats, what is left, and where a run goes after each effect."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from vaultborn.graphs.setup import _next_step
from vaultborn.nodes.steps import ORDER, STEPS
from vaultborn.runner.plan import SeedPlan, default_plan
from vaultborn.runner.plan_check import projected_actions

A, B = "aws-secretsmanager://us-east-1/a", "aws-ssm://us-east-1/b"


def _plan(*targets: str) -> dict[str, Any]:
    plan = default_plan().to_dict()
    plan["seed"] = [{"from": "op://ACL/k/password", "to": t} for t in targets]
    return plan


def test_the_order_is_the_steps_own() -> None:
    assert ORDER == ("create_item", "create_user", "enroll_totp", "seed", "verify")
    assert [s.name for s in STEPS.values()] == list(ORDER)


def test_a_repeated_step_is_keyed_and_recorded_per_entry() -> None:
    seed = STEPS["seed"]
    state: dict[str, Any] = {"plan": _plan(A, B)}
    assert (seed.times(state["plan"]), seed.gate_key(state), seed.left(state)) == (
        2,
        "seed[0]",
        True,
    )
    state |= seed.recorded(state, {"target": A, "version_id": "v1"})
    assert (seed.gate_key(state), seed.args(state)["to"]) == ("seed[1]", B)
    state |= seed.recorded(state, {"target": B})
    assert not seed.left(state) and set(state["seeds"]) == {A, B}


def test_a_single_step_is_left_until_its_result_is_recorded() -> None:
    item = STEPS["create_item"]
    state: dict[str, Any] = {"plan": _plan()}
    assert item.left(state) and item.gate_key(state) == "create_item"
    state |= item.recorded(state, {"item_id": "i"})
    assert not item.left(state) and state["item"] == {"item_id": "i"}


@pytest.mark.parametrize(
    ("targets", "seeded", "after", "goes"),
    [
        ((), [], "enroll_totp", "propose_verify"),  # nothing to seed: straight to the check
        ((A,), [], "enroll_totp", "propose_seed"),
        ((A, B), [A], "seed", "propose_seed"),  # the next target
        ((A, B), [A, B], "seed", "propose_verify"),
        ((), [], "verify", "done"),
    ],
)
def test_after_an_effect_the_run_goes_to_the_next_step_with_work(
    targets: tuple[str, ...], seeded: list[str], after: str, goes: str
) -> None:
    state: Any = {
        "plan": _plan(*targets), "item": {}, "user": {}, "enrollment": {},
        "seeds": {t: {} for t in seeded}, **({"verify": {}} if after == "verify" else {}),
    }  # fmt: skip
    assert _next_step(after, state) == goes


def test_the_plan_projects_one_action_per_step_and_repeat() -> None:
    names = [a.name for a in projected_actions(_plan_obj(A, B))]
    assert names == ["create_item", "create_user", "enroll_totp", "seed", "seed", "verify"]
    seeds = [a.args["to"] for a in projected_actions(_plan_obj(A, B)) if a.name == "seed"]
    assert seeds == [A, B]
    assert "seed" not in [a.name for a in projected_actions(_plan_obj())]


def _plan_obj(*targets: str) -> Any:
    seeds = tuple(SeedPlan("op://ACL/k/password", t) for t in targets)
    return dataclasses.replace(default_plan(), seeds=seeds)
