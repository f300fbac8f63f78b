"""``check_assertion``: is this a good RFC 7523 client assertion (``private_key_jwt``)?

The decision is pure: the caller gives the assertion, the keys of the client it names, the
audiences this server answers to and the time; the answer is who authenticated (with the
``jti`` to record against replays) or ``AssertionRefused`` with one line saying why. The
checks, in order, each with its own error (RFC 7523 §3, OpenID Connect Core §9):

1. a compact JWS of at most ``MAX_ASSERTION_CHARS``, signed with an asymmetric algorithm this
   server accepts (never ``none`` nor HMAC, which would take a public key for a secret);
2. ``iss`` = ``sub`` = the client id (and = the ``client_id`` parameter when one is sent);
3. the signature, by one of the client's enabled keys of that algorithm (by ``kid`` when the
   header names one). An unknown client, a client without keys and a wrong signature give the
   same answer, and nothing after this step is told to a caller without the key;
4. ``aud`` names this server: its token endpoint URL or its issuer;
5. ``exp`` in the future, at most ``MAX_ASSERTION_LIFETIME`` ahead (Auth0 accepts 5 minutes),
   ``nbf`` and ``iat`` not in the future, ``exp - iat`` within the same bound (``LEEWAY``
   seconds of clock skew allowed);
6. a ``jti`` of 1 to 256 characters (the caller refuses one it has seen: ``ClientKeys.use_jti``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from vaultborn.idp.devserver.client_keys import EC_ALGORITHMS, RSA_ALGORITHMS
from vaultborn.idp.devserver.records import CredentialRecord

__all__ = [
    "ASSERTION_TYPE",
    "LEEWAY",
    "MAX_ASSERTION_LIFETIME",
    "Asserted",
    "AssertionRefused",
    "check_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300
LEEWAY = 10
MAX_ASSERTION_CHARS = 8192
_ALGORITHMS = (*RSA_ALGORITHMS, *EC_ALGORITHMS)
_BAD_SIGNATURE = "Invalid client assertion: unknown client, or a signature none of its keys made"


class AssertionRefused(Exception):
    """The assertion fails a check; ``description`` says which (never quoting the assertion)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class Asserted:
    """A good assertion: the client it authenticates, its ``jti`` and when it expires."""

    client_id: str
    jti: str
    expires: float


def check_assertion(
    assertion: str,
    *,
    keys_for: Callable[[str], Sequence[CredentialRecord]],
    audiences: Sequence[str],
    now: float,
    client_id: str | None = None,
) -> Asserted:
    """Check ``assertion`` as the module describes.

    Args:
        assertion: The ``client_assertion`` parameter.
        keys_for: The enabled, unexpired credentials of a client id (empty for an unknown one).
        audiences: The ``aud`` values naming this server.
        now: UNIX time now.
        client_id: The request's ``client_id`` parameter, if it sent one.

    Raises:
        AssertionRefused: The first check that fails.
    """
    header, unverified = _parse(assertion)
    alg = header.get("alg")
    if alg not in _ALGORITHMS:
        raise AssertionRefused(
            f"The client assertion must be signed with one of {', '.join(_ALGORITHMS)}"
        )
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AssertionRefused("The client assertion has no iss (the client_id)")
    if unverified.get("sub") != issuer:
        raise AssertionRefused("The client assertion's sub must equal its iss (the client_id)")
    if client_id is not None and client_id != issuer:
        raise AssertionRefused("The client_id parameter does not match the assertion's iss")
    kid = header.get("kid")
    candidates = [k for k in keys_for(issuer) if k.alg == alg and (kid is None or k.kid == kid)]
    for credential in candidates:
        claims = _verified(assertion, credential, issuer, audiences, now)
        if claims is not None:
            return _lifetime_checked(issuer, claims, now)
    raise AssertionRefused(_BAD_SIGNATURE)


def _parse(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not assertion or len(assertion) > MAX_ASSERTION_CHARS:
        raise AssertionRefused(f"The client assertion must be 1 to {MAX_ASSERTION_CHARS} chars")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AssertionRefused("The client assertion is not a signed JWT") from None
    return header, claims


def _verified(
    assertion: str,
    credential: CredentialRecord,
    issuer: str,
    audiences: Sequence[str],
    now: float,
) -> dict[str, Any] | None:
    """The claims if ``credential`` made the signature (and every claim check passes), else None.

    Raises:
        AssertionRefused: The signature is good but a claim is not.
    """
    key = jwt.PyJWK(credential.jwk, algorithm=credential.alg).key
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key,
            algorithms=[credential.alg],
            audience=list(audiences),
            issuer=issuer,
            leeway=LEEWAY,
            # Times are checked below against the server's clock, not PyJWT's.
            options={
                "require": ["iss", "sub", "aud", "exp", "jti"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidSignatureError:
        return None
    except jwt.InvalidAudienceError:
        raise AssertionRefused(
            f"The client assertion's aud must be this server's token endpoint or issuer "
            f"({' or '.join(audiences)})"
        ) from None
    except jwt.MissingRequiredClaimError as missing:
        raise AssertionRefused(f"The client assertion has no {missing.claim} claim") from None
    except jwt.PyJWTError as exc:
        raise AssertionRefused(f"The client assertion is invalid ({type(exc).__name__})") from None
    _check_times(claims, now)
    return claims


def _check_times(claims: dict[str, Any], now: float) -> None:
    exp = claims["exp"]
    if not _number(exp) or exp <= now - LEEWAY:
        raise AssertionRefused("The client assertion has expired")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not _number(value) or value > now + LEEWAY):
            raise AssertionRefused("The client assertion is not valid yet (nbf or iat)")


def _lifetime_checked(issuer: str, claims: dict[str, Any], now: float) -> Asserted:
    exp = float(claims["exp"])
    if exp - now > MAX_ASSERTION_LIFETIME + LEEWAY:
        raise AssertionRefused(
            f"The client assertion expires too late: at most {MAX_ASSERTION_LIFETIME} s ahead"
        )
    iat = claims.get("iat")
    if iat is not None and exp - float(iat) > MAX_ASSERTION_LIFETIME + LEEWAY:
        raise AssertionRefused(
            f"The client assertion lives too long: at most {MAX_ASSERTION_LIFETIME} s"
        )
    jti = claims["jti"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
        raise AssertionRefused("The client assertion's jti must be a string of 1 to 256 chars")
    return Asserted(issuer, jti, exp)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
