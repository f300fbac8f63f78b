"""Official-client conformance: every Management API call the project makes, through auth0-python.

The official SDK (a test dependency only, generated from Auth0's API definition) talks to the
shared dev IdP over plain HTTP, and every answer must parse into the SDK's own models with the
right values and no member the model does not know. The calls (with the method of
``idp.auth0.Auth0ManagementClient`` where the project makes them; the others are made by the
tests over raw HTTP) and the SDK's method for each:

====================================================  =============================================
``POST /users`` (``create_user``)                     ``users.create``
``GET /users-by-email`` (``users_by_email``)          ``users.list_users_by_email``
``GET /users/{id}`` (``get_user``)                    ``users.get``
``POST /guardian/enrollments/ticket``                 ``guardian.enrollments.create_ticket``
``GET /users/{id}/enrollments`` (``enrollments``)     ``users.enrollments.get``
``GET /users/{id}/authentication-methods``            ``users.authentication_methods.list`` (paged)
``POST /users/{id}/authentication-methods``           ``users.authentication_methods.create``
``DELETE /users/{id}/authentication-methods/{mid}``   ``users.authentication_methods.delete``
``POST /clients`` (``create_client``)                 ``clients.create``
``GET /clients/{id}``                                 ``clients.get``
``POST /client-grants`` (``create_client_grant``)     ``client_grants.create``
``POST /keys/signing/rotate``                         ``keys.signing.rotate``
====================================================  =============================================

Users and MFA here; clients, grants and keys in ``test_auth0_sdk_clients``; helpers in
``tests.idp.sdkkit``.
"""

from __future__ import annotations

import secrets
import time

import httpx
import pydantic
import pytest
from auth0.management import (
    Auth0,
    BadRequestError,
    ConflictError,
    CreateGuardianEnrollmentTicketResponseContent,
    CreateUserAuthenticationMethodResponseContent,
    CreateUserResponseContent,
    ForbiddenError,
    GetUserResponseContent,
    ListUserAuthenticationMethodsOffsetPaginatedResponseContent,
    NotFoundError,
    UnauthorizedError,
    UserAuthenticationMethod,
    UserResponseSchema,
    UsersEnrollment,
)
from auth0.management.types import (
    authentication_method_type_enum,
    user_enrollment_auth_method_enum,
    user_enrollment_status_enum,
    user_identity_provider_enum,
)

from tests.idp.devkit import CONNECTION, PASSWORD, bearer, mgmt_token
from tests.idp.sdkkit import known, literals, management, recent
from vaultborn.idp.devserver.server import RunningDevIdP
from vaultborn.vault.secret import Secret

SEEDS = ("JBSWY3DPEHPK3PXP", "GEZDGNBVGY3TQOJQ", "MFRGGZDFMZTWQ2LK")
TOTP = literals(authentication_method_type_enum.AuthenticationMethodTypeEnum)
PROVIDERS = literals(user_identity_provider_enum.UserIdentityProviderEnum)
ENROLLMENT_STATUS = literals(user_enrollment_status_enum.UserEnrollmentStatusEnum)
ENROLLMENT_METHODS = literals(user_enrollment_auth_method_enum.UserEnrollmentAuthMethodEnum)


@pytest.fixture
def user(sdk: Auth0) -> CreateUserResponseContent:
    """A fresh database user, created through the SDK."""
    email = f"sdk-{secrets.token_hex(4)}@example.com"
    return sdk.users.create(connection=CONNECTION, email=email, password=PASSWORD)


def test_users_create_get_and_by_email(sdk: Auth0, user: CreateUserResponseContent) -> None:
    assert isinstance(known(user), CreateUserResponseContent)
    assert user.user_id is not None and user.user_id.startswith("auth0|")
    assert user.email is not None and user.email.startswith("sdk-")
    assert user.email_verified is False and user.blocked is None
    assert recent(user.created_at) and user.updated_at == user.created_at
    [identity] = user.identities or []
    assert identity.connection == CONNECTION and identity.provider in PROVIDERS
    assert identity.provider == "auth0" and identity.is_social is False
    assert identity.user_id == user.user_id.removeprefix("auth0|")
    assert PASSWORD not in user.model_dump_json()

    found = sdk.users.list_users_by_email(email=user.email)
    assert [type(u) for u in found] == [UserResponseSchema]
    assert [(u.user_id, u.email) for u in known(found)] == [(user.user_id, user.email)]
    assert sdk.users.list_users_by_email(email="nobody-" + user.email) == []

    got = sdk.users.get(user.user_id)
    assert isinstance(known(got), GetUserResponseContent)
    assert (got.user_id, got.email, got.created_at) == (user.user_id, user.email, user.created_at)
    assert got.multifactor is None


def test_user_errors_are_the_sdks_own(sdk: Auth0, user: CreateUserResponseContent) -> None:
    with pytest.raises(NotFoundError) as missing:
        sdk.users.get("auth0|" + "0" * 24)
    assert missing.value.status_code == 404
    assert missing.value.body["message"] == "The user does not exist."
    with pytest.raises(ConflictError) as conflict:
        sdk.users.create(connection=CONNECTION, email=user.email, password=PASSWORD)
    assert conflict.value.status_code == 409
    assert conflict.value.body["message"] == "The user already exists."
    assert PASSWORD not in str(conflict.value)
    with pytest.raises(BadRequestError) as weak:
        sdk.users.create(connection=CONNECTION, email="w-" + str(user.email), password="short")
    assert weak.value.status_code == 400
    assert weak.value.body["message"] == "PasswordStrengthError: Password is too weak"


def test_token_errors_are_the_sdks_own(sdk: Auth0, dev_idp: RunningDevIdP) -> None:
    with httpx.Client(timeout=10) as client:
        forged = management(dev_idp.base_url, "not-a-token", client)
        with pytest.raises(UnauthorizedError) as refused:
            forged.users.list_users_by_email(email="a@example.com")
        assert refused.value.status_code == 401 and refused.value.body["message"] == "Invalid token"
        narrow = management(dev_idp.base_url, mgmt_token(dev_idp, scope="read:users"), client)
        with pytest.raises(ForbiddenError) as forbidden:
            narrow.users.create(connection=CONNECTION, email="x@example.com", password=PASSWORD)
    assert forbidden.value.status_code == 403
    assert forbidden.value.body["message"] == "Insufficient scope, expected any of: create:users"


def test_enrollment_ticket_and_enrollments(
    sdk: Auth0, dev_idp: RunningDevIdP, user: CreateUserResponseContent
) -> None:
    assert user.user_id is not None
    ticket = sdk.guardian.enrollments.create_ticket(user_id=user.user_id, send_mail=False)
    assert isinstance(known(ticket), CreateGuardianEnrollmentTicketResponseContent)
    assert ticket.ticket_id and ticket.ticket_url == (
        f"{dev_idp.base_url}guardian/enroll?ticket={ticket.ticket_id}"
    )
    assert sdk.users.enrollments.get(user.user_id) == []

    method = sdk.users.authentication_methods.create(
        user.user_id, type="totp", totp_secret=SEEDS[0], name="phone"
    )
    [enrollment] = known(sdk.users.enrollments.get(user.user_id))
    assert isinstance(enrollment, UsersEnrollment)
    assert enrollment.id == method.id and enrollment.name == "phone"
    assert enrollment.status == "confirmed" and enrollment.status in ENROLLMENT_STATUS
    assert (
        enrollment.auth_method == "authenticator" and enrollment.auth_method in ENROLLMENT_METHODS
    )
    assert recent(enrollment.enrolled_at)
    assert sdk.users.get(user.user_id).multifactor == ["guardian"]
    with pytest.raises(NotFoundError):
        sdk.users.enrollments.get("auth0|" + "0" * 24)


def _methods(sdk: Auth0, dev_idp: RunningDevIdP, user: CreateUserResponseContent) -> list[str]:
    """Three TOTP methods, oldest first: one through the SDK, two pending enrollments."""
    assert user.user_id is not None
    made = sdk.users.authentication_methods.create(
        user.user_id, type="totp", totp_secret=SEEDS[0], name="totp-0"
    )
    assert isinstance(known(made), CreateUserAuthenticationMethodResponseContent)
    assert made.type == "totp" and made.name == "totp-0" and made.id
    assert made.totp_secret is None and SEEDS[0] not in made.model_dump_json()
    assert recent(made.created_at)
    ids = [made.id]
    # One confirmed TOTP per user, as in Auth0: the others are enrollments begun, not finished.
    for i, seed in enumerate(SEEDS[1:], start=1):
        pending = dev_idp.context.store.mfa.add_totp(
            user.user_id, Secret(seed), now=time.time(), confirmed=False, name=f"totp-{i}"
        )
        ids.append(pending.id)
    return ids


def test_authentication_methods_list_in_the_paging_envelope(
    sdk: Auth0, dev_idp: RunningDevIdP, user: CreateUserResponseContent
) -> None:
    assert user.user_id is not None
    ids = _methods(sdk, dev_idp, user)
    pager = sdk.users.authentication_methods.list(user.user_id)  # include_totals=true, per_page=50
    envelope = known(pager.response)
    assert isinstance(envelope, ListUserAuthenticationMethodsOffsetPaginatedResponseContent)
    assert (envelope.start, envelope.limit, envelope.total) == (0, 50, 3)
    methods = list(pager)
    assert all(isinstance(m, UserAuthenticationMethod) for m in methods)
    assert [(m.id, m.name, m.type, m.confirmed) for m in methods] == [
        (mid, f"totp-{i}", "totp", i == 0) for i, mid in enumerate(ids)
    ]
    assert all(m.type in TOTP and recent(m.created_at) for m in methods)

    pages = list(sdk.users.authentication_methods.list(user.user_id, per_page=2).iter_pages())
    assert [(p.response.start, p.response.limit, p.response.total) for p in pages] == [
        (0, 2, 3),
        (2, 2, 3),
    ]
    assert [m.id for p in pages for m in p.items or []] == ids
    beyond = sdk.users.authentication_methods.list(user.user_id, page=5, per_page=2)
    assert beyond.items == [] and beyond.response.total == 3 and beyond.response.start == 10
    assert [m.id for m in sdk.users.authentication_methods.list(user.user_id, page=1, per_page=1)
            .items or []] == [ids[1]]  # fmt: skip


def test_authentication_methods_without_totals_are_a_bare_list(
    http: httpx.Client,
    mgmt: str,
    sdk: Auth0,
    dev_idp: RunningDevIdP,
    user: CreateUserResponseContent,
) -> None:
    ids = _methods(sdk, dev_idp, user)
    path = f"api/v2/users/{user.user_id}/authentication-methods"
    for params, expected in [
        ({}, ids),
        ({"include_totals": "false"}, ids),
        ({"page": "0", "per_page": "2"}, ids[:2]),
        ({"page": "1", "per_page": "2"}, ids[2:]),
        ({"page": "9"}, []),
    ]:
        answer = http.get(path, params=params, headers=bearer(mgmt))
        assert answer.status_code == 200, answer.text
        assert isinstance(answer.json(), list)
        assert [m["id"] for m in answer.json()] == expected, params
        parsed = pydantic.TypeAdapter(list[UserAuthenticationMethod]).validate_python(answer.json())
        assert [m.id for m in known(parsed)] == expected


@pytest.mark.robustness("hostile input: Management API query strings")
@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 101}, "per_page"),
        ({"page": -1}, "page"),
    ],
)
def test_bad_paging_is_the_sdks_bad_request(
    sdk: Auth0, user: CreateUserResponseContent, params: dict[str, int], key: str
) -> None:
    assert user.user_id is not None
    with pytest.raises(BadRequestError) as caught:
        sdk.users.authentication_methods.list(user.user_id, **params)
    assert caught.value.status_code == 400
    assert caught.value.body["errorCode"] == "invalid_query_string"
    assert caught.value.body["message"].startswith("Query validation error: ")
    assert caught.value.body["message"].endswith(f" on property {key}.")


@pytest.mark.robustness("hostile input: Management API query strings")
@pytest.mark.parametrize(
    "params", [{"per_page": "ten"}, {"page": "1.5"}, {"include_totals": "yes"}, {"page": "١"}]
)
def test_bad_paging_values_are_400(
    http: httpx.Client, mgmt: str, user: CreateUserResponseContent, params: dict[str, str]
) -> None:
    answer = http.get(
        f"api/v2/users/{user.user_id}/authentication-methods", params=params, headers=bearer(mgmt)
    )
    assert answer.status_code == 400 and answer.json()["errorCode"] == "invalid_query_string"


def test_authentication_methods_delete(
    sdk: Auth0, dev_idp: RunningDevIdP, user: CreateUserResponseContent
) -> None:
    assert user.user_id is not None
    ids = _methods(sdk, dev_idp, user)
    assert sdk.users.authentication_methods.delete(user.user_id, ids[1]) is None
    assert [m.id for m in sdk.users.authentication_methods.list(user.user_id)] == [ids[0], ids[2]]
    with pytest.raises(NotFoundError) as caught:
        sdk.users.authentication_methods.delete(user.user_id, ids[1])
    assert caught.value.status_code == 404
    with pytest.raises(NotFoundError):
        sdk.users.authentication_methods.list("auth0|" + "0" * 24)
