"""What a setup stepped command by command says, as a person running the README's steps sees it.

Each command a new process: a line per effect on stderr as it happens, the embedded-AWS
notice once (from the command that first uses a store, not from approve, edit or a failing
command that touches none, nor from a later seed of the same data directory), and a receipt
on stdout when the run is done.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.forkserver import run_vaultborn
from tests.ptykit import cli_env
from vaultborn.browser.chromium import find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")

NOTICE = "using an embedded AWS emulator (moto)"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_vaultborn(args, env=env, timeout=300)


def test_a_stepped_setup_reports_as_it_goes_says_the_notice_once_and_ends_with_a_receipt(
    tmp_path: Path,
) -> None:
    env = cli_env(tmp_path)
    said: list[tuple[str, str]] = []  # (command, stderr)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        result = _cli(env, *args)
        said.append((" ".join(args), result.stderr))
        return result

    assert cli("approve").returncode == 1  # nothing waits: an error, and no store touched
    run_id = json.loads(cli("setup", "--json").stdout)["run_id"]
    assert cli("approve", run_id).returncode == 3  # the vault session
    assert cli("edit", run_id, "recipe=x").returncode == 2  # refused, lists what it takes
    assert "it takes: vault, title, username, password_recipe" in said[-1][1]
    answered = [cli("approve", run_id) for _ in range(4)]  # verify changes nothing: no gate

    assert [r.returncode for r in answered] == [3, 3, 3, 0], said[-1][1][-2000:]
    created = answered[0].stderr
    assert f"{run_id} create_item: creating the break-glass item" in created
    assert f"{run_id} create_item: done — op://ACL/Auth0 — admin@example.com/password" in created
    assert f"{run_id} enroll_totp: done — TOTP confirmed" in answered[2].stderr
    seeded = [command for command, err in said if NOTICE in err]
    assert len(seeded) == 1 and f"{run_id} seed: done" in answered[-1].stderr, said
    assert NOTICE in answered[-1].stderr  # the command whose approval ran the seed
    receipt = answered[-1].stdout
    assert receipt.startswith(f"{run_id}: done\n"), receipt
    for row in ("item ", "IdP user ", "enrollment ", "store ", "verification "):
        assert f"\n  {row}" in receipt, receipt
    assert "verification  token accepted" in receipt
    assert "{" not in receipt  # rows, not reprs

    seeds = json.loads(_cli(env, "show", run_id, "--json").stdout)["state"]["seeds"]
    (kept,) = seeds.values()
    again = cli("seed", kept["source"], kept["target"], "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outcome"] == "unchanged"  # kept from the setup
    assert NOTICE not in again.stderr  # said once for this data directory
