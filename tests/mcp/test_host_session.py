"""A host run in process (``runner.host_session``), for what needs no MCP transport to show.

The sessions run on the embedded defaults with nobody approving automatically; answers are
given as ``vaultborn approve`` gives them (``move_host_run``), or through the CLI in process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.agent.kit import agent_harness
from tests.conftest import Run
from tests.graph.kit import Harness
from vaultborn.approvals.request import answer_for
from vaultborn.runner.agent_runs import view_agent
from vaultborn.runner.host_runs import move_host_run
from vaultborn.runner.host_session import HostSession

pytestmark = pytest.mark.robustness("agent toolkit: MCP host through the gates")

SECRET = "op://ACL/vaultborn dev — Some API/password"


def _session(h: Harness, run_id: str = "mcp-test") -> HostSession:
    return HostSession(h.db, h.deps, h.plan, client="unit-host 0", vaults=["ACL"], run_id=run_id)


def _answer(h: Harness, run_id: str, decision: str, digest: str, reason: str = "") -> None:
    with h.db.open() as saver:
        waiting = view_agent(saver, run_id).waiting
    assert waiting is not None
    answer = answer_for(waiting, decision, approver="ana", reason=reason, digest=digest)
    asyncio.run(move_host_run(h.db, h.deps, run_id, answer=answer))


def test_a_rejected_vault_session_ends_the_sessions_run(tmp_path: Path) -> None:
    with agent_harness(tmp_path) as h:
        session = _session(h)
        first = asyncio.run(session.call("find_items", {"vault": "ACL"}))
        assert first.status == "waiting" and first.data is not None
        _answer(h, "mcp-test", "reject", first.data["digest"], "not today")
        for _ in range(2):
            over = asyncio.run(session.call("find_items", {"vault": "ACL"}))
            assert over.status == "over" and over.is_error and "not today" in over.text


def test_refused_calls_never_reach_the_run(tmp_path: Path) -> None:
    value = "pasted-" + "s3cr3t" * 4
    with agent_harness(tmp_path) as h:
        session = _session(h)
        unknown = asyncio.run(session.call("drop_tables", {}))
        assert unknown.status == "refused" and "there is no tool 'drop_tables'" in unknown.text
        pasted = asyncio.run(session.call("token_info", {"client_id": "a", "secret": value,
                                                         "audience": "x"}))  # fmt: skip
        assert pasted.status == "refused" and "secret" in pasted.text and value not in pasted.text
        extra = asyncio.run(session.call("find_items", {"vault": "ACL", "sql": value}))
        assert extra.status == "refused" and "sql" in extra.text and value not in extra.text
        assert asyncio.run(session.view()) is None  # no run was started, nothing checkpointed
        stored = (tmp_path / "state.db").read_bytes()
        assert value.encode() not in stored
        refused = [e for e in h.audit.events("mcp-test") if e.kind == "refused"]
        assert len(refused) == 3 and all(value not in str(e.detail) for e in refused)


def test_the_cli_lists_and_answers_a_host_run_but_not_through_a_queue(
    tmp_path: Path, cli: Run
) -> None:
    with agent_harness(tmp_path) as h:
        session = _session(h, "mcp-cli")
        waiting = asyncio.run(session.call("resolve_reference", {"reference": SECRET}))
        assert waiting.status == "waiting"
        listed = cli("approvals", "--db", h.db.url.text)
        assert listed.code == 0 and "mcp-cli: the vault session" in listed.out
        queued = cli("approve", "mcp-cli", "--queue", "--db", h.db.url.text)
        assert queued.code == 2 and "MCP session's run" in queued.err
        shown = cli("show", "mcp-cli", "--db", h.db.url.text, "--json")
        assert shown.code == 0 and '"client": "unit-host 0"' in shown.out
