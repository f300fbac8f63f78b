"""JWT verification: one check, one typed error, nothing else ever raised.

``JwtVerifier.verify`` answers every input with either the claims or exactly one
``idp.errors.InvalidToken`` subclass. The checks run in this order, and the header is judged
before any key is looked up, so an HS256 token "signed" with the RSA public key is refused as
an algorithm, never tried as a MAC:

1. size and shape: three base64url parts, JSON objects, no duplicate members → ``TokenMalformed``
2. ``alg`` in the allow-list (never ``none``, never HMAC unless listed) → ``TokenAlgorithmRefused``
3. ``kid`` present and known (one rate-limited JWKS refresh on a miss) → ``TokenKeyUnknown``
4. the signature (PyJWT, the only part delegated) → ``TokenSignatureInvalid``
5. required claims → ``TokenClaimMissing``; ``exp`` → ``TokenExpired``; ``nbf``/``iat`` →
   ``TokenNotYetValid``; ``iss`` → ``TokenIssuerInvalid``; ``aud`` → ``TokenAudienceInvalid``

Times are judged against the injected clock with a leeway. Messages never quote the token.
Key sources (``CallableJwks`` in-process, ``HttpJwks`` over HTTP) live in ``idp.jwks``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from vaultborn.core.errors import VaultbornError
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
from vaultborn.idp.jwks import CallableJwks, HttpJwks, KeySource, parse_jwks
from vaultborn.vault.secret import Secret

__all__ = [
    "CallableJwks",
    "HttpJwks",
    "JwtVerifier",
    "KeySource",
    "parse_jwks",
    "unverified_claims",
]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "RS": (rsa.RSAPublicKey,),
    "PS": (rsa.RSAPublicKey,),
    "ES": (ec.EllipticCurvePublicKey,),
    "Ed": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}


def _b64json(part: str, what: str) -> dict[str, Any]:
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise TokenMalformed(f"the token's {what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (binascii.Error, ValueError, RecursionError):
        raise TokenMalformed(f"the token's {what} is not JSON") from None
    if not isinstance(value, dict):
        raise TokenMalformed(f"the token's {what} is not a JSON object")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        # Two parsers may keep different duplicates; refuse rather than guess which one counts.
        raise ValueError("duplicate member")
    return out


def _split(token: object, max_bytes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    if isinstance(token, Secret):
        token = token.reveal()
    if not isinstance(token, str) or not token:
        raise TokenMalformed("no token was given")
    if len(token) > max_bytes or not token.isascii():
        raise TokenMalformed(f"the token is not an ASCII JWT of at most {max_bytes} bytes")
    parts = token.split(".")
    # An empty signature is well-formed (``alg: none``); the algorithm check refuses it next.
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise TokenMalformed("the token is not a JWT (three dot-separated parts)")
    return _b64json(parts[0], "header"), _b64json(parts[1], "payload")


def unverified_claims(token: str | Secret, *, max_token_bytes: int = 8192) -> dict[str, Any]:
    """The payload of a well-formed JWT WITHOUT checking anything; for display and ``exp``.

    Raises:
        TokenMalformed: it is not a JWT.
    """
    return _split(token, max_token_bytes)[1]


def _time_claim(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenMalformed(f"the token's {name!r} claim is not a number")
    return float(value)


class JwtVerifier:
    """Verify bearer JWTs against one issuer, one audience and a key source.

    >>> verifier = JwtVerifier(
    ...     issuer="https://tenant.auth0.com/",
    ...     audience="https://api.example.com",
    ...     keys=HttpJwks("https://tenant.auth0.com/.well-known/jwks.json"),
    ... )
    >>> claims = verifier.verify(bearer)  # or an InvalidToken subclass, never anything else

    Args:
        issuer: The exact ``iss`` (Auth0's has a trailing slash).
        audience: An identifier ``aud`` must be or contain (Auth0 compares it exactly).
        keys: Where public keys come from, by ``kid``.
        algorithms: The allow-list; asymmetric algorithms only make sense with a JWKS.
        leeway: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        required_claims: Claims that must be present (not null); custom ones welcome.
        clock: UNIX time now.
        max_token_bytes: Longer tokens are refused before any parsing.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: KeySource,
        algorithms: Sequence[str] = ("RS256",),
        leeway: float = 30,
        required_claims: Sequence[str] = ("iss", "aud", "exp", "iat", "sub"),
        clock: Callable[[], float] = time.time,
        max_token_bytes: int = 8192,
    ) -> None:
        if not algorithms or any(a.lower() == "none" for a in algorithms):
            raise ValueError("algorithms must be a non-empty allow-list without 'none'")
        self.issuer, self.audience, self.keys = issuer, audience, keys
        self.algorithms = tuple(algorithms)
        self.leeway, self.clock = leeway, clock
        self.required_claims = tuple(required_claims)
        self.max_token_bytes = max_token_bytes

    def verify(self, token: str | Secret) -> dict[str, Any]:
        """The claims of a token that passes every check.

        Raises:
            InvalidToken: exactly one subclass, naming the first failed check.
        """
        try:
            return self._verify(token)
        except InvalidToken:
            raise
        except Exception as exc:  # the promise is "one InvalidToken per bad input", whatever broke
            raise TokenMalformed(f"the token could not be checked ({type(exc).__name__})") from None

    def _verify(self, token: str | Secret) -> dict[str, Any]:
        header, claims = _split(token, self.max_token_bytes)
        if "crit" in header or "b64" in header:
            raise TokenMalformed("the token's header asks for JWS extensions this verifier refuses")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            shown = alg if isinstance(alg, str) and alg.isprintable() and len(alg) < 16 else "?"
            raise TokenAlgorithmRefused(
                f"the token's algorithm {shown!r} is not allowed (allowed: "
                f"{', '.join(self.algorithms)})"
            )
        key = self._key(header.get("kid"))
        wanted = _KEY_TYPES.get(alg[:2])
        if wanted is not None and not isinstance(key, wanted):
            raise TokenAlgorithmRefused(f"the token's algorithm {alg} does not fit its key")
        self._check_signature(token, key, alg)
        self._check_claims(claims)
        return claims

    def _key(self, kid: object) -> Any:
        if not isinstance(kid, str) or not kid:
            raise TokenKeyUnknown("the token's header names no key ('kid')")
        try:
            key = self.keys.get(kid)
            if key is None:
                self.keys.refresh()
                key = self.keys.get(kid)
        except VaultbornError:
            key = None
        if key is None:
            raise TokenKeyUnknown("the token was signed with a key the issuer does not publish")
        return key

    @staticmethod
    def _check_signature(token: str | Secret, key: Any, alg: str) -> None:
        raw = token.reveal() if isinstance(token, Secret) else token
        try:
            jwt.api_jws.PyJWS().decode_complete(
                raw, key, algorithms=[alg], options={"enforce_minimum_key_length": True}
            )
        except jwt.InvalidSignatureError:
            raise TokenSignatureInvalid("the token's signature does not verify") from None
        except jwt.InvalidAlgorithmError:
            raise TokenAlgorithmRefused(f"the token's algorithm {alg} is not usable") from None
        except jwt.InvalidKeyError:
            raise TokenSignatureInvalid("the token's signing key is not acceptable") from None
        except (jwt.PyJWTError, TypeError, ValueError):
            raise TokenMalformed("the token's signature could not be checked") from None

    def _check_claims(self, claims: dict[str, Any]) -> None:
        for name in self.required_claims:
            if claims.get(name) is None:
                raise TokenClaimMissing(name)
        now = self.clock()
        exp, nbf, iat = (_time_claim(claims, n) for n in ("exp", "nbf", "iat"))
        if exp is not None and exp <= now - self.leeway:
            raise TokenExpired("the token has expired")
        if nbf is not None and nbf > now + self.leeway:
            raise TokenNotYetValid("the token is not valid yet ('nbf' is in the future)")
        if iat is not None and iat > now + self.leeway:
            raise TokenNotYetValid("the token was issued in the future ('iat')")
        if claims.get("iss") is None:
            raise TokenClaimMissing("iss")
        if claims["iss"] != self.issuer:
            raise TokenIssuerInvalid(f"the token was not issued by {self.issuer}")
        aud = claims.get("aud")
        if aud is None:
            raise TokenClaimMissing("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if self.audience not in [a for a in auds if isinstance(a, str)]:
            raise TokenAudienceInvalid(f"the token is not meant for {self.audience}")
