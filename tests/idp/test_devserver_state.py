"""The dev IdP's state: restarts, several servers on one file, key rotation, no plaintext."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import jwt

from tests.conftest import Run
from tests.idp.devkit import (
    AGENT_SECRET,
    ENV,
    MGMT_SECRET,
    PASSWORD,
    Clock,
    agent_token,
    bearer,
    client,
    create_user,
    db_bytes,
    get,
    mgmt_token,
    post,
)
from vaultborn.idp.devserver.server import start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant


def _kids(base_url: str) -> list[str]:
    return [k["kid"] for k in get(base_url + ".well-known/jwks.json").json()["keys"]]


def test_a_restart_keeps_users_keys_and_tokens(tmp_path: Path) -> None:
    db = tmp_path / "idp.db"
    with start_dev_idp(demo_tenant(), db=db, env=ENV) as first:
        port, kids = first.port, _kids(first.base_url)
        token = agent_token(first)
        with client(first.base_url) as http:
            user = create_user(http, mgmt_token(first), "persist@example.com")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with start_dev_idp(demo_tenant(), db=db, env=ENV, port=port) as second:
        assert second.base_url == f"http://127.0.0.1:{port}/"
        assert _kids(second.base_url) == kids
        with client(second.base_url) as http:
            got = http.get(f"api/v2/users/{user['user_id']}", headers=bearer(mgmt_token(second)))
            assert got.status_code == 200 and got.json()["email"] == "persist@example.com"
            # Issued before the restart, still accepted after it: the keys persisted.
            whoami = http.get("api/protected/whoami", headers=bearer(token))
            assert whoami.status_code == 200, whoami.text


def test_a_restart_with_a_new_secret_replaces_the_old_one(tmp_path: Path) -> None:
    db = tmp_path / "idp.db"
    with start_dev_idp(demo_tenant(), db=db, env=ENV):
        pass
    rotated = {**ENV, "AGENT_SECRET": "a-brand-new-agent-secret-0123456789abcdef"}
    with start_dev_idp(demo_tenant(), db=db, env=rotated) as idp:
        old = post(
            idp.base_url + "oauth/token",
            json={"grant_type": "client_credentials", "client_id": "agent",
                  "client_secret": AGENT_SECRET, "audience": "https://api.example.com"},
        )  # fmt: skip
        assert old.status_code == 401
        assert agent_token(idp, rotated["AGENT_SECRET"])


def test_two_servers_share_one_database(tmp_path: Path) -> None:
    db = tmp_path / "idp.db"
    with (
        start_dev_idp(demo_tenant(), db=db, env=ENV) as one,
        start_dev_idp(demo_tenant(), db=db, env=ENV) as two,
        client(one.base_url) as a,
        client(two.base_url) as b,
    ):
        assert _kids(one.base_url) == _kids(two.base_url)
        user = create_user(a, mgmt_token(one), "shared@example.com")
        found = b.get(
            "api/v2/users-by-email",
            params={"email": "shared@example.com"},
            headers=bearer(mgmt_token(two)),
        )
        assert [u["user_id"] for u in found.json()] == [user["user_id"]]
        duplicate = b.post(
            "api/v2/users",
            json={"email": "shared@example.com", "password": PASSWORD,
                  "connection": "Username-Password-Authentication"},
            headers=bearer(mgmt_token(two)),
        )  # fmt: skip
        assert duplicate.status_code == 409


def test_key_rotation_keeps_the_old_key_for_the_grace_period(tmp_path: Path) -> None:
    clock = Clock()
    with start_dev_idp(demo_tenant(), db=tmp_path / "idp.db", env=ENV, clock=clock) as idp:
        [old_kid] = _kids(idp.base_url)
        old_token = agent_token(idp)
        mgmt = mgmt_token(idp)
        rotated = post(idp.base_url + "api/v2/keys/signing/rotate", headers=bearer(mgmt))
        assert rotated.status_code == 201, rotated.text
        new_kid = rotated.json()["kid"]
        assert _kids(idp.base_url) == [new_kid, old_kid]
        new_token = agent_token(idp)
        assert jwt.get_unverified_header(new_token)["kid"] == new_kid
        for token in (old_token, new_token):
            whoami = get(idp.base_url + "api/protected/whoami", headers=bearer(token))
            assert whoami.status_code == 200, whoami.text
        clock.advance(86400 + 1)
        assert _kids(idp.base_url) == [new_kid]
        assert idp.rotate_keys() not in (old_kid, new_kid)


def test_rotation_needs_the_signing_keys_scope(tmp_path: Path) -> None:
    with start_dev_idp(demo_tenant(), db=tmp_path / "idp.db", env=ENV) as idp:
        reader = mgmt_token(idp, scope="read:users")
        response = post(idp.base_url + "api/v2/keys/signing/rotate", headers=bearer(reader))
        assert response.status_code == 403
        assert response.json()["message"] == (
            "Insufficient scope, expected any of: create:signing_keys,update:signing_keys"
        )
        assert len(_kids(idp.base_url)) == 1


def test_cli_rotate_keys_reaches_a_running_server(tmp_path: Path, cli: Run) -> None:
    db = tmp_path / "idp.db"
    with start_dev_idp(demo_tenant(), db=db, env=ENV) as idp:
        before = _kids(idp.base_url)
        result = cli("idp", "rotate-keys", "--db", str(db), "--json")
        assert result.code == 0, result.err
        assert _kids(idp.base_url)[1:] == before
        token = agent_token(idp)
        assert jwt.get_unverified_header(token)["kid"] == _kids(idp.base_url)[0]
    assert cli("idp", "rotate-keys", "--db", str(tmp_path / "none.db")).code == 1


def test_no_secret_or_password_in_plaintext_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "idp.db"
    client_secret = "api-created-client-secret-Zr8Qm3Kx6Vb1Tn4W"
    with (
        start_dev_idp(demo_tenant(), db=db, env=ENV) as idp,
        client(idp.base_url) as http,
    ):
        mgmt = mgmt_token(idp)
        create_user(http, mgmt, "plain@example.com", password=PASSWORD)
        created = http.post(
            "api/v2/clients",
            json={"name": "c", "app_type": "non_interactive", "client_secret": client_secret},
            headers=bearer(mgmt),
        )
        assert created.status_code == 201
        written = db_bytes(db)
    written += db_bytes(db)
    assert b"plain@example.com" in written  # the scan does see what SQLite wrote
    for value in (MGMT_SECRET, AGENT_SECRET, PASSWORD, client_secret):
        assert value.encode() not in written, value[:4]


def test_a_client_removed_from_the_tenant_loses_access(tmp_path: Path) -> None:
    db = tmp_path / "idp.db"
    kept_secret = "api-client-secret-kept-across-restarts-42"
    with start_dev_idp(demo_tenant(), db=db, env=ENV) as idp, client(idp.base_url) as http:
        created = http.post(
            "api/v2/clients",
            json={"name": "api client", "client_secret": kept_secret},
            headers=bearer(mgmt_token(idp)),
        )
        assert created.status_code == 201
        api_client = created.json()["client_id"]
    only_mgmt = demo_tenant()
    only_mgmt = replace(only_mgmt, clients=only_mgmt.clients[:1])
    with start_dev_idp(only_mgmt, db=db, env=ENV) as idp, client(idp.base_url) as http:
        answer = http.post(
            "oauth/token",
            json={"grant_type": "client_credentials", "client_id": "agent",
                  "client_secret": AGENT_SECRET, "audience": "https://api.example.com"},
        )  # fmt: skip
        assert answer.status_code == 401
        fetched = http.get(f"api/v2/clients/{api_client}", headers=bearer(mgmt_token(idp)))
        assert fetched.status_code == 200
