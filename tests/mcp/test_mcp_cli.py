"""``vaultborn mcp``'s own mistakes: one line each, before anything starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import Run

pytestmark = pytest.mark.robustness("hostile input: CLI arguments (fuzz)")


def test_http_options_need_http(cli: Run) -> None:
    result = cli("mcp", "--port", "8000")
    assert (
        result.code == 2
        and result.err == "vaultborn: --port, --url-file and --token-file go with --http\n"
    )


def test_a_short_token_is_refused(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULTBORN_MCP_TOKEN", "short")
    result = cli("mcp", "--http")
    assert result.code == 2 and "at least 32 characters" in result.err and "short" not in result.err


def test_without_the_extra_it_says_what_to_install() -> None:
    probe = (
        "import sys; sys.modules['mcp'] = None\n"
        "from vaultborn.cli import main\n"
        "sys.exit(main(['mcp']))\n"
    )
    env = {"PATH": os.environ["PATH"], "VAULTBORN_HOME": os.environ["VAULTBORN_HOME"]}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert (
        done.stderr == "vaultborn: vaultborn mcp needs the MCP SDK: pip install 'vaultborn[mcp]'\n"
    )


def test_run_must_name_an_mcp_sessions_run(cli: Run) -> None:
    missing = cli("mcp", "--run", "mcp-nope")
    assert missing.code == 2 and "no run 'mcp-nope'" in missing.err
    assert cli("setup", "--json").code == 3  # a setup run, waiting at its vault session
    (run,) = [w["run_id"] for w in json.loads(cli("approvals", "--json").out)]
    other = cli("mcp", "--run", run)
    assert other.code == 2 and other.err == f"vaultborn: run {run} is not an MCP session's run\n"
