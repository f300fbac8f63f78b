"""Official-client conformance for the lifecycle's calls (rotate, revoke, drift).

The calls the lifecycle makes through ``idp.auth0.Auth0ManagementClient``, each made here with
auth0-python against the shared dev IdP and parsed into the SDK's own models:

==========================================================  ===================================
``PATCH /users/{id}`` password, blocked (``update_user``)   ``users.update``
``DELETE /users/{id}`` (``delete_user``)                    ``users.delete``
``DELETE /users/{id}/authentication-methods/{mid}``         ``users.authentication_methods.delete``
``PATCH /clients/{id}`` client_secret (``set_client_secret``)  ``clients.update``
``DELETE /clients/{id}`` (``delete_client``)                ``clients.delete``
``GET /client-grants`` (``client_grants``)                  ``client_grants.list`` (checkpoint
                                                            paged)
``DELETE /client-grants/{id}`` (``delete_client_grant``)    ``client_grants.delete``
==========================================================  ===================================

The project's own client makes the same calls at the end, and the values it sends (a password,
a client secret) appear in no answer.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from auth0.management import (
    Auth0,
    BadRequestError,
    ClientGrantResponseContent,
    CreateUserResponseContent,
    NotFoundError,
    UpdateClientResponseContent,
    UpdateUserResponseContent,
)
from auth0.management.core.api_error import ApiError

from tests.idp.devkit import API, CONNECTION, ENV, PASSWORD, get_token, mgmt_token, post
from tests.idp.sdkkit import known, management
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.idp.errors import IdPNotFound, IdPRequestError
from vaultborn.idp.tokens import TokenSource
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category
from vaultborn.vault.secret import Secret

NEW_PASSWORD = "Rotated-" + "Xy9!" * 4


@pytest.fixture
def user(sdk: Auth0) -> CreateUserResponseContent:
    """A fresh database user."""
    email = f"life-{secrets.token_hex(4)}@example.com"
    return sdk.users.create(connection=CONNECTION, email=email, password=PASSWORD)


def test_user_password_and_blocked_by_sdk(
    sdk: Auth0, user: CreateUserResponseContent, dev_idp: RunningDevIdP
) -> None:
    assert user.user_id is not None
    changed = sdk.users.update(user.user_id, password=NEW_PASSWORD, connection=CONNECTION)
    assert isinstance(known(changed), UpdateUserResponseContent)
    assert changed.user_id == user.user_id and changed.blocked is None
    assert NEW_PASSWORD not in changed.model_dump_json()
    users = dev_idp.context.store.users
    assert users.check_password(str(user.email), Secret(NEW_PASSWORD), now=0)
    assert not users.check_password(str(user.email), Secret(PASSWORD), now=0)

    blocked = sdk.users.update(user.user_id, blocked=True)
    assert blocked.blocked is True
    assert sdk.users.get(user.user_id).blocked is True
    # A blocked user's right password no longer logs in.
    assert not users.check_password(str(user.email), Secret(NEW_PASSWORD), now=0)


def test_user_update_refusals(sdk: Auth0, user: CreateUserResponseContent) -> None:
    assert user.user_id is not None
    with pytest.raises(BadRequestError) as weak:
        sdk.users.update(user.user_id, password="short")
    assert weak.value.body["message"] == "PasswordStrengthError: Password is too weak"
    with pytest.raises(BadRequestError) as other:
        sdk.users.update(user.user_id, nickname="x")
    assert "patches only password and blocked" in other.value.body["message"]
    with pytest.raises(BadRequestError):
        sdk.users.update(user.user_id, password=NEW_PASSWORD, connection="other-connection")
    with pytest.raises(NotFoundError):
        sdk.users.update("auth0|" + "0" * 24, blocked=True)


def test_user_and_authenticator_deletion_by_sdk(
    sdk: Auth0, user: CreateUserResponseContent
) -> None:
    assert user.user_id is not None
    made = sdk.users.authentication_methods.create(
        user.user_id, type="totp", totp_secret="JBSWY3DPEHPK3PXP"
    )
    assert made.id is not None
    sdk.users.authentication_methods.delete(user.user_id, made.id)
    assert list(sdk.users.authentication_methods.list(user.user_id)) == []
    with pytest.raises(NotFoundError):
        sdk.users.authentication_methods.delete(user.user_id, made.id)
    sdk.users.delete(user.user_id)
    with pytest.raises(NotFoundError):
        sdk.users.get(user.user_id)
    sdk.users.delete(user.user_id)  # gone already: 204 again, as Auth0 answers


def _new_client(sdk: Auth0, secret: str) -> str:
    created = sdk.clients.create(
        name="life agent",
        app_type="non_interactive",
        request_options={"additional_body_parameters": {"client_secret": secret}},
    )
    assert created.client_id is not None
    sdk.client_grants.create(client_id=created.client_id, audience=API, scope=["read:whoami"])
    return created.client_id


def _token_status(idp: RunningDevIdP, client_id: str, secret: str) -> int:
    body = {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "audience": API}  # fmt: skip
    return post(idp.base_url + "oauth/token", json=body).status_code


def test_client_secret_rotation_by_sdk(sdk: Auth0, dev_idp: RunningDevIdP) -> None:
    old, new = "old-" + secrets.token_urlsafe(30), "new-" + secrets.token_urlsafe(30)
    client_id = _new_client(sdk, old)
    assert _token_status(dev_idp, client_id, old) == 200
    updated = sdk.clients.update(client_id, client_secret=new)
    assert isinstance(known(updated), UpdateClientResponseContent)
    assert updated.client_id == client_id and updated.client_secret is None
    assert new not in updated.model_dump_json()
    assert _token_status(dev_idp, client_id, new) == 200
    assert _token_status(dev_idp, client_id, old) == 401
    sdk.clients.update(client_id, client_secret=new)  # the same secret again: still the one
    assert _token_status(dev_idp, client_id, new) == 200
    with pytest.raises(BadRequestError):
        sdk.clients.update(client_id, client_secret="too-short")
    with pytest.raises(BadRequestError):
        sdk.clients.update(client_id, client_secret=new + "x", name="renamed")
    with pytest.raises(NotFoundError):
        sdk.clients.update("no-such-client", client_secret=new)


def test_client_grants_listed_and_deleted_by_sdk(sdk: Auth0, dev_idp: RunningDevIdP) -> None:
    secret = secrets.token_urlsafe(32)
    client_id = _new_client(sdk, secret)
    listed = list(sdk.client_grants.list(client_id=client_id))
    assert [type(g) for g in listed] == [ClientGrantResponseContent]
    [grant] = known(listed)
    assert (grant.client_id, grant.audience, grant.scope) == (client_id, API, ["read:whoami"])
    assert grant.id is not None
    everything = list(sdk.client_grants.list(take=1))  # one per page: the pager follows next
    assert grant.id in {g.id for g in everything} and len(everything) >= 3
    sdk.client_grants.delete(grant.id)
    assert list(sdk.client_grants.list(client_id=client_id)) == []
    assert _token_status(dev_idp, client_id, secret) == 403
    with pytest.raises(ApiError) as gone:  # the SDK has no NotFoundError for this endpoint
        sdk.client_grants.delete(grant.id)
    assert gone.value.status_code == 404
    sdk.clients.delete(client_id)
    with pytest.raises(NotFoundError):
        sdk.clients.get(client_id)
    assert _token_status(dev_idp, client_id, secret) == 401
    sdk.clients.delete(client_id)  # gone already: 204 again


def test_the_projects_client_makes_the_same_calls(
    dev_idp: RunningDevIdP, mgmt_secret: str, tmp_path: Path
) -> None:
    vault = LocalVault(tmp_path / "home")
    item = "op://ACL/mgmt/password"
    vault.create_item("ACL", _password_item("mgmt", mgmt_secret))
    with (
        TokenSource(vault, domain=dev_idp.base_url) as tokens,
        Auth0ManagementClient(dev_idp.base_url, tokens, client_id="mgmt", secret_ref=item) as api,
    ):
        email = f"own-{secrets.token_hex(4)}@example.com"
        made = api.create_user(email, Secret(PASSWORD), CONNECTION)
        changed = api.update_user(
            made["user_id"], password=Secret(NEW_PASSWORD), connection=CONNECTION
        )
        assert changed["user_id"] == made["user_id"] and NEW_PASSWORD not in str(changed)
        assert api.update_user(made["user_id"], blocked=True).get("blocked") is True
        method = api.add_totp_authentication_method(made["user_id"], Secret("JBSWY3DPEHPK3PXP"))
        api.delete_authentication_method(made["user_id"], method["id"])
        with pytest.raises(IdPNotFound):
            api.delete_authentication_method(made["user_id"], method["id"])
        api.delete_user(made["user_id"])
        assert api.users_by_email(email) == []

        secret = Secret(secrets.token_urlsafe(32))
        client_id = api.create_client("own agent", secret)["client_id"]
        api.create_client_grant(client_id, API, ["read:whoami"])
        rotated = Secret(secrets.token_urlsafe(32))
        assert "client_secret" not in api.set_client_secret(client_id, rotated)
        assert _token_status(dev_idp, client_id, rotated.reveal()) == 200
        [grant] = api.client_grants(client_id)
        api.delete_client_grant(grant["id"])
        assert api.client_grants(client_id) == []
        api.delete_client(client_id)
        with pytest.raises(IdPRequestError):
            api.set_client_secret(client_id, rotated)
    vault.close()


def _password_item(title: str, value: str) -> ItemSpec:
    return ItemSpec(
        title=title,
        category=Category.PASSWORD,
        assignments=(parse_assignment(f"password={value}"),),
    )


def test_a_revocation_outlives_a_restart_of_the_tenant(tmp_path: Path) -> None:
    """Grants deleted and a client deleted through the API stay so when the same tenant restarts;
    a changed declaration in the tenant is applied again."""
    db = tmp_path / "devidp.db"
    agent = ENV["AGENT_SECRET"]
    with start_dev_idp(demo_tenant(), db=db, env=ENV) as idp:
        token = mgmt_token(idp)
        with httpx.Client(timeout=10) as client:
            api = management(idp.base_url, token, client)
            [grant] = list(api.client_grants.list(client_id="agent"))
            assert grant.id is not None
            api.client_grants.delete(grant.id)
        assert _token_status(idp, "agent", agent) == 403
    with start_dev_idp(demo_tenant(), db=db, env=ENV) as idp:
        assert _token_status(idp, "agent", agent) == 403  # still revoked
        with httpx.Client(timeout=10) as client:
            management(idp.base_url, mgmt_token(idp), client).clients.delete("agent")
    with start_dev_idp(demo_tenant(), db=db, env=ENV) as idp:
        assert idp.context.store.clients.get("agent") is None  # not brought back
        assert get_token(idp, "mgmt", ENV["MGMT_SECRET"], idp.management_audience)
