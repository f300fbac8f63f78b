"""Crash safety: kill ``vaultborn setup`` on either side of every external effect, then resume.

The CLI runs as a real subprocess; ``VAULTBORN_TEST_CRASH_AT`` ends it with ``os._exit`` at the
named point (no cleanup, as a power cut). A second process resumes the run; the vault, the dev
IdP (its database in VAULTBORN_HOME) and a moto server started here then show every effect
exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from browser.chromium import find_chromium
from idp.devserver.server import start_dev_idp
from idp.devserver.tenant import demo_tenant
from tests.idp.devkit import bearer, client, get_token
from vault.local import LocalVault
from vaultborn.faults import CRASH_ENV, CRASH_EXIT

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("fault: process killed before/after each effect"),
]

POINTS = [
    f"{step}:{side}"
    for step in ("create_item", "create_user", "enroll_totp", "seed")
    for side in ("before", "after")
]
EMAIL = "admin@example.com"
TARGET_NAME = "vaultborn-demo/some-api"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server for the module, so seeds outlive the CLI processes."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _cli(
    home: Path, endpoint: str, *args: str, crash_at: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home.parent),
        "VAULTBORN_HOME": str(home),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "vaultborn", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _effects(home: Path, endpoint: str) -> dict[str, Any]:
    vault = LocalVault(home)
    try:
        items = vault.find_items("ACL", title=f"Auth0 — {EMAIL}")
        mgmt = vault.read("op://ACL/vaultborn dev — Auth0 Management/password")
        agent = vault.read("op://ACL/vaultborn dev — Auth0 M2M agent/password")
    finally:
        vault.close()
    tenant = demo_tenant(mgmt_secret=mgmt, agent_secret=agent)
    with start_dev_idp(tenant, db=home / "devidp.db") as idp, client(idp.base_url) as http:
        token = get_token(idp, "mgmt", mgmt.reveal(), idp.management_audience)["access_token"]
        users = http.get("api/v2/users-by-email", params={"email": EMAIL}, headers=bearer(token))
        methods = [
            http.get(
                f"api/v2/users/{u['user_id']}/authentication-methods", headers=bearer(token)
            ).json()
            for u in users.json()
        ]
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    versions = sm.list_secret_version_ids(SecretId=TARGET_NAME)["Versions"]
    return {
        "items": len(items),
        "users": len(users.json()),
        "confirmed_totp": sum(1 for ms in methods for m in ms if m["confirmed"]),
        "versions": len(versions),
    }


@pytest.mark.parametrize("point", POINTS)
def test_crash_then_resume_converges_to_exactly_once(
    point: str, tmp_path: Path, moto_endpoint: str
) -> None:
    home = tmp_path / "home"
    httpx.post(moto_endpoint + "/moto-api/reset").raise_for_status()
    crashed = _cli(home, moto_endpoint, "setup", "--auto-approve", "--json", crash_at=point)
    assert crashed.returncode == CRASH_EXIT, crashed.stderr

    listed = _cli(home, moto_endpoint, "runs", "--json")
    (run,) = json.loads(listed.stdout)
    resumed = _cli(home, moto_endpoint, "resume", run["run_id"], "--auto-approve", "--json")

    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "done"
    assert _effects(home, moto_endpoint) == {
        "items": 1,
        "users": 1,
        "confirmed_totp": 1,
        "versions": 1,
    }
