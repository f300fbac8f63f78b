"""Ctrl-C and the gate prompts, as a person meets them in a real terminal (a pty).

One Ctrl-C anywhere stops ``vaultborn setup`` cleanly: exit 130, one line ending in the
command that goes on, no Playwright, asyncio or threading noise; a run stopped mid-step is
``interrupted`` in ``runs`` and ``show`` alike, and ``resume`` finishes it. In the middle of a
step the Ctrl-C comes from the fault switch (``sigint``: SIGINT to the process group, as the
terminal sends it) so that it lands inside that step, not wherever a race puts it; at a
prompt it is the key itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ptykit import Terminal, cli_env
from vaultborn.browser.chromium import find_chromium

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("interrupts: Ctrl-C and prompts in a terminal"),
]

PROMPT = "n/q]:"  # the session's "[a/y/n/q]:" (plan offered) and each step's "[y/n/q]:"
NOISE = (
    "Traceback",
    "Future exception",
    "Exception ignored",
    "Connection closed",
    "KeyboardInterrupt",
    "Task was destroyed",
    "Event loop is closed",
    "Please select",  # an answer nobody typed
)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vaultborn", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _only_run(env: dict[str, str]) -> dict[str, object]:
    runs = json.loads(_cli(env, "runs", "--json").stdout)
    assert len(runs) == 1, runs
    run: dict[str, object] = runs[0]
    return run


def _approve(term: Terminal, times: int) -> None:
    for _ in range(times):
        term.expect(PROMPT)
        term.type("y\n")


@pytest.mark.parametrize(
    ("step", "approvals"),
    [("enroll_totp", 4), ("verify", 5)],
    ids=["during-enrollment", "during-verification"],
)
def test_one_ctrl_c_in_a_browser_step_stops_cleanly_and_resume_finishes(
    tmp_path: Path, step: str, approvals: int
) -> None:
    env = cli_env(tmp_path, VAULTBORN_TEST_CRASH_AT=f"{step}:before:sigint")
    with Terminal(["setup"], env) as term:
        _approve(term, approvals)
        code = term.wait()
        after = term.seen.split(f"{step}:", 1)[-1]
    assert code == 130, term.seen[-2000:]
    run = _only_run(env)
    run_id = str(run["run_id"])
    assert f"interrupted during {step}" in after
    assert after.rstrip().endswith(f"vaultborn resume {run_id}"), after[-500:]
    for noise in NOISE:
        assert noise not in after, after
    assert run["status"] == "interrupted"
    shown = json.loads(_cli(env, "show", run_id, "--json").stdout)
    assert shown["status"] == "interrupted"
    assert f"during {step}" in shown["reason"]
    human = _cli(env, "show", run_id).stdout
    assert human.startswith(f"{run_id}: interrupted (interrupted (Ctrl-C) during {step})")
    assert "status: running" not in human  # one status everywhere
    assert "Audit trail" in human and "{'" not in human  # tables, not Python reprs
    env.pop("VAULTBORN_TEST_CRASH_AT")
    resumed = _cli(env, "resume", run_id, "--auto-approve")
    assert resumed.returncode == 0, resumed.stderr
    assert _only_run(env)["status"] == "done"


def test_ctrl_c_at_a_prompt_ends_at_once_and_the_run_still_waits(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    with Terminal(["setup"], env) as term:
        _approve(term, 1)
        term.expect(PROMPT)
        term.interrupt()
        code = term.wait(timeout=60)
        after = term.seen.rsplit(PROMPT, 1)[-1]
    run = _only_run(env)
    assert code == 130, term.seen[-2000:]
    assert after.rstrip().endswith(f"to be asked here again: vaultborn resume {run['run_id']}")
    for noise in NOISE:
        assert noise not in after, after
    assert run["status"] == "waiting"


def test_enter_alone_approves_nothing(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    with Terminal(["setup"], env) as term:
        _approve(term, 1)
        term.expect(PROMPT)
        term.type("\n")
        term.expect("Please select one of the available options")
        term.expect(PROMPT)
        term.type("q\n")
        code = term.wait()
    assert code == 3
    waiting = json.loads(_cli(env, "approvals", "--json").stdout)
    assert [w["waiting"]["action"]["name"] for w in waiting] == ["create_item"]
    listed = _cli(env, "approvals").stdout  # the digest, as the README says, without --json
    assert f"digest {waiting[0]['waiting']['digest']}; expires " in listed


def test_a_gate_shows_run_digest_expiry_names_and_systems(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    with Terminal(["setup"], env) as term:
        _approve(term, 2)
        card = term.expect(PROMPT).rsplit("create_item: done", 1)[-1]
        term.type("q\n")
        term.wait()
    waiting = json.loads(_cli(env, "approvals", "--json").stdout)[0]
    run_id, digest = waiting["run_id"], waiting["waiting"]["digest"]
    item = json.loads(_cli(env, "item", "get", "Auth0 — admin@example.com", "--vault", "ACL",
                           "--json").stdout)  # fmt: skip
    vault_id, item_id = item["vault"]["id"], item["id"]
    assert f"{run_id} asks to approve create_user" in card
    assert f"digest    {digest}" in card
    assert "expires   " in card and "(in 60 min)" in card
    # The plan names the password by vault and item name (so plan and gate digests match);
    # the line saying the item was made shows the ids beside the name.
    named = "op://ACL/Auth0 — admin@example.com/password"
    assert f"password    {named}" in card
    assert f"op://{vault_id[:4]}…/{item_id[:4]}…/password" in card  # create_item's done line
    assert "touches   the embedded dev IdP on 127.0.0.1" in card
