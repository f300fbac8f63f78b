"""Whole setups in real ``vaultborn`` processes, and what they left behind.

``run_cli`` starts the CLI as a new process with only the environment given (a private home,
a moto server for AWS); ``run_here`` runs it in this process on the same environment, for the
commands that only look (a new Python costs a second or more, and such a test is not about
the process); ``count_effects`` reopens the vault, the dev IdP's database and moto
to count each external effect; ``secrets_in_vault`` and ``assert_no_secret_at_rest`` are the
canary scan: every secret value the vault holds after the run, searched for in every file
the run wrote and in everything it printed.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from moto.server import ThreadedMotoServer

from tests.conftest import Run
from tests.forkserver import run_vaultborn
from tests.idp.devkit import bearer, client, get_token
from tests.rundb import at_rest
from vaultborn.graphs.checkpoint import DATABASE_ENV
from vaultborn.idp.devserver.server import start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import FieldType
from vaultborn.vault.op.backend import OpVault
from vaultborn.vault.protocol import Vault
from vaultborn.vault.secret import Secret

__all__ = [
    "EMAIL",
    "TARGET_NAME",
    "assert_no_secret_at_rest",
    "cli_env",
    "count_accounts",
    "count_effects",
    "enrollment_debris",
    "moto_server",
    "open_vault",
    "run_cli",
    "run_here",
    "secrets_in_vault",
]

EMAIL = "admin@example.com"
TARGET_NAME = "vaultborn-demo/some-api"
IDP_OWN_FILES = ("devidp.db",)
"""The dev IdP's database: it holds the TOTP seed as any IdP must, so it is not ours to scan."""


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on loopback, so seeds outlive the CLI processes; yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def run_cli(
    home: Path, endpoint: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``vaultborn ARGS`` in a new process on ``home`` and the moto at ``endpoint``.

    Forked from the tests' server of pre-loaded libraries (``tests.forkserver``): a new
    process, without the 2 s of imports each.
    """
    return run_vaultborn(args, env={**cli_env(home, endpoint), **(env or {})}, timeout=300)


def run_here(cli: Run, home: Path, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``vaultborn ARGS`` in this process (the ``cli`` fixture), with ``run_cli``'s environment.

    The variables stay set for the rest of the test (``clean_environ`` restores them after).
    """
    os.environ.update(cli_env(home, endpoint))
    done = cli(*args)
    return subprocess.CompletedProcess(["vaultborn", *args], done.code, done.out, done.err)


def cli_env(home: Path, endpoint: str) -> dict[str, str]:
    """The only environment a CLI process of these tests gets: ``home``, the moto at
    ``endpoint``, and the run database the ``run_database`` fixture chose."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home.parent),
        "VAULTBORN_HOME": str(home),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if os.environ.get(DATABASE_ENV):  # the run_database fixture chose PostgreSQL
        base[DATABASE_ENV] = os.environ[DATABASE_ENV]
    return base


def open_vault(home: Path, env: dict[str, str] | None = None) -> Vault:
    """The vault the runs used: the local one at ``home``, or op when ``env`` chooses it."""
    env = env or {}
    if env.get("VAULTBORN_VAULT_BACKEND") == "op":
        return OpVault.from_env({"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env})
    return LocalVault(home)


def _close(vault: Vault) -> None:
    close = getattr(vault, "close", None)  # the local vault holds a database; op holds nothing
    if close is not None:
        close()


def count_effects(home: Path, endpoint: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """How many of each effect exist: vault items, IdP users, confirmed TOTPs, seed versions."""
    return count_accounts(home, endpoint, [(EMAIL, TARGET_NAME)], env)[EMAIL]


def count_accounts(
    home: Path,
    endpoint: str,
    accounts: list[tuple[str, str]],
    env: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """``count_effects`` for each ``(email, seed target name)``, by e-mail."""
    vault = open_vault(home, env)
    try:
        items = {
            email: len(vault.find_items("ACL", title=f"Auth0 — {email}")) for email, _ in accounts
        }
        mgmt = vault.read("op://ACL/vaultborn dev — Auth0 Management/password")
        agent = vault.read("op://ACL/vaultborn dev — Auth0 M2M agent/password")
    finally:
        _close(vault)
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    counts: dict[str, dict[str, Any]] = {}
    tenant = demo_tenant(mgmt_secret=mgmt, agent_secret=agent)
    with start_dev_idp(tenant, db=home / "devidp.db") as idp, client(idp.base_url) as http:
        token = get_token(idp, "mgmt", mgmt.reveal(), idp.management_audience)["access_token"]
        for email, target in accounts:
            users = http.get(
                "api/v2/users-by-email", params={"email": email}, headers=bearer(token)
            )
            methods = [
                http.get(
                    f"api/v2/users/{u['user_id']}/authentication-methods", headers=bearer(token)
                ).json()
                for u in users.json()
            ]
            try:
                versions = len(sm.list_secret_version_ids(SecretId=target)["Versions"])
            except sm.exceptions.ResourceNotFoundException:
                versions = 0
            counts[email] = {
                "items": items[email],
                "users": len(users.json()),
                "confirmed_totp": sum(1 for ms in methods for m in ms if m["confirmed"]),
                "versions": versions,
            }
    return counts


def enrollment_debris(home: Path) -> dict[str, int]:
    """What enrollments left at the dev IdP: TOTP authenticators nobody confirmed (each with
    its seed), and tickets still open (each enrolls whoever holds its URL for five days)."""
    with closing(sqlite3.connect(home / "devidp.db")) as conn:
        (pending,) = conn.execute("SELECT count(*) FROM authenticators WHERE NOT confirmed")
        (tickets,) = conn.execute(
            "SELECT count(*) FROM tickets WHERE used IS NULL AND expires > ?", (time.time(),)
        )
    return {"pending_totp": pending[0], "open_tickets": tickets[0]}


def secrets_in_vault(vault: Vault) -> set[str]:
    """Every secret value in ``vault``, OTP seeds on their own too (``vault`` is closed)."""
    found: set[str] = set()
    try:
        for summary in vault.find_items():
            item = vault.get_item(summary.vault.id, summary.id, reveal=True)
            for field in item.fields:
                if not isinstance(field.value, Secret):
                    continue
                value = field.value.reveal()
                found.add(value)
                if field.type == FieldType.OTP and value.startswith("otpauth://"):
                    found.update(parse_qs(urlsplit(value).query).get("secret", []))
    finally:
        _close(vault)
    return {value for value in found if len(value) >= 8}


def assert_no_secret_at_rest(
    home: Path, outputs: Iterable[str] = (), env: dict[str, str] | None = None
) -> None:
    """No vault secret in any file under ``home`` (but the IdP's own) nor in ``outputs``."""
    values = secrets_in_vault(open_vault(home, env))
    assert values, "the vault holds no secrets: the scan would prove nothing"
    printed = "\n".join(outputs)
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        if path.name.startswith(IDP_OWN_FILES):
            continue
        data = path.read_bytes()
        for value in values:
            assert value.encode() not in data, f"a vault secret rests in {path.name}"
    stored = at_rest(home)
    for value in values:
        assert value not in printed, "a vault secret was printed"
        assert value.encode() not in stored, "a vault secret rests in the run database"
