"""Management API v2: a client's public keys, and switching it to ``private_key_jwt``.

The same calls as Auth0's, so its SDKs work unchanged:

- ``POST /api/v2/clients/{id}/credentials`` (create:client_credentials):
  ``{credential_type: "public_key", pem, alg?, kid?, name?, expires_at?}``. ``pem`` is a PEM
  public key (SPKI or PKCS#1) or certificate; this server also takes an OpenSSH public key
  line, as an SSH Key item holds it. ``alg`` is RS256 (default), RS384 or PS256 for an RSA key
  (2048 bits or more) as in Auth0, and ES256 for a P-256 key (an extension). ``kid`` defaults
  to the key's RFC 7638 thumbprint. 201 with the credential; nothing private is ever taken.
- ``GET /api/v2/clients/{id}/credentials`` (read:client_credentials), and
  ``DELETE …/credentials/{credential_id}`` (delete:client_credentials).
- ``PATCH /api/v2/clients/{id}`` (update:clients) with ``{"client_authentication_methods":
  {"private_key_jwt": {"credentials": [{"id": "cred_…"}]}}}`` (``token_endpoint_auth_method``
  may be sent as null beside it): those credentials become the ones the client authenticates
  with, and its secret is dropped. Or with ``{"client_secret": …}`` alone (update:clients or
  update:client_keys): the client's new secret, brought from the caller's vault (a rotation;
  the same secret again changes nothing). Only these properties may be patched here.

A credential is registered first and enabled second, as in Auth0; replacing a key is
registering the new one, then patching the list to name it alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vaultborn.core.errors import UsageError
from vaultborn.idp.devserver.client_keys import parse_public_key
from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.hashing import MIN_CLIENT_SECRET_CHARS
from vaultborn.idp.devserver.management import ApiCall, api_route, bad_request, optional, required
from vaultborn.idp.errors import IdPNotFound
from vaultborn.vault.secret import Secret

__all__ = ["credential_routes"]

_PATCHABLE = {"client_authentication_methods", "token_endpoint_auth_method"}
_SECRET = "client_secret"  # noqa: S105 (a property name)


def create_credential(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``POST /api/v2/clients/{id}/credentials``."""
    if required(call.body, "credential_type") != "public_key":
        raise bad_request("The dev IdP takes credential_type public_key only.")
    pem = required(call.body, "pem")
    expires = optional(call.body, "expires_at", str)
    try:
        key = parse_public_key(pem)
        record = ctx.store.client_keys.add(
            call.path["client_id"],
            key,
            now=ctx.clock(),
            alg=optional(call.body, "alg", str),
            kid=optional(call.body, "kid", str),
            name=optional(call.body, "name", str, ""),
            expires_at=_timestamp(expires) if expires else None,
        )
    except UsageError as exc:
        raise bad_request(f"Payload validation error: {exc}") from None
    return JSONResponse(record.as_auth0(), status_code=201)


def list_credentials(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``GET /api/v2/clients/{id}/credentials``."""
    records = ctx.store.client_keys.of_client(call.path["client_id"])
    return JSONResponse([r.as_auth0() for r in records])


def delete_credential(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``DELETE /api/v2/clients/{id}/credentials/{credential_id}``."""
    ctx.store.client_keys.delete(call.path["client_id"], call.path["credential_id"])
    return Response(status_code=204)


def patch_client(ctx: DevIdPContext, call: ApiCall) -> Response:
    """``PATCH /api/v2/clients/{id}``: its ``client_authentication_methods`` or its secret."""
    if _SECRET in call.body:
        return _set_secret(ctx, call)
    other = sorted(set(call.body) - _PATCHABLE)
    if other:
        raise bad_request(
            f"The dev IdP patches only client_authentication_methods, not {other[0]!r}."
        )
    if call.body.get("token_endpoint_auth_method") is not None:
        raise bad_request(
            "client_authentication_methods and token_endpoint_auth_method are mutually exclusive"
        )
    methods = required(call.body, "client_authentication_methods", dict)
    ids = _credential_ids(methods)
    client_id = call.path["client_id"]
    ctx.store.client_keys.enable_only(client_id, ids, ctx.clock())
    client = ctx.store.clients.get(client_id)
    if client is None:
        raise IdPNotFound("The client does not exist", status=404, error="inexistent_client")
    return JSONResponse(client.as_auth0())


def _set_secret(ctx: DevIdPContext, call: ApiCall) -> Response:
    if set(call.body) != {_SECRET}:
        raise bad_request("client_secret is patched on its own here.")
    secret = Secret(required(call.body, _SECRET), label="client secret")
    call.body.clear()
    if len(secret) < MIN_CLIENT_SECRET_CHARS:
        raise bad_request(f"client_secret must have at least {MIN_CLIENT_SECRET_CHARS} characters")
    client_id = call.path["client_id"]
    client = ctx.store.clients.get(client_id)
    if client is None:
        raise IdPNotFound("The client does not exist", status=404, error="inexistent_client")
    if client.key_credentials:
        raise bad_request(
            "The client authenticates by private_key_jwt; it has no secret to change."
        )
    ctx.store.clients.set_secret(client_id, secret)
    return JSONResponse(client.as_auth0())


def _credential_ids(methods: dict[str, Any]) -> list[str]:
    if set(methods) - {"private_key_jwt"}:
        raise bad_request("The dev IdP supports the private_key_jwt authentication method only.")
    jwt_method = optional(methods, "private_key_jwt", dict, {})
    credentials = optional(jwt_method, "credentials", list, [])
    ids = [c.get("id") if isinstance(c, dict) else None for c in credentials]
    if not all(isinstance(i, str) and i for i in ids):
        raise bad_request('Payload validation error: each credential must be {"id": …}.')
    return [str(i) for i in ids]


def _timestamp(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise bad_request("Payload validation error: expires_at is not an ISO 8601 date.") from None


def credential_routes(ctx: DevIdPContext) -> list[Route]:
    """The client credential routes and the client PATCH."""
    base = "/clients/{client_id}"
    return [
        api_route(
            ctx,
            base + "/credentials",
            "POST",
            create_credential,
            scopes=["create:client_credentials"],
            body=True,
        ),
        api_route(
            ctx,
            base + "/credentials",
            "GET",
            list_credentials,
            scopes=["read:client_credentials"],
        ),
        api_route(
            ctx,
            base + "/credentials/{credential_id}",
            "DELETE",
            delete_credential,
            scopes=["delete:client_credentials"],
        ),
        api_route(
            ctx,
            base,
            "PATCH",
            patch_client,
            scopes=["update:clients", "update:client_keys"],
            body=True,
        ),
    ]
