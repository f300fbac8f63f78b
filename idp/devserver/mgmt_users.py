"""Management API v2: users, Guardian enrollment tickets, enrollments, authentication methods.

- ``POST /api/v2/users`` (create:users) → 201 user; 409 "The user already exists."; 400 on a
  weak password ("PasswordStrengthError: Password is too weak") or an unknown connection
- ``GET /api/v2/users-by-email?email=`` (read:users) → exact, case-sensitive match, an array
- ``GET /api/v2/users/{id}`` (read:users) → the user, or 404 "The user does not exist."
- ``PATCH /api/v2/users/{id}`` (update:users) with ``password`` (and ``connection``, which must
  be the user's) and/or ``blocked``: the user after the change. A new password is held to the
  same policy as at creation; other properties are refused with 400 rather than ignored
- ``DELETE /api/v2/users/{id}`` (delete:users) → 204, also when there is no such user (as
  Auth0 answers); the user's authenticators and tickets go with it
- ``POST /api/v2/guardian/enrollments/ticket`` (create:guardian_enrollment_tickets) →
  ``{ticket_id, ticket_url}``, the URL being ``<base URL>guardian/enroll?ticket=<id>``; with
  ``allow_multiple_enrollments: true`` an enrolled user may enroll a second TOTP through it
  (400 on a tenant configured without ``multiple_enrollments``), without it 409 on the page
- ``GET /api/v2/users/{id}/enrollments`` (read:users) → confirmed TOTP authenticators
- ``GET|POST /api/v2/users/{id}/authentication-methods`` (read: / create:authentication_methods)
  and ``DELETE …/authentication-methods/{method_id}`` (delete:authentication_methods); the list
  is paged (``page``, ``per_page`` default 50, ``include_totals`` → ``{start, limit, total,
  authenticators}``)
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.management import (
    ApiCall,
    api_route,
    bad_request,
    optional,
    paged,
    required,
)
from vaultborn.idp.devserver.records import UserRecord
from vaultborn.idp.devserver.users import password_is_fair
from vaultborn.idp.errors import IdPNotFound
from vaultborn.vault.errors import InvalidOtpUri
from vaultborn.vault.otp import normalize_base32
from vaultborn.vault.secret import Secret

__all__ = ["user_routes"]

_PROFILE_KEYS = ("name", "nickname", "given_name", "family_name", "picture")
_METADATA_KEYS = ("user_metadata", "app_metadata")


def _plausible_email(email: str) -> bool:
    """An ``@`` inside, and no space, control, format (bidi, zero-width) or unassigned character.

    Auth0 refuses those: an address that shows as another on a screen (U+202E turns
    ``moc.elpmaxe@`` around) or that hides a NUL must not become an account.
    """
    return "@" in email[1:-1] and not any(
        c.isspace() or unicodedata.category(c).startswith("C") for c in email
    )


def _user(ctx: DevIdPContext, user_id: str) -> UserRecord:
    user = ctx.store.users.get(user_id)
    if user is None:
        raise IdPNotFound("The user does not exist.", status=404, error="inexistent_user")
    return user


def create_user(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``POST /api/v2/users``."""
    body = call.body
    connection = required(body, "connection")
    email = required(body, "email")
    password = Secret(required(body, "password"), label="user password")
    if connection not in ctx.tenant.connections:
        raise bad_request("The connection does not exist.", "inexistent_connection")
    if not _plausible_email(email.strip()):
        raise bad_request(
            "Payload validation error: 'Object didn't pass validation for format "
            "email' on property email."
        )
    if not password_is_fair(password):
        raise bad_request("PasswordStrengthError: Password is too weak", "invalid_password")
    profile = {k: optional(body, k, str) for k in _PROFILE_KEYS if optional(body, k, str)}
    profile.update({k: optional(body, k, dict) for k in _METADATA_KEYS if optional(body, k, dict)})
    user = ctx.store.users.create(
        email=email,
        connection=connection,
        password=password,
        now=ctx.clock(),
        email_verified=optional(body, "email_verified", bool, False),
        blocked=optional(body, "blocked", bool, False),
        profile=profile,
    )
    return JSONResponse(user.as_auth0(), status_code=201)


def users_by_email(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``GET /api/v2/users-by-email?email=``."""
    email = call.query.get("email")
    if not email:
        raise bad_request(
            "Query validation error: 'Missing required property: email'.", "invalid_query_string"
        )
    return JSONResponse([u.as_auth0() for u in ctx.store.users.by_email(email)])


def get_user(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``GET /api/v2/users/{id}``."""
    return JSONResponse(_user(ctx, call.path["user_id"]).as_auth0())


_PATCHABLE = ("password", "connection", "blocked")


def update_user(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``PATCH /api/v2/users/{id}``."""
    user = _user(ctx, call.path["user_id"])
    other = sorted(set(call.body) - set(_PATCHABLE))
    if other:
        raise bad_request(f"The dev IdP patches only password and blocked, not {other[0][:32]!r}.")
    connection = optional(call.body, "connection", str)
    if connection is not None and connection != user.connection:
        raise bad_request("The user does not belong to that connection.", "invalid_body")
    raw = optional(call.body, "password", str)
    password = Secret(raw, label="user password") if raw else None
    del raw
    if password is not None and not password_is_fair(password):
        raise bad_request("PasswordStrengthError: Password is too weak", "invalid_password")
    blocked = optional(call.body, "blocked", bool)
    if password is None and blocked is None:
        raise bad_request("Payload validation error: 'Too few properties defined (0), minimum 1'.")
    ctx.store.users.update(user.user_id, now=ctx.clock(), password=password, blocked=blocked)
    return JSONResponse(_user(ctx, user.user_id).as_auth0())


def delete_user(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``DELETE /api/v2/users/{id}``."""
    ctx.store.users.delete(call.path["user_id"])
    return Response(status_code=204)


def create_ticket(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``POST /api/v2/guardian/enrollments/ticket``."""
    user_id = required(call.body, "user_id")
    factor = optional(call.body, "factor", str)
    if factor not in (None, "otp"):
        raise bad_request(f"The dev IdP enrolls only the otp factor, not {factor[:32]!r}.")
    allow_multiple = optional(call.body, "allow_multiple_enrollments", bool, False)
    if allow_multiple and not ctx.tenant.multiple_enrollments:
        raise bad_request(
            "allow_multiple_enrollments is not available on this tenant: its users keep one "
            "MFA enrollment each."
        )
    ticket_id = ctx.store.mfa.create_ticket(
        user_id, now=ctx.clock(), lifetime=ctx.tenant.ticket_lifetime, allow_multiple=allow_multiple
    )
    url = ctx.url(f"guardian/enroll?ticket={quote(ticket_id, safe='')}")
    return JSONResponse({"ticket_id": ticket_id, "ticket_url": url})


def enrollments(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``GET /api/v2/users/{id}/enrollments``."""
    user = _user(ctx, call.path["user_id"])
    found = ctx.store.mfa.authenticators(user.user_id)
    return JSONResponse([a.as_enrollment() for a in found if a.confirmed])


def list_methods(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``GET /api/v2/users/{id}/authentication-methods``."""
    user = _user(ctx, call.path["user_id"])
    methods = [a.as_method() for a in ctx.store.mfa.authenticators(user.user_id)]
    return paged(call.query, methods, "authenticators")


def add_method(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``POST /api/v2/users/{id}/authentication-methods`` with ``type: totp``."""
    user = _user(ctx, call.path["user_id"])
    kind = required(call.body, "type")
    if kind != "totp":
        raise bad_request("The dev IdP supports only authentication methods of type totp.")
    try:
        seed = normalize_base32(Secret(required(call.body, "totp_secret"), label="TOTP seed"))
    except InvalidOtpUri as exc:
        raise bad_request(f"Payload validation error: totp_secret: {exc}") from None
    method = ctx.store.mfa.add_totp(
        user.user_id,
        seed,
        now=ctx.clock(),
        confirmed=True,
        name=optional(call.body, "name", str, ""),
    )
    return JSONResponse(method.as_created(), status_code=201)


def delete_method(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``DELETE /api/v2/users/{id}/authentication-methods/{method_id}``."""
    user = _user(ctx, call.path["user_id"])
    if not ctx.store.mfa.delete_authenticator(
        user.user_id, call.path["method_id"], now=ctx.clock()
    ):
        raise IdPNotFound(
            "The authentication method does not exist.",
            status=404,
            error="inexistent_authentication_method",
        )
    return Response(status_code=204)


def user_routes(ctx: DevIdPContext) -> list[Route]:
    """The user-related Management API routes."""
    methods = "/users/{user_id}/authentication-methods"
    return [
        api_route(ctx, "/users", "POST", create_user, scopes=["create:users"], body=True),
        api_route(ctx, "/users-by-email", "GET", users_by_email, scopes=["read:users"]),
        api_route(ctx, "/users/{user_id}", "GET", get_user, scopes=["read:users"]),
        api_route(
            ctx, "/users/{user_id}", "PATCH", update_user, scopes=["update:users"], body=True
        ),
        api_route(ctx, "/users/{user_id}", "DELETE", delete_user, scopes=["delete:users"]),
        api_route(
            ctx,
            "/guardian/enrollments/ticket",
            "POST",
            create_ticket,
            scopes=["create:guardian_enrollment_tickets"],
            body=True,
        ),
        api_route(ctx, "/users/{user_id}/enrollments", "GET", enrollments, scopes=["read:users"]),
        api_route(ctx, methods, "GET", list_methods, scopes=["read:authentication_methods"]),
        api_route(
            ctx, methods, "POST", add_method, scopes=["create:authentication_methods"], body=True
        ),
        api_route(
            ctx,
            methods + "/{method_id}",
            "DELETE",
            delete_method,
            scopes=["delete:authentication_methods"],
        ),
    ]
