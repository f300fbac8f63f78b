"""HTTP helpers shared by the dev IdP's routes: request bodies, bearer tokens, error shapes.

Two error shapes, as Auth0 has them:

- the OAuth endpoints: ``{"error": "access_denied", "error_description": "Unauthorized"}``
- the Management API: ``{"statusCode": 409, "error": "Conflict", "message": "The user already
  exists.", "errorCode": "auth0_idp_error"}``
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = [
    "MAX_BODY_BYTES",
    "api_error",
    "basic_credentials",
    "bearer_token",
    "oauth_error",
    "printable",
    "read_json_object",
    "read_params",
]

MAX_BODY_BYTES = 64 * 1024
"""Bodies past this size are refused (400) before parsing."""

_FORM = "application/x-www-form-urlencoded"


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """An OAuth error response (token endpoint)."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"cache-control": "no-store"},
    )


def api_error(status: int, message: str, error_code: str = "") -> JSONResponse:
    """A Management API error response."""
    body: dict[str, Any] = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    if error_code:
        body["errorCode"] = error_code
    return JSONResponse(body, status_code=status)


def printable(text: str, limit: int = 64) -> str:
    """``text`` cut to ``limit`` characters, with anything but printable ASCII replaced by ``?``."""
    cut = text[:limit]
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in cut)


async def _body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: Request) -> dict[str, Any] | None:
    """The body as a JSON object; None if it is too large, not JSON, or not an object."""
    raw = await _body(request)
    if raw is None:
        return None
    try:
        value = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


async def read_params(request: Request) -> dict[str, Any] | None:
    """The body of an OAuth request, form-encoded or JSON; None if it cannot be parsed."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return await read_json_object(request)
    if content_type not in (_FORM, ""):
        return None
    raw = await _body(request)
    if raw is None:
        return None
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)  # a repeated parameter: the first one counts
    return out


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without such a header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from HTTP Basic (``client_secret_basic``), or None.

    RFC 6749 §2.3.1: the client form-encodes (``application/x-www-form-urlencoded``) its id and
    its secret before joining them with ``:`` and base64-encoding the pair, so a ``:`` inside
    either travels as ``%3A`` and ``+`` stands for a space. None if the header is not Basic or
    does not decode (bad base64, no ``:``, or escapes that are not UTF-8).
    """
    header = headers.get("authorization", "")
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    try:
        return unquote_plus(client_id, errors="strict"), unquote_plus(secret, errors="strict")
    except UnicodeDecodeError:
        return None
