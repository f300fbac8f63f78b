"""Management API v2: M2M clients, client grants and signing-key rotation.

- ``POST /api/v2/clients`` (create:clients): ``{name, app_type: "non_interactive",
  client_secret}``. The secret must come from the caller, born in its vault: the dev IdP never
  generates one (a secret generated here would have to travel back, against the flow), so a
  request without it is refused with 400. The answer never holds the secret.
- ``GET /api/v2/clients/{id}`` (read:clients), without the secret.
- ``DELETE /api/v2/clients/{id}`` (delete:clients) → 204, its grants and keys with it; also
  204 when there is no such client.
- ``POST /api/v2/client-grants`` (create:client_grants): ``{client_id, audience, scope: […]}``.
- ``GET /api/v2/client-grants`` (read:client_grants), filtered by ``client_id`` and
  ``audience``: with ``include_totals=false`` a bare array, else Auth0's checkpoint envelope
  ``{"client_grants": [...], "next": <from of the next page>}`` paged by ``from`` and
  ``take`` (default 50, at most 100).
- ``DELETE /api/v2/client-grants/{id}`` (delete:client_grants) → 204, or 404.
- ``POST /api/v2/keys/signing/rotate`` (create:signing_keys or update:signing_keys, as in
  Auth0): a new signing key becomes current; the previous one stays in the JWKS for the
  tenant's ``key_grace_seconds``. Answers ``{"cert": <PEM>, "kid": …}`` as Auth0 does, the
  certificate self-signed for this server's host name.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.hashing import MIN_CLIENT_SECRET_CHARS
from vaultborn.idp.devserver.management import (
    MAX_PER_PAGE,
    ApiCall,
    api_route,
    bad_request,
    optional,
    required,
)
from vaultborn.idp.errors import IdPNotFound
from vaultborn.vault.secret import Secret

__all__ = ["client_routes"]

_APP_TYPES = ("non_interactive",)


def create_client(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``POST /api/v2/clients``."""
    name = required(call.body, "name")
    app_type = optional(call.body, "app_type", str, "non_interactive")
    if app_type not in _APP_TYPES:
        raise bad_request(
            "The dev IdP manages only machine-to-machine clients (app_type non_interactive)."
        )
    raw = optional(call.body, "client_secret", str)
    if not raw:
        raise bad_request(
            "client_secret is required: the dev IdP does not generate client secrets; generate "
            "one in the vault and send it"
        )
    secret = Secret(raw, label="client secret")
    del raw
    if len(secret) < MIN_CLIENT_SECRET_CHARS:
        raise bad_request(f"client_secret must have at least {MIN_CLIENT_SECRET_CHARS} characters")
    client = ctx.store.clients.create(
        name=name,
        app_type=app_type,
        secret=secret,
        now=ctx.clock(),
        client_id=optional(call.body, "client_id", str),
    )
    return JSONResponse(client.as_auth0(), status_code=201)


def get_client(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``GET /api/v2/clients/{id}``."""
    client = ctx.store.clients.get(call.path["client_id"])
    if client is None:
        raise IdPNotFound("The client does not exist", status=404, error="inexistent_client")
    return JSONResponse(client.as_auth0())


def create_grant(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``POST /api/v2/client-grants``."""
    client_id = required(call.body, "client_id")
    audience = required(call.body, "audience")
    scopes = optional(call.body, "scope", list, [])
    if not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise bad_request("Payload validation error: 'scope' must be an array of scope names.")
    grant = ctx.store.clients.create_grant(client_id, ctx.audience_key(audience), scopes)
    return JSONResponse(grant.as_auth0(ctx.audience_url(grant.audience)), status_code=201)


def delete_client(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``DELETE /api/v2/clients/{id}``."""
    ctx.store.clients.delete(call.path["client_id"])
    return Response(status_code=204)


def list_grants(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``GET /api/v2/client-grants``."""
    audience = call.query.get("audience")
    found = ctx.store.clients.grants(
        client_id=call.query.get("client_id") or None,
        audience=ctx.audience_key(audience) if audience else None,
    )
    grants = [g.as_auth0(ctx.audience_url(g.audience)) for g in found]
    if call.query.get("include_totals") == "false" and "take" not in call.query:
        return JSONResponse(grants)
    take = _take(call.query.get("take"))
    start = call.query.get("from") or ""
    ids = [g["id"] for g in grants]
    first = ids.index(start) if start in ids else (0 if not start else len(ids))
    page = grants[first : first + take]
    answer: dict[str, object] = {"client_grants": page}
    if first + take < len(grants):
        answer["next"] = grants[first + take]["id"]
    return JSONResponse(answer)


def _take(raw: str | None) -> int:
    if raw is None or raw == "":
        return 50
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PER_PAGE:
        raise bad_request(
            f"Query validation error: 'take' must be an integer from 1 to {MAX_PER_PAGE}.",
            "invalid_query_string",
        )
    return int(raw)


def delete_grant(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``DELETE /api/v2/client-grants/{id}``."""
    if not ctx.store.clients.delete_grant(call.path["grant_id"]):
        raise IdPNotFound("The client grant does not exist.", status=404, error="inexistent_grant")
    return Response(status_code=204)


def rotate_signing_key(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``POST /api/v2/keys/signing/rotate``."""
    kid = ctx.rotate_keys()
    host = urlsplit(ctx.base_url).hostname or ctx.tenant.name
    cert = ctx.store.keys.certificate(kid, host, ctx.clock())
    return JSONResponse({"cert": cert, "kid": kid}, status_code=201)


def client_routes(ctx: DevIdPContext) -> list[Route]:
    """The client, grant and key Management API routes."""
    return [
        api_route(ctx, "/clients", "POST", create_client, scopes=["create:clients"], body=True),
        api_route(ctx, "/clients/{client_id}", "GET", get_client, scopes=["read:clients"]),
        api_route(ctx, "/clients/{client_id}", "DELETE", delete_client, scopes=["delete:clients"]),
        api_route(
            ctx, "/client-grants", "POST", create_grant, scopes=["create:client_grants"], body=True
        ),
        api_route(ctx, "/client-grants", "GET", list_grants, scopes=["read:client_grants"]),
        api_route(
            ctx,
            "/client-grants/{grant_id}",
            "DELETE",
            delete_grant,
            scopes=["delete:client_grants"],
        ),
        api_route(
            ctx,
            "/keys/signing/rotate",
            "POST",
            rotate_signing_key,
            scopes=["create:signing_keys", "update:signing_keys"],
        ),
    ]
