"""The state's TypedDicts against their producers, so the types and the data cannot drift apart.

``Plan.to_dict()`` must give exactly the keys ``PlanData`` declares (every optional field set or
not), and a real setup's recorded state exactly the keys of ``SetupState``'s records.
"""

from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from typing_extensions import get_type_hints, is_typeddict

from tests.conftest import Run
from vaultborn.browser.chromium import find_chromium
from vaultborn.graphs.state import PlanData, SetupState
from vaultborn.runner.plan import (
    AgentPlan,
    BreakGlassPlan,
    IdPPlan,
    Plan,
    SeedPlan,
    VaultPlan,
    default_plan,
)


def mismatches(value: object, hint: Any, where: str = "") -> list[str]:
    """Where ``value`` has keys its TypedDicts do not declare, or lacks required ones."""
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where or 'the value'}: {type(value).__name__}, not {hint.__name__}"]
        hints = get_type_hints(hint)
        found = [f"{where}.{k}: not in {hint.__name__}" for k in value.keys() - hints.keys()]
        found += [f"{where}.{k}: missing" for k in hint.__required_keys__ - value.keys()]
        for key in value.keys() & hints.keys():
            found += mismatches(value[key], hints[key], f"{where}.{key}")
        return found
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return []
        fits = [mismatches(value, arg, where) for arg in args if _may_be(value, arg)]
        return min(fits, key=len) if fits else [f"{where}: {value!r} fits no {hint}"]
    if origin is list and isinstance(value, list):
        return [m for i, v in enumerate(value) for m in mismatches(v, args[0], f"{where}[{i}]")]
    if origin is dict and isinstance(value, dict):
        return [m for k, v in value.items() for m in mismatches(v, args[1], f"{where}[{k!r}]")]
    return []


def _may_be(value: object, hint: Any) -> bool:
    if is_typeddict(hint):
        return isinstance(value, dict)
    base = get_origin(hint) or hint
    return isinstance(base, type) and isinstance(value, base)


def _full_plan() -> Plan:
    """A plan with every optional field set and two seed targets."""
    return Plan(
        vault=VaultPlan(backend="op", name="Ops"),
        idp=IdPPlan(
            management_client_id="mgmt",
            management_secret="op://Ops/Management/password",
            kind="auth0",
            domain="https://tenant.example.com/",
            connection="Users",
        ),
        break_glass=BreakGlassPlan(
            email="root@example.com",
            item="Break glass",
            password_recipe="letters,40",
            enrollment="api",
            login_url="https://app.example.com/login",
            signup_url="https://app.example.com/signup",
            enroll_url="https://app.example.com/mfa",
        ),
        agent=AgentPlan(
            client_id="agent",
            secret="op://Ops/Agent/password",
            audience="https://api.example.com",
            protected_api="https://api.example.com/whoami",
            scope="read:all",
        ),
        seeds=(
            SeedPlan("op://Ops/A/password", "aws-secretsmanager://us-east-1/a"),
            SeedPlan("op://Ops/B/password", "aws-ssm://us-east-1/b"),
        ),
    )


@pytest.mark.parametrize("plan", [default_plan(), _full_plan()], ids=["default", "full"])
def test_a_plans_data_has_exactly_the_keys_plan_data_declares(plan: Plan) -> None:
    data = plan.to_dict()
    assert mismatches(data, PlanData) == []
    # asdict-like: every field, None kept; only [notify] and [schedule] are left out when
    # absent, so that the digest of a plan without them stays what it was.
    assert PlanData.__optional_keys__ == frozenset({"notify", "schedule"})
    hints = get_type_hints(PlanData)
    for key in ("vault", "idp", "break_glass", "agent"):
        assert set(data[key]) == set(get_type_hints(hints[key])), key
    assert [set(s) for s in data["seed"]] == [{"from", "to"}] * len(plan.seeds)


def test_a_full_plan_sets_every_field() -> None:
    data = _full_plan().to_dict()
    for key in ("vault", "idp", "break_glass", "agent"):
        assert None not in data[key].values(), key
    assert len(data["seed"]) == 2


@pytest.mark.parametrize("plan", [default_plan(), _full_plan()], ids=["default", "full"])
def test_the_typed_plan_data_is_the_dataclasses_own_json(plan: Plan) -> None:
    """Byte for byte what ``dataclasses.asdict`` gave: checkpoints and digests stay as they were."""
    before = {
        "vault": dataclasses.asdict(plan.vault),
        "idp": dataclasses.asdict(plan.idp),
        "break_glass": dataclasses.asdict(plan.break_glass),
        "agent": dataclasses.asdict(plan.agent),
        "seed": [{"from": s.reference, "to": s.target} for s in plan.seeds],
    }
    assert json.dumps(plan.to_dict()) == json.dumps(before)


def test_a_key_the_type_does_not_declare_is_found() -> None:
    data: Any = default_plan().to_dict()
    data["idp"]["tenant"] = "x"
    del data["agent"]["audience"]
    data["seed"] = [{"from": "op://a/b/c", "to": "x", "extra": 1}]
    assert sorted(mismatches(data, PlanData)) == [
        ".agent.audience: missing",
        ".idp.tenant: not in IdpData",
        ".seed[0].extra: not in SeedData",
    ]


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")
def test_a_real_runs_records_have_exactly_the_keys_setup_state_declares(
    cli: Run, home: Path
) -> None:
    result = cli("setup", "--auto-approve", "--json")
    assert result.code == 0, result
    run_id = json.loads(result.out)["run_id"]
    state = json.loads(cli("show", run_id, "--json").out)["state"]

    assert mismatches(state, SetupState) == []
    records = {"session", "approvals", "item", "user", "enrollment", "seeds", "verify"}
    assert records <= set(state)  # each record was there to be checked
    assert state["verify"].keys() >= {"api_status", "login_drill_codes"}
