"""The Management API v2 frame: bearer tokens, scopes, bodies and Auth0's error shape.

Every endpoint takes an access token this server issued for ``<base URL>api/v2/``; it is
checked by the server's own ``idp.devserver.token_check`` against its key store (signature,
``iss``, ``aud``, ``exp`` …), then the endpoint's scope is checked. Failures answer as Auth0
does: 401 "Missing authentication" / "Invalid token" / "Expired token", 403 "Insufficient
scope, expected any of: create:users", 400 "Payload validation error: …". Handlers run in a
worker thread and raise ``IdPRequestError`` (status, message, ``error`` as ``errorCode``) for
any answer other than success.

Paged list endpoints take Auth0's ``page`` (from 0), ``per_page`` and ``include_totals``
(``paged``): a bare JSON array of the page, or with ``include_totals=true`` the envelope
``{"start": page * per_page, "limit": per_page, "total": <all items>, "<items key>": [...]}``.

The endpoints themselves: ``idp.devserver.mgmt_users`` and ``idp.devserver.mgmt_clients``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.token_check import check_token
from vaultborn.idp.devserver.web import api_error, bearer_token, read_json_object
from vaultborn.idp.errors import IdPRequestError, InvalidToken, TokenExpired

__all__ = [
    "MAX_PER_PAGE",
    "ApiCall",
    "Handler",
    "api_route",
    "bad_request",
    "optional",
    "paged",
    "required",
]

MAX_PER_PAGE = 100
"""The largest ``per_page`` a list endpoint accepts."""


@dataclass(frozen=True)
class ApiCall:
    """One authorized Management API request."""

    path: Mapping[str, str]
    """Path parameters (already percent-decoded: ``auth0|…``)."""
    query: Mapping[str, str]
    body: dict[str, Any]
    """The JSON body (empty for requests without one)."""
    claims: dict[str, Any]
    """The verified management token's claims."""


Handler = Callable[[DevIdPContext, ApiCall], Response]


def bad_request(message: str, code: str = "invalid_body") -> IdPRequestError:
    """A 400 in the Management API's shape."""
    return IdPRequestError(message, status=400, error=code)


_TYPES: dict[type, str] = {str: "string", bool: "boolean", list: "array", dict: "object"}


def optional(body: Mapping[str, Any], key: str, kind: type, default: Any = None) -> Any:
    """``body[key]`` if present and of type ``kind`` (400 if of another type)."""
    if key not in body or body[key] is None:
        return default
    value = body[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise bad_request(
            f"Payload validation error: 'Expected type {_TYPES.get(kind, kind.__name__)}' "
            f"on property {key}."
        )
    return value


def required(body: Mapping[str, Any], key: str, kind: type = str) -> Any:
    """``body[key]``, which must be present, non-empty and of type ``kind``."""
    value = optional(body, key, kind)
    if value is None or value == "":
        raise bad_request(f"Payload validation error: 'Missing required property: {key}'.")
    return value


def _query_error(message: str, key: str) -> IdPRequestError:
    return bad_request(
        f"Query validation error: '{message}' on property {key}.", "invalid_query_string"
    )


def _query_int(query: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        raise _query_error("Invalid type: string (expected integer)", key)
    value = int(raw)
    if value < low:
        raise _query_error(f"Too small: must be at least {low}", key)
    if value > high:
        raise _query_error(f"Too big: must be at most {high}", key)
    return value


def paged(
    query: Mapping[str, str], items: Sequence[dict[str, Any]], key: str, *, per_page: int = 50
) -> Response:
    """One page of ``items`` as Auth0 answers it (see the module's docstring).

    Args:
        query: The request's query (``page``, ``per_page``, ``include_totals``).
        items: Every item, in a stable order.
        key: The envelope's member for the items (``authenticators`` …).
        per_page: The endpoint's default page size.

    Raises:
        IdPRequestError: 400 ``invalid_query_string`` for a value of the wrong type or range.
    """
    page = _query_int(query, "page", 0, 0, 10**9)
    size = _query_int(query, "per_page", per_page, 1, MAX_PER_PAGE)
    totals = query.get("include_totals", "false")
    if totals not in ("true", "false"):
        raise _query_error("Invalid type: string (expected boolean)", "include_totals")
    start = page * size
    chunk = list(items[start : start + size])
    if totals == "false":
        return JSONResponse(chunk)
    return JSONResponse({"start": start, "limit": size, "total": len(items), key: chunk})


def _authorize(ctx: DevIdPContext, token: str, scopes: Sequence[str]) -> dict[str, Any]:
    try:
        claims = check_token(ctx, token, ctx.management_audience)
    except TokenExpired:
        raise IdPRequestError("Expired token", status=401, error="invalid_token") from None
    except InvalidToken:
        raise IdPRequestError("Invalid token", status=401, error="invalid_token") from None
    granted = claims.get("scope")
    held = set(granted.split()) if isinstance(granted, str) else set()
    if not held.intersection(scopes):
        raise IdPRequestError(
            f"Insufficient scope, expected any of: {','.join(scopes)}",
            status=403,
            error="insufficient_scope",
        )
    return claims


def _run(
    ctx: DevIdPContext,
    handler: Handler,
    scopes: Sequence[str],
    token: str,
    body: dict[str, Any] | None,
    request: Request,
) -> Response:
    try:
        claims = _authorize(ctx, token, scopes)
        if body is None:
            raise bad_request("Payload validation error: 'Invalid JSON'.")
        call = ApiCall(
            path={k: str(v) for k, v in request.path_params.items()},
            query=dict(request.query_params),
            body=body,
            claims=claims,
        )
        return handler(ctx, call)
    except IdPRequestError as exc:
        return api_error(exc.status, exc.message, exc.error)


def api_route(
    ctx: DevIdPContext,
    path: str,
    method: str,
    handler: Handler,
    *,
    scopes: Sequence[str],
    body: bool = False,
) -> Route:
    """A Management API route at ``/api/v2`` + ``path`` needing any of ``scopes``."""

    async def endpoint(request: Request) -> Response:
        token = bearer_token(request)
        if token is None:
            return api_error(401, "Missing authentication", "missing_authentication")
        payload = await read_json_object(request) if body else {}
        return await run_in_threadpool(_run, ctx, handler, scopes, token, payload, request)

    return Route("/api/v2" + path, endpoint, methods=[method])
