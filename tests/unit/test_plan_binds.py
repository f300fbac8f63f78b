"""For every plan in the tests: ``vaultborn plan``'s actions and digests are the run's own.

A run's records (the item's and the user's ids, seed versions) are made up here, different
from anything a plan could know: an action whose arguments read them would show the plan one
digest and the gate another. The end-to-end counterpart is ``tests/graph/test_plan_approval``.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.graph.test_gates_cli import OTHER_ACCOUNT
from tests.scale.plans import demo_plan_text
from tests.unit.test_plan import EXAMPLE
from tests.unit.test_plan_oidc import AUTH0, OIDC
from vaultborn.nodes.gating import action_for
from vaultborn.nodes.plan_actions import planned_actions
from vaultborn.nodes.state import SetupState
from vaultborn.nodes.steps import STEPS
from vaultborn.runner.plan import Plan, default_plan, parse_plan
from vaultborn.runner.plan_check import projected_actions

README = Path(__file__).resolve().parents[2] / "README.md"
_README_PLAN = re.compile(r"<!-- readme-test: file (\S+\.toml) -->\n```toml\n(.*?)\n```", re.S)


def _plans(tmp_path: Path) -> dict[str, Plan]:
    from tests.thirdparty.test_setup_apps import write_plan

    op = SimpleNamespace(issuer="http://127.0.0.1:9/oidc/", api_url="http://127.0.0.1:9/api/me")
    site = SimpleNamespace(
        signup_url="http://127.0.0.1:8/signup", enroll_url="http://127.0.0.1:8/totp",
        login_url="http://127.0.0.1:8/login",
    )  # fmt: skip
    texts = {
        "test_plan EXAMPLE": EXAMPLE,
        "test_plan EXAMPLE, api enrollment": EXAMPLE.replace('"browser"', '"api"'),
        "test_plan_oidc OIDC": OIDC,
        "test_plan_oidc AUTH0": AUTH0,
        "test_gates_cli OTHER_ACCOUNT": OTHER_ACCOUNT,
        "scale demo plan": demo_plan_text(7),
        "thirdparty app plan": write_plan(tmp_path, op, site, "x@example.com").read_text(),  # type: ignore[arg-type]
    }
    for name, text in _README_PLAN.findall(README.read_text(encoding="utf-8")):
        if "[break_glass]" in text:  # a plan, not a dev IdP's tenant file
            texts[f"README {name}"] = text
    plans = {name: parse_plan(text, name) for name, text in texts.items()}
    plans["embedded default"] = default_plan()
    return plans


def _made_up(step: str, args: dict[str, Any]) -> dict[str, Any]:
    """A record as a run might file it, with ids nobody can plan."""
    ident = secrets.token_hex(8)
    return {
        "create_item": {"vault_id": f"v{ident}", "item_id": f"i{ident}", "version": 3,
                        "created": False, "password_ref": f"op://v{ident}/i{ident}/p{ident}"},
        "create_user": {"user_id": f"auth0|{ident}", "email": args.get("email", ""),
                        "created": False},
        "enroll_totp": {"status": "confirmed", "strategy": "browser", "source": "uri"},
        "seed": {"target": args.get("to", ""), "version_id": ident, "source": args.get("from", ""),
                 "source_version": 9, "outcome": "created"},
        "verify": {"token_subject": ident, "token_audience": None, "token_check": ident,
                   "login_drill": ident},
    }[step]  # fmt: skip


def test_every_plan_in_the_tests_is_planned_with_the_digests_its_gates_ask(tmp_path: Path) -> None:
    plans = _plans(tmp_path)
    assert len(plans) >= 9 and any(name.startswith("README") for name in plans)
    for name, plan in plans.items():
        planned = planned_actions(plan.to_dict())
        assert [a.digest for a in projected_actions(plan)] == [a.digest for _, a in planned]
        state: SetupState = {"run_id": "run-x", "plan": plan.to_dict()}
        asked = []
        for step in STEPS.values():
            while step.left(state):
                action = action_for(step, state)
                asked.append((step.gate_key(state), action.digest))
                state |= step.recorded(state, _made_up(step.name, dict(action.args)))  # type: ignore[arg-type]
        assert asked == [(key, action.digest) for key, action in planned], name


@pytest.mark.parametrize(
    ("plan", "drill"),
    [
        (default_plan(), "a break-glass login drill on the IdP's login page"),
        (parse_plan(AUTH0, "p"), "no login drill (the plan names no break_glass.login_url)"),
        (parse_plan(OIDC, "p"), "login drill at https://app.example.com/accounts/login/"),
    ],
)
def test_the_verification_says_whether_a_login_drill_runs(plan: Plan, drill: str) -> None:
    (verify,) = [a for a in projected_actions(plan) if a.name == "verify"]
    assert verify.summary.endswith(drill)
