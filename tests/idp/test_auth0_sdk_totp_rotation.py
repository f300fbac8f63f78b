"""Official-client conformance for a TOTP rotation's calls, and the dev IdP's side of them.

==================================================================  ==============================
``POST /guardian/enrollments/ticket`` ``allow_multiple_enrollments``  ``guardian.enrollments
(``create_enrollment_ticket(allow_multiple=True)``)                   .create_ticket``
``GET /users/{id}/authentication-methods`` (``authentication_methods``)  ``users.authentication_
                                                                      methods.list``
``DELETE /users/{id}/authentication-methods/{mid}``                   ``users.authentication_
(``delete_authentication_method``)                                    methods.delete``
==================================================================  ==============================

The enrollment page's part (the ticket's seed shown, confirmed with a first code) is done here
through the dev IdP's store: the browser tests drive the page itself. Login takes a code of any
confirmed TOTP authenticator, once.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from pathlib import Path

import httpx
import pytest
from auth0.management import Auth0, BadRequestError, CreateUserResponseContent

from tests.idp.devkit import CONNECTION, ENV, PASSWORD, mgmt_token
from tests.idp.sdkkit import known, management
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.devserver.mfa import PERIOD
from vaultborn.idp.devserver.records import AuthenticatorRecord
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.idp.devserver.tenant_file import parse_tenant
from vaultborn.idp.errors import IdPConflict
from vaultborn.idp.tokens import TokenSource
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category
from vaultborn.vault.otp import OtpParameters
from vaultborn.vault.secret import Secret

FIRST_SEED = "JBSWY3DPEHPK3PXP"


@pytest.fixture
def user(sdk: Auth0) -> CreateUserResponseContent:
    """A fresh database user with one confirmed TOTP authenticator (``FIRST_SEED``)."""
    email = f"totp-{secrets.token_hex(4)}@example.com"
    made = sdk.users.create(connection=CONNECTION, email=email, password=PASSWORD)
    assert made.user_id is not None
    sdk.users.authentication_methods.create(made.user_id, type="totp", totp_secret=FIRST_SEED)
    return made


def _code(seed: Secret | str, at: float) -> Secret:
    return OtpParameters(seed=seed if isinstance(seed, Secret) else Secret(seed)).code(at)


def _enroll_on(idp: RunningDevIdP, ticket_id: str, now: float) -> AuthenticatorRecord:
    """What the ticket's page does: show its seed, then take a first code from it."""
    mfa = idp.context.store.mfa
    pending = mfa.ticket_totp(ticket_id, now=now)
    assert pending is not None and not pending.confirmed
    assert mfa.confirm_ticket_totp(ticket_id, _code(pending.seed, now), now=now) is not None
    return pending


def _totp_ids(sdk: Auth0, user_id: str) -> list[str]:
    listed = known(list(sdk.users.authentication_methods.list(user_id)))
    assert all(m.type == "totp" and m.confirmed for m in listed)
    return [str(m.id) for m in listed]


def test_a_second_totp_by_sdk_logs_in_then_the_old_is_removed(
    sdk: Auth0, user: CreateUserResponseContent, dev_idp: RunningDevIdP
) -> None:
    assert user.user_id is not None
    mfa, now = dev_idp.context.store.mfa, time.time()
    (first,) = _totp_ids(sdk, user.user_id)
    single = sdk.guardian.enrollments.create_ticket(user_id=user.user_id)
    assert single.ticket_id is not None
    with pytest.raises(IdPConflict):  # without the flag, an enrolled user enrolls nothing more
        mfa.ticket_totp(single.ticket_id, now=now)

    multiple = sdk.guardian.enrollments.create_ticket(
        user_id=user.user_id, allow_multiple_enrollments=True
    )
    assert multiple.ticket_id is not None
    second = _enroll_on(dev_idp, multiple.ticket_id, now)

    assert sorted(_totp_ids(sdk, user.user_id)) == sorted([first, second.id])
    # A login takes a code of either; a code used once (the enrollment's) is refused.
    assert mfa.verify_code(user.user_id, _code(second.seed, now), now=now) is None
    later = now + PERIOD
    taken = mfa.verify_code(user.user_id, _code(second.seed, later), now=later)
    assert taken is not None and taken.id == second.id
    old = mfa.verify_code(user.user_id, _code(FIRST_SEED, now), now=now)
    assert old is not None and old.id == first
    assert mfa.verify_code(user.user_id, _code(FIRST_SEED, now), now=now) is None

    sdk.users.authentication_methods.delete(user.user_id, first)
    assert _totp_ids(sdk, user.user_id) == [second.id]
    assert mfa.verify_code(user.user_id, _code(FIRST_SEED, later), now=later) is None


def test_the_projects_client_enrolls_a_second_and_removes_the_first(
    dev_idp: RunningDevIdP, mgmt_secret: str, tmp_path: Path, user: CreateUserResponseContent
) -> None:
    assert user.user_id is not None
    vault = LocalVault(tmp_path / "home")
    vault.create_item(
        "ACL",
        ItemSpec(title="mgmt", category=Category.PASSWORD,
                 assignments=(parse_assignment(f"password={mgmt_secret}"),)),
    )  # fmt: skip
    now = time.time()
    with (
        TokenSource(vault, domain=dev_idp.base_url) as tokens,
        Auth0ManagementClient(
            dev_idp.base_url, tokens, client_id="mgmt", secret_ref="op://ACL/mgmt/password"
        ) as api,
    ):
        (first,) = [m["id"] for m in api.authentication_methods(user.user_id)]
        single = api.create_enrollment_ticket(user.user_id)
        with pytest.raises(IdPConflict):
            dev_idp.context.store.mfa.ticket_totp(single["ticket_id"], now=now)

        ticket = api.create_enrollment_ticket(user.user_id, allow_multiple=True)
        second = _enroll_on(dev_idp, ticket["ticket_id"], now)
        methods = api.authentication_methods(user.user_id)
        assert {m["id"] for m in methods if m["confirmed"]} == {first, second.id}
        assert second.seed.reveal() not in str(methods)  # the API never lists a seed

        api.delete_authentication_method(user.user_id, first)
        assert [m["id"] for m in api.authentication_methods(user.user_id)] == [second.id]
    vault.close()


def test_a_tenant_without_multiple_enrollments_refuses_the_flag(tmp_path: Path) -> None:
    tenant = dataclasses.replace(demo_tenant(), multiple_enrollments=False)
    with (
        start_dev_idp(tenant, db=tmp_path / "devidp.db", env=ENV) as idp,
        httpx.Client(timeout=10) as client,
    ):
        sdk = management(idp.base_url, mgmt_token(idp), client)
        made = sdk.users.create(connection=CONNECTION, email="one@example.com", password=PASSWORD)
        assert made.user_id is not None
        with pytest.raises(BadRequestError) as refused:
            sdk.guardian.enrollments.create_ticket(
                user_id=made.user_id, allow_multiple_enrollments=True
            )
        assert "allow_multiple_enrollments" in refused.value.body["message"]
        assert idp.context.store.mfa.authenticators(made.user_id) == []
        plain = sdk.guardian.enrollments.create_ticket(user_id=made.user_id)
        assert plain.ticket_id is not None  # a first enrollment's ticket is as before


def test_a_tenant_file_says_whether_tickets_may_enroll_a_second() -> None:
    base = 'protected_audience = "https://api.example.com"\n'
    assert parse_tenant(base).multiple_enrollments is True
    assert parse_tenant(base + "multiple_enrollments = false\n").multiple_enrollments is False
