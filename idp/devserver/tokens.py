"""``POST /oauth/token``: the client-credentials grant, in Auth0's request and response shapes.

The request is form-encoded or JSON; the client authenticates with its secret (in the body, or HTTP
Basic with both parts form-encoded first, RFC 6749 §2.3.1) or with a signed client assertion
(``private_key_jwt``, RFC 7523): ``idp.devserver.client_auth``. The API is named as Auth0 names it
with its Resource Parameter Compatibility Profile on: ``audience`` first; without one, the RFC 8707
``resource`` parameter, which must then be an absolute URI without a fragment (else 400
``invalid_target``). An empty parameter counts as absent (RFC 6749 §3.2).

The answer is ``{access_token, token_type: "Bearer", expires_in, scope}``; the token is an RS256 JWT
with ``kid`` in its header and the claims ``iss``, ``sub`` (``<client_id>@clients``), ``aud``,
``azp``, ``gty`` ("client-credentials"), ``scope``, ``iat``, ``exp`` and the client's custom claims.
Errors are Auth0's: 401 ``access_denied`` "Unauthorized" for an unknown client or a wrong secret
(the two are indistinguishable, timing included), 401 ``invalid_client`` for a refused assertion,
403 for an API the client has no grant on (named by ``audience`` or ``resource``), 400 for a missing
or unsupported grant type.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import jwt
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vaultborn.idp.devserver.client_auth import authenticate_client
from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.web import basic_credentials, oauth_error, printable, read_params

__all__ = ["mint", "token_routes"]

log = logging.getLogger(__name__)

_GRANT_HELP = "See: https://auth0.com/docs/get-started/applications/application-grant-types"
# RFC 3986 §4.3 absolute-URI: a scheme, then URI characters only (valid %-escapes, no fragment).
_ABSOLUTE_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)


def mint(ctx: DevIdPContext, claims: dict[str, Any]) -> str:
    """Sign ``claims`` with the current key (its ``kid`` in the header)."""
    kid, key = ctx.store.keys.signing_key()
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def _target(params: dict[str, Any]) -> str | Response | None:
    """The API the token is for: ``audience``, else ``resource``; a 400 if ``resource`` is bad."""
    audience = params.get("audience")
    if isinstance(audience, str) and audience:
        return audience
    resource = params.get("resource")
    if resource is None or resource == "":
        return None
    if not isinstance(resource, str) or not _ABSOLUTE_URI.fullmatch(resource):
        return oauth_error(
            400,
            "invalid_target",
            "The resource parameter must be one absolute URI without a fragment (RFC 8707)",
        )
    return resource


def _issue(ctx: DevIdPContext, params: dict[str, Any], basic: tuple[str, str] | None) -> Response:
    grant_type = params.get("grant_type")
    if not isinstance(grant_type, str) or not grant_type:
        return oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
    if grant_type != "client_credentials":
        return oauth_error(
            400, "unsupported_grant_type", f"Unsupported grant type: {printable(grant_type)}"
        )
    client = authenticate_client(ctx, params, basic)
    if isinstance(client, Response):
        return client
    audience = _target(params)
    if isinstance(audience, Response):
        return audience
    if audience is None:
        return oauth_error(
            403,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        )
    grant = ctx.store.clients.grant(client.client_id, ctx.audience_key(audience))
    if grant is None:
        return oauth_error(
            403,
            "access_denied",
            f'Client is not authorized to access "{printable(audience, 200)}". You need to create '
            f'a "client-grant" associated to this API. {_GRANT_HELP}',
        )
    scopes = list(grant.scopes)
    requested = params.get("scope")
    if isinstance(requested, str) and requested.strip():
        wanted = requested.split()
        missing = [s for s in wanted if s not in grant.scopes]
        if missing:
            return oauth_error(
                403,
                "access_denied",
                f"Client has not been granted scopes: {printable(' '.join(missing), 200)}",
            )
        scopes = [s for s in grant.scopes if s in wanted]
    now = int(ctx.clock())
    lifetime = ctx.tenant.token_lifetime
    claims: dict[str, Any] = dict(client.claims)
    claims.update(
        iss=ctx.issuer,
        sub=f"{client.client_id}@clients",
        aud=audience,
        iat=now,
        exp=now + lifetime,
        azp=client.client_id,
        gty="client-credentials",
    )
    if scopes:
        claims["scope"] = " ".join(scopes)
    body: dict[str, Any] = {
        "access_token": mint(ctx, claims),
        "token_type": "Bearer",
        "expires_in": lifetime,
    }
    if scopes:
        body["scope"] = " ".join(scopes)
    return JSONResponse(body, headers={"cache-control": "no-store", "pragma": "no-cache"})


def token_routes(ctx: DevIdPContext) -> list[Route]:
    """The ``/oauth/token`` route."""

    async def token(request: Request) -> Response:
        params = await read_params(request)
        if params is None:
            return oauth_error(
                400, "invalid_request", "The body must be a form-encoded or JSON object"
            )
        basic = basic_credentials(request.headers)
        # Hashing the secret and the database are blocking: keep them off the event loop.
        return await run_in_threadpool(_issue, ctx, params, basic)

    return [Route("/oauth/token", token, methods=["POST"])]
