"""``vaultborn rotate --what totp`` end to end: a second TOTP enrolled, proven, the old removed.

One embedded setup per module (Chromium enrolls once); each test rotates its own copy of it in
real CLI processes. The IdP's side is read from the dev IdP's own store (the test may see
seeds there: that is how it knows the confirmed authenticator is the vault's current seed);
the vault's side from the local vault. Killed at each effect (``VAULTBORN_TEST_CRASH_AT``, as
``kill -9``) and resumed, the rotation ends as an uninterrupted one: exactly one confirmed
TOTP at the IdP, none pending, the old one gone, the vault's current seed the confirmed one,
its previous seed retired, drift in sync, and no seed outside the vault.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.clikit import EMAIL, assert_no_secret_at_rest, run_cli
from tests.graph.kit import embedded_run
from tests.rundb import at_rest
from vaultborn.browser.chromium import find_chromium
from vaultborn.core.errors import ConfigurationError
from vaultborn.idp.devserver.server import start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.nodes.totp_rotation import remove_old_totp
from vaultborn.runner.faults import CRASH_ENV, CRASH_EXIT
from vaultborn.runner.lifecycle import Subject, lifecycle_start
from vaultborn.runner.plan_default import DEMO_AGENT, DEMO_MANAGEMENT
from vaultborn.runner.runs import advance
from vaultborn.vault.local import LocalVault
from vaultborn.vault.otp import parse_otpauth_uri
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")

ITEM = f"Auth0 — {EMAIL}"
PREVIOUS = "previous one-time password"
# Every effect's fault points, in the order a rotation passes them: the old seed kept, the
# ticket's page opened, the new seed captured into the vault, confirmed, the old authenticator
# removed, the previous seed retired.
POINTS = (
    "new_totp:before", "new_totp:after", "enroll_totp:before", "enroll_totp:captured",
    "enroll_totp:after", "remove_old_totp:before", "remove_old_totp:after",
    "retire_previous:before", "retire_previous:after",
)  # fmt: skip


@dataclass(frozen=True)
class Totp:
    """The break-glass TOTP as the IdP and the vault hold it."""

    confirmed: dict[str, str]
    """The IdP's confirmed TOTP authenticators: id → seed."""
    pending: int
    """The IdP's unconfirmed TOTP authenticators."""
    seed: str
    """The vault's current seed."""
    version: int
    """The break-glass item's version."""
    labels: list[str]
    """The item's field labels."""


def _totp(home: Path) -> Totp:
    vault = LocalVault(home)
    try:
        mgmt, agent = vault.read(DEMO_MANAGEMENT.reference), vault.read(DEMO_AGENT.reference)
        item = vault.get_item("ACL", ITEM, reveal=True)
    finally:
        vault.close()
    assert item.otp_field is not None and isinstance(item.otp_field.value, Secret)
    seed = parse_otpauth_uri(item.otp_field.value).seed.reveal()
    tenant = demo_tenant(mgmt_secret=mgmt, agent_secret=agent)
    with start_dev_idp(tenant, db=home / "devidp.db") as idp:
        store = idp.context.store
        (user,) = store.users.by_email(EMAIL)
        found = [a for a in store.mfa.authenticators(user.user_id) if a.type == "totp"]
    return Totp(
        confirmed={a.id: a.seed.reveal() for a in found if a.confirmed},
        pending=sum(not a.confirmed for a in found),
        seed=seed,
        version=item.version,
        labels=sorted(f.label for f in item.fields),
    )


def _assert_rotated(before: Totp, after: Totp) -> None:
    """One confirmed TOTP, the vault's new seed; the old one gone from the IdP and the item."""
    assert after.pending == 0
    ((new_id, new_seed),) = after.confirmed.items()
    assert new_id not in before.confirmed
    assert hmac.compare_digest(new_seed, after.seed)
    assert not hmac.compare_digest(after.seed, before.seed)
    assert PREVIOUS not in after.labels
    assert "vaultborn rotation" in after.labels


def _in_sync(home: Path, endpoint: str) -> str:
    drift = run_cli(home, endpoint, "drift", "--auto-approve", "--json")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    return drift.stdout + drift.stderr


def _old_seed_nowhere(seed: str, home: Path, outputs: list[str]) -> None:
    """The retired seed is neither in the run database nor in anything printed."""
    assert seed.encode() not in at_rest(home)
    assert all(seed not in out for out in outputs)


def test_rotate_totp_enrolls_proves_then_removes_the_old(home: Path, moto_endpoint: str) -> None:
    before = _totp(home)
    assert len(before.confirmed) == 1 and before.pending == 0

    done = run_cli(home, moto_endpoint, "rotate", "--what", "totp", "--auto-approve", "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "done"
    results = report["results"]
    assert results["totp_before"]["authenticators"] == list(before.confirmed)
    assert results["removed"]["authenticators"] == list(before.confirmed)
    assert results["verified"]["outcome"] == "verified"
    after = _totp(home)
    _assert_rotated(before, after)
    # The old seed kept beside the new one, the new seed, the old one retired: three versions.
    assert after.version == before.version + 3
    assert results["rotated"]["version"] == before.version + 2
    outputs = [done.stdout + done.stderr, _in_sync(home, moto_endpoint)]
    assert_no_secret_at_rest(home, outputs)
    _old_seed_nowhere(before.seed, home, outputs)


@pytest.mark.robustness("fault: process killed before/after each lifecycle effect")
@pytest.mark.parametrize("point", POINTS)
def test_rotate_totp_killed_at_any_effect_resumes_to_exactly_once(
    point: str, home: Path, moto_endpoint: str
) -> None:
    before = _totp(home)
    command = ("rotate", "--what", "totp", "--auto-approve", "--json")
    crashed = run_cli(home, moto_endpoint, *command, env={CRASH_ENV: point})
    assert crashed.returncode == CRASH_EXIT, crashed.stderr
    midway = _totp(home)
    # Killed anywhere, the IdP takes a seed the vault holds: the old one (kept in the item
    # until the old authenticator is gone) or the new one.
    held = {midway.seed} | ({before.seed} if PREVIOUS in midway.labels else set())
    assert set(midway.confirmed.values()) & held, point

    listed = run_cli(home, moto_endpoint, "runs", "--json")
    (stopped,) = [r["run_id"] for r in json.loads(listed.stdout) if r["status"] != "done"]
    resumed = run_cli(home, moto_endpoint, "resume", stopped, "--auto-approve", "--json")

    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "done"
    after = _totp(home)
    _assert_rotated(before, after)
    # A seed captured but never confirmed is dropped with its authenticator, and the resumed
    # run captures a new one: one vault version more. Nothing else happens twice.
    again = 1 if point == "enroll_totp:captured" else 0
    assert after.version == before.version + 3 + again, point
    outputs = [r.stdout + r.stderr for r in (crashed, listed, resumed)]
    outputs.append(_in_sync(home, moto_endpoint))
    assert_no_secret_at_rest(home, outputs)
    _old_seed_nowhere(before.seed, home, outputs)


def test_an_idp_without_multiple_enrollments_refuses_in_one_line_and_nothing_changes(
    tmp_path: Path,
) -> None:
    with embedded_run(tmp_path, multiple_enrollments=False) as run:
        (view,) = run.drive("run-setup")
        assert view.status == "done", view.reason
        item = run.vault.get_item("ACL", ITEM)
        with run.management() as mgmt:
            user_id = mgmt.users_by_email(EMAIL)[0]["user_id"]
            methods = mgmt.authentication_methods(user_id)
        start = lifecycle_start(Subject(run.plan, "sha256:test"), "run-totp", "rotate:totp", 3600)

        with pytest.raises(ConfigurationError) as refused:
            asyncio.run(advance(run.db, run.deps, "run-totp", start=start))

        message = str(refused.value)
        assert "\n" not in message and "allow_multiple_enrollments" in message
        assert "nothing changed" in message
        assert run.vault.get_item("ACL", ITEM).version == item.version
        with run.management() as mgmt:
            assert mgmt.authentication_methods(user_id) == methods

        # The last confirmed TOTP is never removed, whatever a state or an edit names.
        (only,) = [m["id"] for m in methods if m.get("confirmed")]
        with pytest.raises(ConfigurationError, match="no confirmed TOTP authenticator besides"):
            remove_old_totp({"email": EMAIL, "authenticators": [only]}, run.deps)
        with run.management() as mgmt:
            assert mgmt.authentication_methods(user_id) == methods


def test_rotate_still_refuses_what_it_cannot_rotate(home: Path, moto_endpoint: str) -> None:
    """``totp`` is one of ``--what``'s now; an unknown one is a usage mistake, in one line."""
    refused = run_cli(home, moto_endpoint, "rotate", "--what", "fingerprint")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "--what takes" in refused.stderr
    assert "totp" in refused.stderr
