"""``vaultborn drift``, ``revoke`` and ``rotate`` end to end, on a finished embedded setup.

One setup per test process (Chromium enrolls once; the package's conftest); each test works on
its own copy of it (``lifecycle_kit.fresh_chain``), in real CLI processes, and ends with the canary
scan: no secret the vault holds rests in any file of the run, in the run database or in anything
printed. Drift, revoke and the client-secret rotation run on each run database (``chain``):
SQLite in the data directory, and PostgreSQL, where the setup run is too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.faults.clikit import assert_no_secret_at_rest, run_cli
from tests.graph.lifecycle_kit import (
    TARGET,
    idp_admin,
    lifecycle_effects,
    secretsmanager,
)
from vaultborn.browser.chromium import find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


def _setup_run(home: Path, endpoint: str) -> str:
    listed = json.loads(run_cli(home, endpoint, "runs", "--json").stdout)
    (setup,) = [r["run_id"] for r in listed if r["status"] == "done"]
    return str(setup)


def _statuses(report: dict[str, object]) -> dict[str, str]:
    checks = report["results"]["drift"]["checks"]  # type: ignore[index]
    return {c["credential"]: c["status"] for c in checks}


def test_drift_is_in_sync_after_setup_then_sees_direct_changes(
    chain: Path, moto_endpoint: str
) -> None:
    outputs = []
    run = _setup_run(chain, moto_endpoint)
    first = run_cli(chain, moto_endpoint, "drift", run, "--auto-approve", "--json")
    outputs.append(first.stdout + first.stderr)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["results"]["drift"]["in_sync"] is True
    assert set(_statuses(report).values()) == {"in-sync"}
    assert len(_statuses(report)) == 5

    # Behind vaultborn's back: a value written into the store directly, the user blocked.
    secretsmanager(moto_endpoint).put_secret_value(
        SecretId=TARGET.split("/", 3)[3], SecretString="typed-in-by-hand-0123456789"
    )
    with idp_admin(chain) as (http, headers, user_id):
        blocked = http.patch(f"api/v2/users/{user_id}", json={"blocked": True}, headers=headers)
        assert blocked.status_code == 200, blocked.text
    second = run_cli(chain, moto_endpoint, "drift", run, "--auto-approve", "--json")
    outputs.append(second.stdout + second.stderr)
    assert second.returncode == 1, second.stderr
    statuses = _statuses(json.loads(second.stdout))
    assert statuses[TARGET] == "drifted"
    assert statuses["IdP user"] == "drifted"
    assert statuses["break-glass item"] == "in-sync"

    plain = run_cli(chain, moto_endpoint, "drift", run, "--auto-approve")
    outputs.append(plain.stdout + plain.stderr)
    assert plain.returncode == 1
    assert "drifted  IdP user" in plain.stdout
    assert_no_secret_at_rest(chain, outputs)


def test_revoke_dry_run_lists_each_effect_and_changes_nothing(
    home: Path, moto_endpoint: str
) -> None:
    before = lifecycle_effects(home, moto_endpoint)
    listed = run_cli(home, moto_endpoint, "revoke", "--dry-run", "--json")
    assert listed.returncode == 0, listed.stderr
    actions = json.loads(listed.stdout)["actions"]
    assert [a["name"] for a in actions] == [
        "remove_authenticators", "revoke_user", "revoke_client", "delete_store_secret",
        "archive_items",
    ]  # fmt: skip
    assert all(a["digest"].startswith("sha256:") for a in actions)
    assert lifecycle_effects(home, moto_endpoint) == before
    assert json.loads(run_cli(home, moto_endpoint, "runs", "--json").stdout)[0]["status"] == "done"


def test_revoke_takes_the_chain_down_and_archives_the_items(
    chain: Path, moto_endpoint: str
) -> None:
    before = lifecycle_effects(chain, moto_endpoint)
    assert (before["users"], before["authenticators"], before["store"]) == (1, 1, "present")
    assert before["grants"] >= 1
    run = _setup_run(chain, moto_endpoint)
    done = run_cli(chain, moto_endpoint, "revoke", run, "--auto-approve", "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert results["removed"]["count"] == 1
    assert results["stores_deleted"][TARGET]["outcome"] == "scheduled"

    after = lifecycle_effects(chain, moto_endpoint)
    assert after["users"] == 1 and after["blocked"] == [True]
    assert after["authenticators"] == 0
    assert after["grants"] == 0
    assert after["store"] == "scheduled"  # restorable for the recovery window
    assert all("vaultborn-archived" in tags for tags in after["tags"].values())
    assert len(after["tags"]) == 2

    drifted = run_cli(chain, moto_endpoint, "drift", run, "--auto-approve", "--json")
    assert drifted.returncode == 1
    assert_no_secret_at_rest(chain, [done.stdout + done.stderr, drifted.stdout + drifted.stderr])


def test_rotate_client_secret_makes_a_new_vault_version_and_stays_in_sync(
    chain: Path, moto_endpoint: str
) -> None:
    before = lifecycle_effects(chain, moto_endpoint)
    run = _setup_run(chain, moto_endpoint)
    done = run_cli(chain, moto_endpoint, "rotate", run, "--what", "client-secret",
                   "--auto-approve", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert results["rotated"]["previous_kept"] is True
    assert results["verified"]["outcome"] == "verified"
    assert results["retired"]["outcome"] == "retired"

    after = lifecycle_effects(chain, moto_endpoint)
    # new value, then the previous one retired: two versions; no "previous password" left.
    assert after["agent_version"] == before["agent_version"] + 2
    assert after["agent_fields"] == [*before["agent_fields"], "vaultborn rotation"]

    drift = run_cli(chain, moto_endpoint, "drift", run, "--auto-approve", "--json")
    assert drift.returncode == 0, drift.stdout
    assert_no_secret_at_rest(chain, [done.stdout + done.stderr, drift.stdout + drift.stderr])


def test_rotate_store_secrets_seeds_a_new_vault_value_and_aws_keeps_the_previous(
    home: Path, moto_endpoint: str
) -> None:
    before = lifecycle_effects(home, moto_endpoint)
    done = run_cli(home, moto_endpoint, "rotate", "--what", "store-secrets",
                   "--auto-approve", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    (rotated,) = results["new_secrets"].values()
    assert rotated["previous_kept"] is False  # nothing reads it from the vault meanwhile
    assert results["seeds"][TARGET]["outcome"] == "updated"
    # AWSCURRENT is the new value, AWSPREVIOUS the old one.
    assert lifecycle_effects(home, moto_endpoint)["store_versions"] == before["store_versions"] + 1
    drift = run_cli(home, moto_endpoint, "drift", "--auto-approve", "--json")
    assert drift.returncode == 0, drift.stdout
    assert_no_secret_at_rest(home, [done.stdout + done.stderr, drift.stdout + drift.stderr])


def test_rotate_break_glass_password_is_checked_by_a_login_drill(
    home: Path, moto_endpoint: str
) -> None:
    done = run_cli(home, moto_endpoint, "rotate", "--what", "break-glass-password",
                   "--auto-approve", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert results["pushed"]["outcome"] == "updated"
    # The drill logged in with the vault's new password and a code from its OTP field.
    assert results["verified"] == {**results["verified"], "outcome": "verified",
                                   "detail": "success-screen"}  # fmt: skip
    assert results["retired"]["outcome"] == "retired"
    drift = run_cli(home, moto_endpoint, "drift", "--auto-approve", "--json")
    assert drift.returncode == 0, drift.stdout
    assert_no_secret_at_rest(home, [done.stdout + done.stderr, drift.stdout + drift.stderr])


def test_revoke_deletes_the_user_when_its_gate_is_edited(
    home: Path, moto_endpoint: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'default = "allow"\n[actions]\nvault_session = "allow"\nrevoke_user = "ask"\n'
    )
    waiting = run_cli(home, moto_endpoint, "revoke", "--policy", str(policy), "--json")
    assert waiting.returncode == 3, waiting.stderr
    run = json.loads(waiting.stdout)["run_id"]
    edited = run_cli(home, moto_endpoint, "edit", run, "mode=delete")
    assert edited.returncode == 3, edited.stderr
    assert "Delete the IdP user" in edited.stdout
    approved = run_cli(home, moto_endpoint, "approve", run)  # the next gate asks: no policy here
    assert approved.returncode == 3, approved.stderr
    done = run_cli(home, moto_endpoint, "resume", run, "--policy", str(policy))
    assert done.returncode == 0, done.stderr
    assert lifecycle_effects(home, moto_endpoint)["users"] == 0
