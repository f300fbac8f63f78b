"""The agent's tool calls through the gates: session once, reads pass, writes are asked.

A scripted chat model issues the tool calls; the run goes through ``vaultborn.runner.agent_runs``
on the embedded dev IdP, the local vault and moto, with nobody approving automatically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langgraph.types import interrupt

from tests.agent.kit import (
    AGENT_SECRET,
    ITEM_TITLE,
    SOME_API,
    TARGET,
    AgentRun,
    ScriptedModel,
    agent_harness,
    approve,
    call,
    calls,
    reject,
    result_of,
)
from tests.faults.clikit import secrets_in_vault
from vaultborn.approvals.policy import Policy
from vaultborn.core.errors import UsageError
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.tool_args import ReferenceArgs
from vaultborn.nodes.tools import TOOLS, ToolRefused, ToolSpec
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.robustness("agent toolkit: tool calls through the gates")

CREATE = {"vault": "ACL", "title": ITEM_TITLE, "username": "agent@example.com"}
RECIPE = "letters,digits,symbols,32"


def _tool_messages(view: Any) -> dict[str, ToolMessage]:
    return {m.tool_call_id: m for m in view.values["messages"] if isinstance(m, ToolMessage)}


def _items(run: AgentRun, title: str = ITEM_TITLE) -> int:
    return len(run.harness.vault.find_items("ACL", title=title))


def test_reads_pass_once_the_vault_session_is_approved(tmp_path: Path) -> None:
    model = ScriptedModel(script=[
        calls(call("resolve_reference", "r1", reference=AGENT_SECRET)),
        calls(call("find_items", "r2", vault="ACL"),
              call("token_info", "r3", client_id="agent", secret=AGENT_SECRET,
                   audience="https://api.example.com")),
    ])  # fmt: skip
    with agent_harness(tmp_path) as h:
        run = AgentRun(h, model)
        asked = run.start()
        assert asked.status == "waiting" and asked.waiting is not None
        assert asked.waiting["kind"] == "vault_session"
        assert asked.waiting["vaults"] == ["ACL"]

        done = run.answer(approve(asked))

        assert done.status == "done", done
        resolved = result_of(done.values["messages"], "r1")
        assert resolved["reference"].startswith("op://") and resolved["item_version"] == 1
        assert result_of(done.values["messages"], "r2")["items"]
        token = result_of(done.values["messages"], "r3")
        assert token["token"] == "withheld" and token["aud"] == "https://api.example.com"
        decisions = [e for e in h.audit.events(run.run_id) if e.kind == "decision"]
        assert [e.subject for e in decisions] == [
            "vault_session", "resolve_reference[r1]", "find_items[r2]", "token_info[r3]"
        ]  # fmt: skip
        assert {e.detail["approver"] for e in decisions[1:]} == {"policy"}
        assert h.audit.verify().ok


def test_an_approved_write_runs_once_and_a_rejected_one_is_refused(tmp_path: Path) -> None:
    model = ScriptedModel(script=[
        calls(call("create_item", "w1", **CREATE),
              call("seed", "w2", source=SOME_API, target=TARGET)),
        calls(call("create_item", "w3", **CREATE)),  # the same again: found, not created
    ])  # fmt: skip
    with agent_harness(tmp_path) as h:
        run = AgentRun(h, model)
        session = run.start()
        first = run.answer(approve(session))
        assert first.waiting is not None and first.waiting["action"]["name"] == "create_item"
        second = run.answer(approve(first))
        assert second.waiting is not None and second.waiting["action"]["name"] == "seed"
        assert second.interrupt_id != first.interrupt_id
        third = run.answer(reject(second, "not this target"))
        assert third.waiting is not None
        assert third.waiting["action"]["args"] == {**CREATE, "password_recipe": RECIPE}
        done = run.answer(approve(third))

        assert done.status == "done", done
        answers = _tool_messages(done)
        assert result_of(done.values["messages"], "w1")["created"] is True
        assert answers["w2"].status == "error"
        assert "rejected by ana: not this target" in str(answers["w2"].content)
        assert result_of(done.values["messages"], "w3")["created"] is False
        # The model saw the refusal and went on.
        assert any(isinstance(m, ToolMessage) and m.tool_call_id == "w2" for m in model.seen[1])
        assert _items(run) == 1
        assert not h.deps.store_for(TARGET).describe(TARGET).exists
        effects = [e.subject for e in h.audit.events(run.run_id) if e.kind == "effect"]
        assert effects == ["create_item[w1]", "create_item[w3]"]

        again = run.again()  # nothing pending: nothing runs twice
        assert again.status == "done" and _items(run) == 1
        assert [e.subject for e in h.audit.events(run.run_id) if e.kind == "effect"] == effects


def test_an_answer_for_one_call_does_not_approve_a_later_identical_call(tmp_path: Path) -> None:
    """Two calls of one tool with the same arguments have one digest, but are two requests."""
    model = ScriptedModel(script=[
        calls(call("create_item", "w1", **CREATE)),
        calls(call("create_item", "w2", **CREATE)),
    ])  # fmt: skip
    with agent_harness(tmp_path) as h:
        run = AgentRun(h, model)
        first = run.answer(approve(run.start()))
        kept = approve(first)  # an approval of w1, kept by someone
        second = run.answer(kept)
        assert second.waiting is not None and first.waiting is not None
        assert second.waiting["digest"] == first.waiting["digest"]

        replayed = run.answer(kept)

        assert replayed.status == "waiting" and replayed.waiting is not None
        assert replayed.reason.startswith("refused: the answer is for an earlier request")
        assert "w2" not in _tool_messages(replayed)
        refusals = [e.detail for e in h.audit.events(run.run_id) if e.kind == "refused"]
        assert [r["why"].split(",")[0] for r in refusals] == [
            "the answer is for an earlier request of create_item"
        ]
        assert refusals[0]["request_id"] == second.waiting["request_id"]  # the one refused
        assert replayed.waiting["request_id"] != second.waiting["request_id"]  # asked anew
        done = run.answer(approve(replayed))
        assert done.status == "done", done
        assert result_of(done.values["messages"], "w2")["created"] is False


def test_a_crash_after_the_effect_resumes_without_a_second_item(tmp_path: Path) -> None:
    crashed: list[str] = []

    def fault(point: str) -> None:
        if point == "create_item:after" and not crashed:
            crashed.append(point)
            raise RuntimeError("power cut")

    import dataclasses

    model = ScriptedModel(script=[calls(call("create_item", "w1", **CREATE))])
    with agent_harness(tmp_path) as h:
        h = dataclasses.replace(h, deps=dataclasses.replace(h.deps, fault=fault))
        run = AgentRun(h, model)
        waiting = run.answer(approve(run.start()))
        with pytest.raises(RuntimeError, match="power cut"):
            run.answer(approve(waiting))
        assert run.view().status == "failed" and _items(run) == 1

        done = run.again()

        assert done.status == "done", done
        assert _items(run) == 1
        assert result_of(done.values["messages"], "w1")["created"] is False


def test_an_edit_changes_the_digest_and_is_asked_again(tmp_path: Path) -> None:
    model = ScriptedModel(script=[calls(call("create_item", "w1", **CREATE))])
    with agent_harness(tmp_path) as h:
        run = AgentRun(h, model)
        asked = run.answer(approve(run.start()))
        assert asked.waiting is not None
        adding = {**approve(asked), "decision": "edit", "args": {"owner": "x"}}
        refused = run.answer(adding)  # an edit may not add arguments: asked again as it was
        assert refused.waiting is not None
        assert refused.waiting["digest"] == asked.waiting["digest"]
        assert refused.reason.startswith("refused: ")

        edit = {**approve(refused), "decision": "edit", "args": {"title": "Edited title"}}
        edited = run.answer(edit)

        assert edited.waiting is not None
        assert edited.waiting["digest"] != asked.waiting["digest"]
        assert edited.waiting["action"]["args"]["title"] == "Edited title"
        again = run.answer(approve(asked))  # the old digest is not taken …
        assert again.status == "waiting" and again.waiting is not None
        assert again.waiting["digest"] == edited.waiting["digest"]  # … the edit is asked anew
        done = run.answer(approve(again))
        assert done.status == "done", done
        assert _items(run, "Edited title") == 1 and _items(run) == 0


def test_the_policy_allows_without_asking_and_denies_with_a_refusal(tmp_path: Path) -> None:
    policy = Policy(actions={"vault_session": "allow", "create_item": "allow", "seed": "deny"})
    model = ScriptedModel(script=[
        calls(call("create_item", "w1", **CREATE),
              call("seed", "w2", source=SOME_API, target=TARGET)),
    ])  # fmt: skip
    with agent_harness(tmp_path, policy) as h:
        run = AgentRun(h, model)
        done = run.start()

        assert done.status == "done", done  # never asked anybody
        assert result_of(done.values["messages"], "w1")["created"] is True
        denied = _tool_messages(done)["w2"]
        assert denied.status == "error"
        assert "rejected by the policy: the policy denies seed" in str(denied.content)
        decisions = {e.subject: e.detail for e in h.audit.events(run.run_id)
                     if e.kind == "decision"}  # fmt: skip
        assert decisions["seed[w2]"]["decision"] == "rejected"
        assert decisions["create_item[w1]"]["approver"] == "policy"


def test_arguments_that_are_not_references_are_refused_before_any_gate(tmp_path: Path) -> None:
    pasted = "correct-horse-battery-staple"
    model = ScriptedModel(script=[
        calls(call("create_user", "w1", email="a@example.com", password=pasted),
              call("no_such_tool", "w2")),
    ])  # fmt: skip
    with agent_harness(tmp_path) as h:
        run = AgentRun(h, model)
        done = run.answer(approve(run.start()))

        assert done.status == "done", done
        answers = _tool_messages(done)
        assert "password" in str(answers["w1"].content)
        assert pasted not in str(answers["w1"].content)
        assert "no tool 'no_such_tool'" in str(answers["w2"].content)
        rows = [str(e.detail) for e in h.audit.events(run.run_id)]
        assert not any(pasted in r for r in rows)
        assert not any(e.subject.startswith("create_user") for e in h.audit.events(run.run_id)
                       if e.kind == "decision")  # fmt: skip


def _asking_tool() -> ToolSpec:
    """A read whose implementation asks a person mid-call (as a hand-off would)."""

    def run(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
        try:
            said = interrupt({"kind": "human_step", "question": f"look at {args['reference']}"})
        except ValueError:  # a narrow handler inside a tool is fine; a broad one is not
            raise
        return {"said": said}

    return ToolSpec("ask_person", "asks", ReferenceArgs, (), lambda a: "ask", run)


def test_an_interrupt_inside_a_tool_is_never_swallowed(tmp_path: Path) -> None:
    tools = (*TOOLS, _asking_tool())
    model = ScriptedModel(script=[calls(call("ask_person", "h1", reference=AGENT_SECRET))])
    with agent_harness(tmp_path) as h:
        run = AgentRun(h, model, tools=tools)
        waiting = run.answer(approve(run.start()))

        assert waiting.status == "waiting", waiting
        assert waiting.waiting == {"kind": "human_step", "question": f"look at {AGENT_SECRET}"}
        assert not _tool_messages(waiting)  # no error ToolMessage: the call is not over
        done = run.answer({"ok": True})
        assert done.status == "done"
        assert result_of(done.values["messages"], "h1") == {"said": {"ok": True}}


def test_the_langchain_tools_have_schemas_and_refuse_to_run_ungated() -> None:
    model = ScriptedModel(script=[])
    model.bind_tools([t.as_tool() for t in TOOLS])
    names = [b["function"]["name"] for b in model.bound]
    assert names == [t.name for t in TOOLS]
    for bound, spec in zip(model.bound, TOOLS, strict=True):
        assert bound["function"]["description"] == spec.description
    create = next(t for t in TOOLS if t.name == "create_item").as_tool()
    with pytest.raises(ToolRefused, match="only through the gated agent graph"):
        create.invoke(CREATE)


def test_no_secret_reaches_a_message_a_result_or_the_checkpoint(tmp_path: Path) -> None:
    uri = "otpauth://totp/agent?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=vaultborn"
    audience = "https://api.example.com"
    script = [
        calls(call("otp_receipt", "r1", vault="ACL", item="vaultborn dev — Some API"),
              call("token_info", "r2", client_id="agent", secret=AGENT_SECRET,
                   audience=audience)),
    ]  # fmt: skip
    with agent_harness(tmp_path) as h:
        h.vault.set_otp("ACL", "vaultborn dev — Some API", uri)
        api = h.deps.protected_api
        script.append(calls(
            call("call_api", "w1", client_id="agent", secret=AGENT_SECRET, audience=audience,
                 url=api),
            call("seed", "w2", source=SOME_API, target=TARGET),
        ))  # fmt: skip
        run = AgentRun(h, ScriptedModel(script=script))
        waiting = run.answer(approve(run.start()))
        waiting = run.answer(approve(waiting))
        done = run.answer(approve(waiting))

        assert done.status == "done", done
        messages = done.values["messages"]
        assert result_of(messages, "r1")["code"] == "withheld"
        assert result_of(messages, "w1")["status"] == 200
        assert result_of(messages, "w1")["body"]["sub"]
        assert result_of(messages, "w2")["outcome"] == "created"
        token = h.deps.tokens.token("agent", AGENT_SECRET, audience).reveal()
        code = h.vault.otp_code("ACL", "vaultborn dev — Some API").reveal()
        texts = [str(m.content) for m in messages] + [str(m.tool_calls) for m in messages
                                                       if hasattr(m, "tool_calls")]  # fmt: skip
        texts += [str(e.detail) for e in h.audit.events()]
    values = secrets_in_vault(LocalVault(tmp_path / "home")) | {token}
    assert "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in values
    from tests.agent.kit import scan_for

    scan_for(values, tmp_path, texts)
    scan_for({code}, tmp_path / "home")  # six digits collide by chance elsewhere; not here


def test_a_rejected_vault_session_ends_the_run_before_any_tool(tmp_path: Path) -> None:
    model = ScriptedModel(script=[calls(call("create_item", "w1", **CREATE))])
    with agent_harness(tmp_path) as h:
        run = AgentRun(h, model)
        ended = run.answer(reject(run.start(), "no vault today"))

        assert ended.status == "rejected", ended
        assert ended.reason == "vault session rejected: no vault today"
        assert not _tool_messages(ended) and _items(run) == 0
        late = {"decision": "approve", "digest": "sha256:x", "approver": "ana", "reason": ""}
        with pytest.raises(UsageError, match="not waiting"):
            run.answer(late)
