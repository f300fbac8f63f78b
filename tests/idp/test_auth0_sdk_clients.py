"""Official-client conformance, continued: clients, client grants and signing keys.

The table of calls and SDK methods is in ``test_auth0_sdk``.
"""

from __future__ import annotations

import ast
import secrets
from pathlib import Path

import httpx
import jwt
import pytest
from auth0.management import (
    Auth0,
    ConflictError,
    CreateClientGrantResponseContent,
    CreateClientResponseContent,
    GetClientResponseContent,
    NotFoundError,
    RotateSigningKeysResponseContent,
)
from auth0.management.types import client_app_type_enum, client_token_endpoint_auth_method_enum
from cryptography import x509

from tests.idp.devkit import API, ENV, mgmt_token, post
from tests.idp.sdkkit import known, literals, management
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("vaultborn", "graphs", "nodes", "approvals", "browser", "vault", "idp", "stores")
APP_TYPES = literals(client_app_type_enum.ClientAppTypeEnum)
AUTH_METHODS = literals(client_token_endpoint_auth_method_enum.ClientTokenEndpointAuthMethodEnum)


def test_clients_and_grants(sdk: Auth0, dev_idp: RunningDevIdP) -> None:
    born = "vault-born-" + secrets.token_urlsafe(24)
    # auth0-python 6.x has no client_secret argument on clients.create, though Auth0 accepts
    # one (it "recommends leaving it unspecified"); the project's secrets are born in the vault.
    created = sdk.clients.create(
        name="sdk agent",
        app_type="non_interactive",
        request_options={"additional_body_parameters": {"client_secret": born}},
    )
    assert isinstance(known(created), CreateClientResponseContent)
    assert created.client_id and created.name == "sdk agent"
    assert created.app_type == "non_interactive" and created.app_type in APP_TYPES
    assert created.client_secret is None and born not in created.model_dump_json()
    assert created.grant_types == ["client_credentials"] and created.is_first_party is True
    assert created.token_endpoint_auth_method in AUTH_METHODS
    assert created.jwt_configuration is not None and created.jwt_configuration.alg == "RS256"

    got = sdk.clients.get(created.client_id)
    assert isinstance(known(got), GetClientResponseContent)
    assert got.model_dump() == created.model_dump()

    grant = sdk.client_grants.create(
        client_id=created.client_id, audience=API, scope=["read:whoami"]
    )
    assert isinstance(known(grant), CreateClientGrantResponseContent)
    assert (grant.client_id, grant.audience, grant.scope) == (
        created.client_id,
        API,
        ["read:whoami"],
    )
    assert grant.id
    token = post(
        dev_idp.base_url + "oauth/token",
        json={"grant_type": "client_credentials", "client_id": created.client_id,
              "client_secret": born, "audience": API},
    )  # fmt: skip
    assert token.status_code == 200, token.text
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["azp"] == created.client_id and claims["scope"] == "read:whoami"

    with pytest.raises(NotFoundError) as missing:
        sdk.clients.get("no-such-client")
    assert missing.value.status_code == 404
    with pytest.raises(ConflictError) as conflict:
        sdk.clients.create(
            name="again",
            request_options={
                "additional_body_parameters": {
                    "client_id": created.client_id,
                    "client_secret": born,
                }
            },
        )
    assert conflict.value.status_code == 409 and born not in str(conflict.value)


def test_signing_key_rotation(tmp_path: Path) -> None:
    # A server of its own: rotating the shared one's keys is no business of this module.
    with (
        start_dev_idp(demo_tenant(), db=tmp_path / "idp.db", env=ENV) as idp,
        httpx.Client(timeout=10) as client,
    ):
        rotated = management(idp.base_url, mgmt_token(idp), client).keys.signing.rotate()
        jwks = client.get(idp.base_url + ".well-known/jwks.json").json()
    assert isinstance(known(rotated), RotateSigningKeysResponseContent)
    assert rotated.kid == jwks["keys"][0]["kid"] and len(jwks["keys"]) == 2
    cert = x509.load_pem_x509_certificate(rotated.cert.encode())
    published = jwt.PyJWK(jwks["keys"][0]).key
    assert cert.public_key().public_numbers() == published.public_numbers()
    assert cert.subject.rfc4514_string() == "CN=127.0.0.1"


def test_the_sdk_is_a_test_dependency_only() -> None:
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                assert not [n for n in names if n.split(".")[0] == "auth0"], path
