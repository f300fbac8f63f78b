"""One touch per setup: the plan's digests are the gates', and one approval covers all of them.

- ``vaultborn plan``'s actions are the ones each gate then asks about, digest for digest;
- approving the plan offered at the first gate runs the embedded setup to done, every effect
  audited with the approval that covered it;
- ``plan --out FILE`` then ``setup --approval FILE`` is the same single touch, once per file;
- an action that differs from the approved one is asked on its own; the policy still denies,
  or asks for an action it names, inside an approved plan.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.graph.kit import Harness, embedded_run
from tests.rundb import audit_log_of
from tests.scale.plans import demo_plan_text
from vaultborn.approvals.policy import Policy
from vaultborn.approvals.request import answer_for
from vaultborn.runner.runs import RunView, advance

pytestmark = pytest.mark.robustness("approval integrity: one approval for a plan")


def _json(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _audit(home: Path, run_id: str) -> list[Any]:
    audit = audit_log_of(home)
    try:
        assert audit.verify().ok
        return audit.events(run_id)
    finally:
        audit.close()


def test_the_plan_shows_the_digests_each_gate_then_asks(cli: Run, home: Path) -> None:
    planned = _json(cli("plan", "--json").out)
    keys = {a["key"]: a["digest"] for a in planned["actions"]}
    assert list(keys) == ["create_item", "create_user", "enroll_totp", "seed[0]", "verify"]
    assert planned["session"] == {"backend": "local", "vaults": ["ACL"]}

    moved = cli("setup", "--json")
    asked: dict[str, str] = {}
    while moved.code == 3:
        waiting = _json(moved.out)["waiting"]
        if waiting["kind"] == "vault_session":  # it offers the very same plan
            offered = {a["key"]: a["digest"] for a in waiting["plan"]["actions"]}
            assert offered == keys
        else:
            asked[waiting["action"]["name"]] = waiting["digest"]
        moved = cli("approve", "--json")  # one step at a time: the session, then each gate
    assert moved.code == 0, moved
    run_id = _json(moved.out)["run_id"]
    decided = {e.subject: e.detail["digest"] for e in _audit(home, run_id)
               if e.kind == "decision" and "digest" in e.detail}  # fmt: skip
    assert decided == keys  # verify, which the policy allows unasked, included
    assert asked == {k.split("[")[0]: v for k, v in keys.items() if k != "verify"}


def test_one_approval_of_the_offered_plan_runs_the_setup_to_done(cli: Run, home: Path) -> None:
    first = _json(cli("setup", "--json").out)
    plan = first["waiting"]["plan"]
    done = cli("approve", first["run_id"], "--plan", "--json")

    assert done.code == 0, done
    events = _audit(home, first["run_id"])
    decisions = [e for e in events if e.kind == "decision"]
    assert [e.subject for e in decisions][:2] == ["plan", "vault_session"]
    assert decisions[0].detail["digest"] == plan["digest"]
    covered = {e.subject for e in decisions if e.detail.get("covered_by") == plan["digest"]}
    assert covered == {"vault_session", "create_item", "create_user", "enroll_totp", "seed[0]"}
    effects = [e for e in events if e.kind == "effect"]
    assert [e.subject for e in effects] == ["create_item", "create_user", "enroll_totp",
                                            "seed[0]", "verify"]  # fmt: skip
    # Each effect says which approval let it run: the plan's, or (verify) the policy's own.
    assert {e.detail["approval"] for e in effects[:4]} == {plan["digest"]}
    assert effects[4].detail["approver"] == "policy"


def test_a_saved_plan_is_one_approval_for_one_run(cli: Run, home: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    planned = cli("plan", "--out", str(saved), "--json")
    assert planned.code == 0, planned
    reserved = _json(planned.out)["saved"]

    for change in (("(password generated", "(nothing generated"),  # what a person reads
                   ('"letters,digits,symbols,32"', '"digits,4"')):  # what is done  # fmt: skip
        altered = tmp_path / "altered.json"
        altered.write_text(saved.read_text().replace(*change))
        refused = cli("setup", "--approval", str(altered))
        assert refused.code == 2 and "is not a saved plan" in refused.err, refused

    done = cli("setup", "--approval", str(saved), "--json")
    assert done.code == 0, done
    assert _json(done.out)["run_id"] == reserved["run_id"]
    events = _audit(home, reserved["run_id"])
    assert [e.detail["digest"] for e in events if e.subject == "plan"] == [reserved["digest"]]
    assert {e.detail["approval"] for e in events
            if e.kind == "effect" and e.subject != "verify"} == {reserved["digest"]}  # fmt: skip

    again = cli("setup", "--approval", str(saved))
    assert again.code == 2 and "was started already" in again.err


def test_an_action_that_differs_from_the_saved_plan_is_asked_on_its_own(
    cli: Run, tmp_path: Path
) -> None:
    approved, changed = tmp_path / "approved.toml", tmp_path / "changed.toml"
    approved.write_text(demo_plan_text(1))
    changed.write_text(demo_plan_text(1).replace("vaultborn-fleet/agent-01", "elsewhere/agent-01"))
    saved = tmp_path / "plan.json"
    assert cli("plan", "--plan", str(approved), "--out", str(saved)).code == 0

    first = cli("setup", "--plan", str(changed), "--approval", str(saved), "--json")
    # Another plan: its vault session is not the approved one, so it is asked ...
    assert first.code == 3, first
    assert _json(first.out)["waiting"]["kind"] == "vault_session"
    # ... and after it, every step the file lists unchanged runs; the new target is asked.
    second = cli("approve", "--json")
    assert second.code == 3, second
    waiting = _json(second.out)["waiting"]
    assert waiting["action"]["name"] == "seed"
    assert waiting["action"]["args"]["to"] == "aws-secretsmanager://us-east-1/elsewhere/agent-01"
    state = _json(cli("show", _json(second.out)["run_id"], "--json").out)["state"]
    assert {"item", "user", "enrollment"} <= set(state) and "seeds" not in state


def _plan_answer(run: Harness, view: RunView) -> RunView:
    assert view.waiting is not None
    answer = answer_for(view.waiting, "approve", approver="ana",
                        digest=view.waiting["plan"]["digest"])  # fmt: skip
    return asyncio.run(advance(run.db, run.deps, "run-p", answer=answer))


def _asked(run: Harness, policy: Policy) -> tuple[Harness, RunView]:
    run = dataclasses.replace(run, deps=dataclasses.replace(run.deps, auto_approver=None,
                                                            policy=policy))  # fmt: skip
    start = {"run_id": "run-p", "plan": run.plan, "plan_digest": "sha256:test",
             "started_at": time.time()}  # fmt: skip
    return run, asyncio.run(advance(run.db, run.deps, "run-p", start=start))


def test_the_policy_still_asks_for_an_action_it_names_inside_an_approved_plan(
    tmp_path: Path,
) -> None:
    with embedded_run(tmp_path) as base:
        run, asked = _asked(base, Policy("ask", {"create_user": "ask"}))
        view = _plan_answer(run, asked)

        assert view.status == "waiting" and view.waiting is not None
        assert view.waiting["action"]["name"] == "create_user"
        assert "item" in view.values and "user" not in view.values


def test_the_policy_still_denies_inside_an_approved_plan(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as base:
        run, asked = _asked(base, Policy("ask", {"create_item": "deny"}))
        view = _plan_answer(run, asked)

        assert view.status == "rejected" and "the policy denies create_item" in view.reason
        assert "item" not in view.values


def test_a_plan_cannot_be_edited_and_the_refusal_is_audited(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as base:
        run, asked = _asked(base, Policy.default())
        assert asked.waiting is not None
        edit = answer_for(asked.waiting, "edit", approver="ana",
                          digest=asked.waiting["plan"]["digest"], args={"title": "x"})  # fmt: skip
        view = asyncio.run(advance(run.db, run.deps, "run-p", answer=edit))

        assert view.status == "waiting" and "the plan cannot be edited" in view.reason
        assert "plan_approval" not in view.values and "session" not in view.values
        refused = [e for e in run.audit.events("run-p") if e.kind == "refused"]
        assert [e.subject for e in refused] == ["vault_session"]
