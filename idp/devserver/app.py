"""``build_app(ctx)``: the dev IdP as one Starlette application.

Routes: ``/.well-known/openid-configuration``, ``/.well-known/jwks.json``, ``POST /oauth/token``
(``idp.devserver.tokens``), the Management API under ``/api/v2/`` (``mgmt_users``, ``mgmt_clients``,
``mgmt_credentials``), the demo API ``GET /api/protected/whoami`` (``protected``) and the Universal
Login pages (``pages``). Every response passes the rate limiter, which stamps the ``x-ratelimit-*``
headers; unknown paths and methods answer in the Management API's JSON shape.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from vaultborn.idp.devserver.client_keys import EC_ALGORITHMS, RSA_ALGORITHMS
from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.mgmt_clients import client_routes
from vaultborn.idp.devserver.mgmt_credentials import credential_routes
from vaultborn.idp.devserver.mgmt_users import user_routes
from vaultborn.idp.devserver.pages import page_routes
from vaultborn.idp.devserver.protected import protected_routes
from vaultborn.idp.devserver.ratelimit import RateLimitMiddleware
from vaultborn.idp.devserver.tokens import token_routes
from vaultborn.idp.devserver.web import api_error

__all__ = ["build_app", "openid_configuration"]

ASSERTION_ALGORITHMS = (*RSA_ALGORITHMS, *EC_ALGORITHMS)


def openid_configuration(ctx: DevIdPContext) -> dict[str, object]:
    """The discovery document (what this server actually serves)."""
    return {
        "issuer": ctx.issuer,
        "token_endpoint": ctx.url("oauth/token"),
        "jwks_uri": ctx.url(".well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "client_secret_basic",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "request_parameter_supported": False,
    }


def _well_known(ctx: DevIdPContext) -> list[BaseRoute]:
    async def discovery(request: Request) -> Response:
        return JSONResponse(openid_configuration(ctx))

    async def jwks(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(ctx.jwks))

    return [
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return api_error(status, "Not Found" if status == 404 else str(getattr(exc, "detail", "")))


def build_app(ctx: DevIdPContext) -> Starlette:
    """The dev IdP's ASGI application over ``ctx``."""
    routes: list[BaseRoute] = [
        *_well_known(ctx),
        *token_routes(ctx),
        *user_routes(ctx),
        *client_routes(ctx),
        *credential_routes(ctx),
        *protected_routes(ctx),
        *page_routes(ctx),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(RateLimitMiddleware, limiter=ctx.limiter)],
        exception_handlers={HTTPException: _http_error},
    )
