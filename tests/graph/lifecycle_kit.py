"""A finished embedded setup to rotate, revoke and check for drift, copied afresh for each test.

``finished_setup`` runs ``vaultborn setup`` once (Chromium enrolls the TOTP) in a data directory;
``fresh_chain`` copies that directory for one test and seeds the store anew in the moto server
(moto keeps its secrets per process, so each test resets it). ``idp_admin`` opens the dev IdP of
a data directory for changes made behind vaultborn's back, and ``lifecycle_effects`` counts what
a rotation or a revocation leaves behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx

from tests.faults.clikit import EMAIL, run_cli
from tests.idp.devkit import bearer, client, get_token
from vaultborn.idp.devserver.server import start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.runner.plan_default import DEMO_AGENT, DEMO_MANAGEMENT, DEMO_SOME_API
from vaultborn.runner.plan_default import DEMO_SEED_TARGET as TARGET
from vaultborn.stores.registry import open_stores
from vaultborn.stores.seed import seed
from vaultborn.vault.local import LocalVault

__all__ = [
    "AGENT_REF",
    "TARGET",
    "finished_setup",
    "fresh_chain",
    "idp_admin",
    "lifecycle_effects",
    "secretsmanager",
]

AGENT_REF = DEMO_AGENT.reference
BREAK_GLASS_ITEM = f"Auth0 — {EMAIL}"


def finished_setup(home: Path, endpoint: str) -> Path:
    """``home`` after a whole embedded setup (auto-approved)."""
    httpx.post(endpoint + "/moto-api/reset").raise_for_status()
    done = run_cli(home, endpoint, "setup", "--auto-approve", "--json")
    assert done.returncode == 0, done.stderr
    return home


def fresh_chain(snapshot: Path, home: Path, endpoint: str) -> Path:
    """A copy of ``snapshot`` at ``home``, its store target seeded anew as the setup did."""
    shutil.copytree(snapshot, home)
    httpx.post(endpoint + "/moto-api/reset").raise_for_status()
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    # boto3 reads its credentials from the process's environment (the autouse clean_environ
    # fixture restores it after the test).
    os.environ.update(env)
    vault = LocalVault(home)
    try:
        with open_stores(lambda _: None, env=env, home=home) as stores:
            seed(vault, DEMO_SOME_API.reference, stores.store_for(TARGET), TARGET)
    finally:
        vault.close()
    return home


def secretsmanager(endpoint: str) -> Any:
    """A Secrets Manager client on the moto server."""
    return boto3.client(
        "secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


@contextmanager
def idp_admin(home: Path) -> Iterator[tuple[httpx.Client, dict[str, str], str]]:
    """The dev IdP of ``home``: an HTTP client, a management bearer header, the user's id."""
    vault = LocalVault(home)
    try:
        mgmt = vault.read(DEMO_MANAGEMENT.reference)
        agent = vault.read(AGENT_REF)
    finally:
        vault.close()
    tenant = demo_tenant(mgmt_secret=mgmt, agent_secret=agent)
    with start_dev_idp(tenant, db=home / "devidp.db") as idp, client(idp.base_url) as http:
        token = get_token(idp, "mgmt", mgmt.reveal(), idp.management_audience)["access_token"]
        headers = bearer(token)
        users = http.get("api/v2/users-by-email", params={"email": EMAIL}, headers=headers)
        user_id = users.json()[0]["user_id"] if users.json() else ""
        yield http, headers, user_id


def lifecycle_effects(home: Path, endpoint: str) -> dict[str, Any]:
    """What the chain looks like now: IdP user and authenticators, grants, store, vault tags."""
    with idp_admin(home) as (http, headers, user_id):
        users = http.get("api/v2/users-by-email", params={"email": EMAIL}, headers=headers).json()
        methods = (
            http.get(f"api/v2/users/{user_id}/authentication-methods", headers=headers).json()
            if user_id
            else []
        )
        grants = http.get(
            "api/v2/client-grants", params={"client_id": "agent"}, headers=headers
        ).json()["client_grants"]
    try:
        meta = secretsmanager(endpoint).describe_secret(SecretId=TARGET.split("/", 3)[3])
        store = "scheduled" if "DeletedDate" in meta else "present"
        versions = len(meta.get("VersionIdsToStages") or {})
    except Exception:
        store, versions = "absent", 0
    vault = LocalVault(home)
    try:
        tags = {
            s.title: sorted(s.tags)
            for s in vault.find_items("ACL")
            if s.title in (BREAK_GLASS_ITEM, DEMO_AGENT.title)
        }
        agent_item = vault.get_item("ACL", DEMO_AGENT.title)
        labels = sorted(f.label for f in agent_item.fields)
        agent_version = agent_item.version
    finally:
        vault.close()
    return {
        "users": len(users),
        "blocked": [u.get("blocked", False) for u in users],
        "authenticators": len(methods),
        "grants": len(grants),
        "store": store,
        "store_versions": versions,
        "tags": tags,
        "agent_fields": labels,
        "agent_version": agent_version,
    }
