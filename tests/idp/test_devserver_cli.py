"""``vaultborn idp serve`` as a real process, and its secrets from the environment or the vault."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.idp.devkit import ENV, bearer, client, create_user, get, post
from tests.idp.support import m2m_vault
from vaultborn.idp.devserver.server import start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant

TENANT_FROM_VAULT = """
protected_audience = "https://api.example.com"
[[clients]]
client_id = "agent"
secret_ref = "op://ACL/Auth0 M2M — my-agent/credential"
audiences = ["https://api.example.com"]
scopes = ["read:whoami"]
"""
VAULT_SECRET = "agent-secret-born-in-the-vault-Jq4Wz8Lm2Rx6"


def _serve(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "vaultborn", "idp", "serve", "--port", "0", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"idp serve exited with {proc.returncode}: {err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("idp serve wrote no URL file")
        time.sleep(0.02)
    return path.read_text().strip()


def test_serve_writes_the_url_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    url_file, db = tmp_path / "idp.url", tmp_path / "idp.db"
    proc = _serve("--db", str(db), "--url-file", str(url_file), env=ENV)
    try:
        base = _wait_for(url_file, proc)
        assert base.startswith("http://127.0.0.1:") and base.endswith("/")
        config = get(base + ".well-known/openid-configuration")
        assert config.status_code == 200 and config.json()["issuer"] == base
        # A second server (this process) on the same database sees what the first one writes.
        with start_dev_idp(demo_tenant(), db=db, env=ENV) as local, client(base) as http:
            assert local.base_url != base
            user = create_user(http, _remote_mgmt(base), "cli@example.com")
            assert local.context.store.users.get(user["user_id"]) is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == base + "\n"
    assert err == ""
    assert not url_file.exists()
    for secret in ENV.values():
        assert secret not in out + err


def _remote_mgmt(base: str) -> str:
    answer = post(
        base + "oauth/token",
        json={"grant_type": "client_credentials", "client_id": "mgmt",
              "client_secret": ENV["MGMT_SECRET"], "audience": base + "api/v2/"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_a_missing_secret_variable_is_a_one_line_usage_error(
    tmp_path: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_SECRET", ENV["AGENT_SECRET"])
    result = cli("idp", "serve", "--db", str(tmp_path / "x.db"))
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert "'mgmt'" in result.err and "MGMT_SECRET" in result.err


def test_a_bad_tenant_file_names_the_key(tmp_path: Path, cli: Run) -> None:
    tenant = tmp_path / "tenant.toml"
    tenant.write_text('protected_audience = "x"\n[[clients]]\nclient_id = "a"\n')
    result = cli("idp", "serve", "--tenant", str(tenant), "--db", str(tmp_path / "x.db"))
    assert result.code == 2
    assert result.err == (
        "vaultborn: tenant: clients[0] needs exactly one of secret_env, secret_ref or "
        "public_key_ref\n"
    )


def test_secret_refs_are_read_from_the_vault(tmp_path: Path, home: Path) -> None:
    m2m_vault(home, secret=VAULT_SECRET).close()
    tenant, url_file = tmp_path / "tenant.toml", tmp_path / "idp.url"
    tenant.write_text(TENANT_FROM_VAULT, encoding="utf-8")
    proc = _serve("--tenant", str(tenant), "--url-file", str(url_file), "--json", env={})
    try:
        base = _wait_for(url_file, proc)
        with client(base) as http:
            token = http.post(
                "oauth/token",
                json={"grant_type": "client_credentials", "client_id": "agent",
                      "client_secret": VAULT_SECRET, "audience": "https://api.example.com"},
            )  # fmt: skip
            assert token.status_code == 200, token.text
            whoami = http.get("api/protected/whoami", headers=bearer(token.json()["access_token"]))
            assert whoami.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f'"base_url": "{base}"' in out
    assert (home / "devidp.db").exists()
    assert VAULT_SECRET.encode() not in (home / "devidp.db").read_bytes()
    assert VAULT_SECRET not in out + err
