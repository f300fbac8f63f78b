"""Whole setups on the 1Password CLI backend (the fake ``op``) while ``op`` misbehaves.

An unanswered biometric prompt or a rate limit is transient: the step retries and converges.
A dismissed prompt, one that stays unanswered, or a signed-out CLI stops the run with one
line; once the person answers or signs in, ``resume`` (or a new ``setup`` when the stop came
before the run was saved) converges. Each effect exists exactly once afterwards, and no
secret the vault holds rests in a file of the run or in its output.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.faults.clikit import assert_no_secret_at_rest, count_effects, run_cli
from vaultborn.browser.chromium import find_chromium
from vaultborn.vault.op.fake import install_fake_op

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("fault: op CLI during a whole setup"),
]

ONCE = {"items": 1, "users": 1, "confirmed_totp": 1, "versions": 1}
TIMEOUT = "error initializing client: authorization timeout"
DISMISSED = "error initializing client: authorization prompt dismissed, please try again"
RATE_LIMITED = "(429) Too Many Requests: rate limit exceeded"

CASES: dict[str, tuple[dict[str, str], str]] = {
    # name: (fault environment, what the first run's one line says; "" when it finishes)
    "biometric prompt unanswered once while storing the seed": (
        {"FAKE_OP_FAIL": TIMEOUT, "FAKE_OP_FAIL_ON": "item edit", "FAKE_OP_FAIL_TIMES": "1"},
        "",
    ),
    "rate limited on every retry of storing the seed": (
        {"FAKE_OP_FAIL": RATE_LIMITED, "FAKE_OP_FAIL_ON": "item edit", "FAKE_OP_FAIL_TIMES": "9"},
        "1Password is rate-limiting this account",
    ),
    "prompt dismissed while storing the seed": (
        {"FAKE_OP_FAIL": DISMISSED, "FAKE_OP_FAIL_ON": "item edit", "FAKE_OP_FAIL_TIMES": "1"},
        "authorization prompt was dismissed",
    ),
    "prompt dismissed at the break-glass item": (
        {"FAKE_OP_FAIL": DISMISSED, "FAKE_OP_FAIL_ON": "item create", "FAKE_OP_FAIL_TIMES": "4"},
        "authorization prompt was dismissed",
    ),
    "CLI signed out": ({"FAKE_OP_SIGNED_OUT": "1"}, "run `op signin`"),
}


@pytest.fixture
def op_env(tmp_path: Path, moto_reset: str) -> dict[str, str]:
    state, argv_log = tmp_path / "op-state.json", tmp_path / "op-argv.jsonl"
    op = install_fake_op(tmp_path / "bin", state=state, argv_log=argv_log)
    return {
        "VAULTBORN_VAULT_BACKEND": "op",
        "VAULTBORN_OP_BIN": str(op),
        "FAKE_OP_STATE": str(state),
        "FAKE_OP_ARGV_LOG": str(argv_log),
        "FAKE_OP_VAULTS": "ACL",
    }


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "embedded AWS" not in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_setup_on_op_survives_the_fault(
    case: str, tmp_path: Path, moto_endpoint: str, op_env: dict[str, str]
) -> None:
    fault, says = CASES[case]
    home = tmp_path / "home"
    first = run_cli(home, moto_endpoint, "setup", "--auto-approve", "--json",
                    env={**op_env, **fault})  # fmt: skip
    results = [first]
    if not says:
        assert first.returncode == 0, first.stderr
    else:
        assert first.returncode == 1, first.stderr
        line = _one_line(first)
        assert says in line, line
        runs = json.loads(run_cli(home, moto_endpoint, "runs", "--json", env=op_env).stdout)
        if runs:
            run_id = runs[0]["run_id"]
            assert line.endswith(f"the run keeps its progress: vaultborn resume {run_id}"), line
            again: tuple[str, ...] = ("resume", run_id, "--auto-approve", "--json")
        else:
            again = ("setup", "--auto-approve", "--json")
        results.append(run_cli(home, moto_endpoint, *again, env=op_env))
        assert results[-1].returncode == 0, results[-1].stderr
    assert json.loads(results[-1].stdout)["status"] == "done"
    assert count_effects(home, moto_endpoint, op_env) == ONCE
    assert_no_secret_at_rest(
        home,
        [r.stdout + r.stderr for r in results] + [Path(op_env["FAKE_OP_ARGV_LOG"]).read_text()],
        op_env,
    )
