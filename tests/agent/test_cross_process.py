"""Done when: a scripted agent runs a read, an approved write and a rejected write through the
gates, is resumed by a second Python process from the SQLite checkpoint, and leaves an audit
trail — with no secret in any message, audit row or file of the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from tests.agent.kit import (
    ITEM_TITLE,
    AgentRun,
    ScriptedModel,
    agent_harness,
    approve,
    message_texts,
    reject,
    result_of,
    scan_for,
    the_script,
)
from tests.faults.clikit import secrets_in_vault
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.robustness("agent toolkit: resumed across processes")

RUN = "agent-xp"
ROOT = Path(__file__).resolve().parents[2]


def _child(tmp_path: Path, verdict: str) -> dict[str, object]:
    """Answer the waiting gate from a fresh Python process; its view of the run."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tests.agent.child", str(tmp_path), RUN, verdict],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    view: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return view


def test_a_scripted_agent_resumes_across_processes_and_leaves_an_audit_trail(
    tmp_path: Path,
) -> None:
    with agent_harness(tmp_path) as h:  # process 1: the read, and the first write asked
        run = AgentRun(h, ScriptedModel(script=the_script()), RUN)
        session = run.start()
        assert session.waiting is not None and session.waiting["kind"] == "vault_session"
        asked = run.answer(approve(session))
        assert asked.waiting is not None and asked.waiting["action"]["name"] == "create_item"

    second = _child(tmp_path, "approve")  # process 2: approves the write, which runs
    assert second["status"] == "waiting"
    waiting = second["waiting"]
    assert isinstance(waiting, dict) and waiting["action"]["name"] == "create_user"

    with agent_harness(tmp_path) as h:  # process 1 again: rejects the second write
        run = AgentRun(h, ScriptedModel(script=the_script()), RUN)
        done = run.answer(reject(run.view(), "no IdP user for agents"))

        assert done.status == "done", done
        messages = done.values["messages"]
        assert result_of(messages, "read-1")["reference"].startswith("op://")
        assert result_of(messages, "write-1")["created"] is True
        refusal = next(m for m in messages if isinstance(m, ToolMessage)
                       and m.tool_call_id == "write-2")  # fmt: skip
        assert refusal.status == "error" and "no IdP user for agents" in str(refusal.content)
        assert len(h.vault.find_items("ACL", title=ITEM_TITLE)) == 1
        with h.management() as mgmt:
            assert mgmt.users_by_email("agent@example.com") == []

        events = h.audit.events(RUN)
        trail = [(e.kind, e.subject, e.detail.get("approver")) for e in events]
        assert trail == [
            ("decision", "vault_session", "ana"),
            ("decision", "resolve_reference[read-1]", "policy"),
            ("read", "resolve_reference[read-1]", None),
            ("decision", "create_item[write-1]", "bo"),  # given in the second process
            ("effect", "create_item[write-1]", None),
            ("decision", "create_user[write-2]", "ana"),
        ]
        assert events[-1].detail["decision"] == "rejected"
        assert h.audit.verify().ok
        texts = message_texts(messages) + [json.dumps(e.detail) for e in events]

    values = secrets_in_vault(LocalVault(tmp_path / "home"))
    scan_for(values, tmp_path, texts)  # state.db holds the checkpoints and the audit log
    assert (tmp_path / "state.db").stat().st_size > 0
