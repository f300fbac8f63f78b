"""``vaultborn mcp`` on stdio, driven by the MCP SDK's own client, decided from the CLI.

One session, one run: the tools and their schemas, a read after the vault session, an effect
approved, one rejected, one edited, a call refused while another waits, a pasted secret
refused by its field's name, the session resource, and at the end the canary scan over every
message the server sent, its stderr, every file it wrote and the run database.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.faults.clikit import assert_no_secret_at_rest, moto_server
from tests.mcp.kit import (
    CANARY_REF,
    TARGET,
    call,
    decide,
    plant_canary,
    server_messages,
    stdio_lines,
    stdio_session,
    text_of,
)
from tests.rundb import audit_log_of
from vaultborn.nodes.tools import TOOLS
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.robustness("agent toolkit: MCP host through the gates")

ITEM = {"vault": "ACL", "title": "Auth0 — mcp@example.com", "username": "mcp@example.com"}
AGENT_SECRET = "op://ACL/vaultborn dev — Auth0 M2M agent/password"


def test_a_session_reads_and_its_effects_are_decided_from_the_cli(
    home: Path, tmp_path: Path
) -> None:
    canary = plant_canary(home)
    log = tmp_path / "stdio.log"
    with moto_server() as endpoint:
        anyio.run(_scenario, home, endpoint, log, canary)
        lines = stdio_lines(log)
        outputs = [*server_messages(lines), log.with_suffix(".stderr").read_text()]
        # The recording holds every message: the pasted canary is in what the client sent.
        assert len(outputs) > 10 and any(canary.encode() in line for line in lines)
        assert_no_secret_at_rest(home, outputs)
        for text in outputs:
            assert canary not in text, "the canary reached a message"
            assert "eyJ" not in text, "a token reached a message"


async def _scenario(home: Path, endpoint: str, log: Path, canary: str) -> None:
    async with stdio_session(home, endpoint, log, "--wait", "0") as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert list(listed) == [t.name for t in TOOLS]
        assert listed["create_user"].input_schema["properties"]["password"]["type"] == "string"
        assert listed["resolve_reference"].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert listed["seed"].annotations.read_only_hint is False  # type: ignore[union-attr]
        assert "approval" in (listed["seed"].description or "")

        # The first call asks for the vault session; a person approves it from the CLI.
        first = await call(client, "resolve_reference", reference=CANARY_REF)
        assert not first.is_error and first.structured_content is not None
        run = first.structured_content["run_id"]
        assert first.structured_content["kind"] == "vault_session"
        assert f"vaultborn approve {run}" in text_of(first)
        session = json.loads((await client.read_resource("vaultborn://session")).contents[0].text)  # type: ignore[union-attr]
        assert session["run_id"] == run and session["status"] == "waiting"
        assert session["client"] == "test-host 1.0"
        approved = await decide(home, endpoint, "approve", run)
        assert approved.returncode == 0, approved.stderr
        assert "the MCP client test-host 1.0 gets the result" in approved.stdout

        read = await call(client, "resolve_reference", reference=CANARY_REF)
        assert not read.is_error and read.structured_content is not None
        assert read.structured_content["item"] == "Canary API"
        assert read.structured_content["reference"].startswith("op://")
        # Reads answer at once now: no person is asked.
        token = await call(client, "token_info", client_id="agent", secret=AGENT_SECRET,
                           audience="https://api.example.com")  # fmt: skip
        assert (
            token.structured_content is not None and token.structured_content["token"] == "withheld"
        )

        # A pasted secret is refused by the field's name, before anything is recorded.
        pasted = await call(client, "create_user", email="x@example.com", password=canary)
        assert pasted.is_error and "password" in text_of(pasted) and canary not in text_of(pasted)

        # An effect waits; another call meanwhile is refused as busy; a person approves.
        waits = await call(client, "create_item", **ITEM)
        assert (
            waits.structured_content is not None
            and waits.structured_content["action"] == "create_item"
        )
        busy = await call(client, "find_items", vault="ACL")
        assert busy.is_error and text_of(busy).startswith("busy: ")
        assert (await decide(home, endpoint, "approve", run)).returncode == 0
        made = await call(client, "create_item", **ITEM)
        assert not made.is_error and made.structured_content is not None
        assert made.structured_content["created"] is True

        # Rejected: the host is told who rejected it and why; nothing is seeded.
        await call(client, "seed", **{"from": CANARY_REF, "to": TARGET})
        rejected = await decide(home, endpoint, "reject", run, "--reason", "not this target")
        assert rejected.returncode == 0, rejected.stderr
        refused = await call(client, "seed", **{"from": CANARY_REF, "to": TARGET})
        assert refused.is_error and "rejected by" in text_of(refused)
        assert "not this target" in text_of(refused)

        # Edited: asked again with a new digest, then approved as edited.
        other = {**ITEM, "title": "Auth0 — first@example.com"}
        asked = await call(client, "create_item", **other)
        assert asked.structured_content is not None
        edited = await decide(home, endpoint, "edit", run, "title=Auth0 — edited@example.com")
        assert edited.returncode == 3, edited.stderr  # waits again, for the edited action
        again = await call(client, "create_item", **other)
        assert again.structured_content is not None
        assert again.structured_content["digest"] != asked.structured_content["digest"]
        assert (await decide(home, endpoint, "approve", run)).returncode == 0
        done = await call(client, "create_item", **other)
        assert done.structured_content is not None and done.structured_content["created"] is True

    vault = LocalVault(home)
    try:
        titles = {i.title for i in vault.find_items("ACL")}
    finally:
        vault.close()
    assert {"Auth0 — mcp@example.com", "Auth0 — edited@example.com"} <= titles
    assert "Auth0 — first@example.com" not in titles
    audit = audit_log_of(home)
    try:
        events = audit.events(run)
        assert audit.verify().ok
    finally:
        audit.close()
    assert [e.detail for e in events if e.kind == "session"] == [{"client": "test-host 1.0"}]
    kinds = [(e.kind, e.subject.split("[")[0]) for e in events]
    assert ("refused", "create_user") in kinds and ("effect", "create_item") in kinds
    assert sum(1 for k in kinds if k == ("effect", "create_item")) == 2
    assert not any(k == ("effect", "seed") for k in kinds)
    assert all(canary not in json.dumps(e.detail) for e in events)
