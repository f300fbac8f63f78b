"""The protected demo API: ``GET /api/protected/whoami``, an agent's target at the chain's end.

It accepts a bearer token only if the server's own ``idp.devserver.token_check`` passes it
(issuer: this server; audience: the tenant's ``protected_audience``; keys: this server's key
store) and its ``scope`` holds ``read:whoami``. Answers (RFC 6750):

- no ``Authorization: Bearer`` header → 401, ``WWW-Authenticate: Bearer realm="vaultborn-dev"``
- any bad token → 401, ``Bearer error="invalid_token", error_description="<one line>"``
- a good token without the scope → 403, ``Bearer error="insufficient_scope", scope="read:whoami"``
- otherwise 200 ``{sub, client_id, scope, <custom claims>}``

No token input yields a 500: whatever the check raises becomes a 401.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.token_check import check_token
from vaultborn.idp.devserver.web import bearer_token, printable
from vaultborn.idp.errors import InvalidToken

__all__ = ["REALM", "SCOPE", "protected_routes"]

log = logging.getLogger(__name__)

REALM = "vaultborn-dev"
SCOPE = "read:whoami"
_REGISTERED = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti", "sub", "azp", "gty", "scope"})


def _challenge(status: int, value: str, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"www-authenticate": value},
    )


def _check(ctx: DevIdPContext, token: str) -> dict[str, Any] | str:
    """The claims, or the one-line reason the token is refused."""
    try:
        return check_token(ctx, token, ctx.tenant.protected_audience)
    except InvalidToken as exc:
        return str(exc)
    except Exception as exc:  # the check promises InvalidToken only; a 401 either way
        log.warning("token check failed unexpectedly: %s", type(exc).__name__)
        return "the token could not be checked"


def protected_routes(ctx: DevIdPContext) -> list[Route]:
    """The demo API's routes."""

    async def whoami(request: Request) -> Response:
        token = bearer_token(request)
        if token is None:
            return _challenge(
                401, f'Bearer realm="{REALM}"', "invalid_request", "a bearer token is required"
            )
        verdict = await run_in_threadpool(_check, ctx, token)
        if isinstance(verdict, str):
            reason = printable(" ".join(verdict.split()), 200)
            return _challenge(
                401,
                f'Bearer error="invalid_token", error_description="{reason}"',
                "invalid_token",
                reason,
            )
        granted = verdict.get("scope")
        scopes = granted.split() if isinstance(granted, str) else []
        if SCOPE not in scopes:
            return _challenge(
                403,
                f'Bearer error="insufficient_scope", scope="{SCOPE}"',
                "insufficient_scope",
                f"the token lacks the scope {SCOPE}",
            )
        body = {"sub": verdict.get("sub"), "client_id": verdict.get("azp"), "scope": granted}
        body.update({k: v for k, v in verdict.items() if k not in _REGISTERED})
        return JSONResponse(body)

    return [Route("/api/protected/whoami", whoami, methods=["GET"])]
