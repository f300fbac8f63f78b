"""The server killed in the middle of an effect, and the session's run resumed by a new one.

The policy allows ``create_item``, so the server performs it itself on the host's call; the
test's fault switch ends the process right after the item exists and before the run's
checkpoint records it. A new server continuing the run (``--run``) runs the call again, which
finds the item instead of making a second one, and the host's repeated call gets the receipt.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.faults.clikit import moto_server, run_cli
from tests.mcp.kit import call, stdio_session
from vaultborn.approvals.audit import AuditLog
from vaultborn.runner.faults import CRASH_ENV
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.robustness("fault: process killed before/after each effect")

ITEM = {"vault": "ACL", "title": "Auth0 — crash@example.com", "username": "crash@example.com"}
POLICY = '[actions]\nvault_session = "allow"\ncreate_item = "allow"\n'


def test_a_crash_mid_effect_resumes_without_a_second_item(home: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    args = ("--wait", "0", "--policy", str(policy))
    with moto_server() as endpoint:
        run = anyio.run(_crash, home, endpoint, tmp_path / "one.log", args)
        runs = {
            r["run_id"]: r for r in json.loads(run_cli(home, endpoint, "runs", "--json").stdout)
        }
        assert runs[run]["status"] == "failed" and runs[run]["next"] == ["call_tool"]
        assert _items(home) == 1  # the effect happened; its checkpoint did not
        receipt = anyio.run(_resume, home, endpoint, tmp_path / "two.log", (*args, "--run", run))
        shown = run_cli(home, endpoint, "show", run, "--json")
    assert receipt["created"] is False and receipt["item_id"]
    assert _items(home) == 1
    assert json.loads(shown.stdout)["status"] == "done"
    audit = AuditLog(f"sqlite:///{home / 'state.db'}")
    try:
        effects = [e for e in audit.events(run) if e.kind == "effect"]
    finally:
        audit.close()
    assert [e.detail["created"] for e in effects] == [False]


async def _crash(home: Path, endpoint: str, log: Path, args: tuple[str, ...]) -> str:
    async with stdio_session(home, endpoint, log, *args, env={CRASH_ENV: "create_item:after"}) as c:
        about = json.loads((await c.read_resource("vaultborn://session")).contents[0].text)  # type: ignore[union-attr]
        with pytest.raises(Exception), anyio.fail_after(120):  # noqa: B017 - the server died
            await call(c, "create_item", **ITEM)
    return str(about["run_id"])


async def _resume(home: Path, endpoint: str, log: Path, args: tuple[str, ...]) -> dict[str, object]:
    async with stdio_session(home, endpoint, log, *args) as client:
        again = await call(client, "create_item", **ITEM)
        assert not again.is_error, again
        assert again.structured_content is not None
        return dict(again.structured_content)


def _items(home: Path) -> int:
    vault = LocalVault(home)
    try:
        return len(vault.find_items("ACL", title=ITEM["title"]))
    finally:
        vault.close()
