"""The dev IdP's own check of the tokens it issued: PyJWT against this server's key store.

The Management API and the protected demo API accept a bearer token only if ``check_token``
passes it. The check is the server's own code on purpose: it shares nothing with the client's
verifier (``idp.verify``, ``idp.jwks``) but HTTP and the exception types of ``idp.errors``, so a
test that runs the client against this server can catch a bug in either. In order:

1. shape: an ASCII string of at most 8192 bytes, three dot-separated parts, a JSON header
   without JWS extensions (``crit``, ``b64``) → ``TokenMalformed``
2. ``alg`` exactly ``RS256`` (never ``none``, never HMAC) → ``TokenAlgorithmRefused``
3. ``kid`` names a key of this server, current or retired within the tenant's grace period
   (read from the database at each check) → ``TokenKeyUnknown``
4. by PyJWT: the signature → ``TokenSignatureInvalid``; ``iss``, ``aud``, ``exp``, ``iat`` and
   ``sub`` present → ``TokenClaimMissing``; ``iss`` is this server → ``TokenIssuerInvalid``;
   ``aud`` is or contains the expected audience → ``TokenAudienceInvalid``
5. ``exp``, ``nbf``, ``iat`` against the server's clock (PyJWT reads the wall clock, and tests
   drive this server's), with ``LEEWAY`` seconds → ``TokenExpired``, ``TokenNotYetValid``

Every failure is exactly one ``idp.errors.InvalidToken`` subclass whose one-line message never
quotes the token.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import jwt

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.errors import (
    InvalidToken,
    TokenAlgorithmRefused,
    TokenAudienceInvalid,
    TokenClaimMissing,
    TokenExpired,
    TokenIssuerInvalid,
    TokenKeyUnknown,
    TokenMalformed,
    TokenNotYetValid,
    TokenSignatureInvalid,
)

__all__ = ["ALGORITHM", "LEEWAY", "MAX_TOKEN_BYTES", "REQUIRED_CLAIMS", "check_token"]

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
"""The only algorithm this server signs with, so the only one it accepts."""
LEEWAY = 30.0
"""Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""
MAX_TOKEN_BYTES = 8192
"""Longer tokens are refused before any parsing."""
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub")
"""Claims every token of this server carries."""

# Times are judged below against the server's clock; PyJWT would judge them against the wall's.
_DECODER = jwt.PyJWT(
    options={
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "require": list(REQUIRED_CLAIMS),
        "enforce_minimum_key_length": True,
    }
)


def check_token(ctx: DevIdPContext, token: str, audience: str) -> dict[str, Any]:
    """The claims of ``token`` if this server issued it for ``audience`` and it is valid now.

    Args:
        ctx: The server (its key store, issuer, clock and tenant's key grace).
        token: The bearer token as received.
        audience: The identifier ``aud`` must be or contain.

    Raises:
        InvalidToken: exactly one subclass, naming the first failed check.
    """
    try:
        return _check(ctx, token, audience)
    except InvalidToken:
        raise
    except Exception as exc:  # the promise is one InvalidToken per bad input, whatever broke
        log.warning("token check failed unexpectedly: %s", type(exc).__name__)
        raise TokenMalformed(f"the token could not be checked ({type(exc).__name__})") from None


def _check(ctx: DevIdPContext, token: str, audience: str) -> dict[str, Any]:
    if not isinstance(token, str) or not token:
        raise TokenMalformed("no token was given")
    if len(token) > MAX_TOKEN_BYTES or not token.isascii():
        raise TokenMalformed(f"the token is not an ASCII JWT of at most {MAX_TOKEN_BYTES} bytes")
    if token.count(".") != 2:
        raise TokenMalformed("the token is not a JWT (three dot-separated parts)")
    header = _header(token)
    alg = header.get("alg")
    if alg != ALGORITHM:
        shown = alg if isinstance(alg, str) and alg.isprintable() and len(alg) < 16 else "?"
        raise TokenAlgorithmRefused(f"the token's algorithm {shown!r} is not {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenKeyUnknown("the token's header names no key ('kid')")
    now = ctx.clock()
    key = ctx.store.keys.public_key(kid, now, ctx.tenant.key_grace)
    if key is None:
        raise TokenKeyUnknown("the token was signed with a key this server does not hold")
    claims = _decode(token, key, ctx.issuer, audience)
    _check_times(claims, now)
    return claims


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenMalformed("the token's header is not base64url JSON") from None
    if "crit" in header or "b64" in header:
        raise TokenMalformed("the token's header asks for JWS extensions this server never uses")
    return header


def _decode(token: str, key: Any, issuer: str, audience: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = _DECODER.decode(
            token, key, algorithms=[ALGORITHM], issuer=issuer, audience=audience
        )
    except jwt.InvalidSignatureError:
        raise TokenSignatureInvalid("the token's signature does not verify") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenClaimMissing(exc.claim) from None
    except jwt.InvalidIssuerError:
        raise TokenIssuerInvalid(f"the token was not issued by {issuer}") from None
    except jwt.InvalidAudienceError:
        raise TokenAudienceInvalid(f"the token is not meant for {audience}") from None
    except jwt.InvalidAlgorithmError:
        raise TokenAlgorithmRefused(f"the token's algorithm is not {ALGORITHM}") from None
    except jwt.PyJWTError:
        raise TokenMalformed("the token's payload or claims are malformed") from None
    return claims


def _time(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenMalformed(f"the token's {name!r} claim is not a number")
    return float(value)


def _check_times(claims: dict[str, Any], now: float) -> None:
    exp, nbf, iat = (_time(claims, name) for name in ("exp", "nbf", "iat"))
    if exp is not None and exp <= now - LEEWAY:
        raise TokenExpired("the token has expired")
    if nbf is not None and nbf > now + LEEWAY:
        raise TokenNotYetValid("the token is not valid yet ('nbf' is in the future)")
    if iat is not None and iat > now + LEEWAY:
        raise TokenNotYetValid("the token was issued in the future ('iat')")
