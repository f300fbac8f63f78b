"""The dev IdP's own token check (``idp.devserver.token_check``): a bad-token corpus, key grace.

Its independence from the client's verifier: ``test_devserver_independence``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.idp.devkit import API, ENV, Clock, agent_token, bearer, mgmt_token
from tests.idp.jwtkit import b64, b64json, hs256_with, unsigned
from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.ratelimit import RateLimiter
from vaultborn.idp.devserver.server import start_dev_idp
from vaultborn.idp.devserver.store import Store
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.idp.devserver.token_check import LEEWAY, check_token
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

BASE = "http://127.0.0.1:1/"
NOW = 1_800_000_000.0


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def ctx(tmp_path: Path, clock: Clock) -> Iterator[DevIdPContext]:
    """A dev IdP context on its own database with one signing key, without HTTP."""
    tenant = demo_tenant()
    store = Store.open(tmp_path / "idp.db")
    store.keys.ensure_active(clock())
    try:
        yield DevIdPContext(
            store=store,
            tenant=tenant,
            base_url=BASE,
            clock=clock,
            limiter=RateLimiter(tenant.rate_limit, clock),
        )
    finally:
        store.close()


def good_claims(**overrides: Any) -> dict[str, Any]:
    """A token of this server for the demo API at NOW; ``name=None`` drops a claim."""
    claims: dict[str, Any] = {
        "iss": BASE,
        "sub": "agent@clients",
        "aud": API,
        "azp": "agent",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 3600,
        "gty": "client-credentials",
        "scope": "read:whoami",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def mint(ctx: DevIdPContext, claims: dict[str, Any] | None = None, **headers: Any) -> str:
    """A token signed by the server's current key (``kid=None`` leaves the kid out)."""
    kid, key = ctx.store.keys.signing_key()
    header = {"kid": kid, **headers}
    header = {k: v for k, v in header.items() if v is not None}
    return jwt.encode(good_claims() if claims is None else claims, key, "RS256", headers=header)


def sign(ctx: DevIdPContext, header: dict[str, Any], payload: bytes) -> str:
    """A token with exactly this header and payload, RS256-signed by the server's key."""
    _, key = ctx.store.keys.signing_key()
    signing_input = f"{b64json(header)}.{b64(payload)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def test_a_good_token_passes(ctx: DevIdPContext) -> None:
    token = mint(ctx)
    assert check_token(ctx, token, API) == good_claims()
    listed = mint(ctx, good_claims(aud=["https://other.example.com", API]))
    assert check_token(ctx, listed, API)["aud"] == ["https://other.example.com", API]


def _public_pem(ctx: DevIdPContext) -> bytes:
    _, key = ctx.store.keys.signing_key()
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


# (name, build(ctx) -> token, expected exception type)
Case = tuple[str, Callable[[DevIdPContext], Any], type[InvalidToken]]

CORPUS: list[Case] = [
    ("empty", lambda c: "", TokenMalformed),
    ("not a string", lambda c: None, TokenMalformed),
    ("garbage", lambda c: "garbage", TokenMalformed),
    ("two parts", lambda c: "a.b", TokenMalformed),
    ("four parts", lambda c: mint(c) + ".x", TokenMalformed),
    ("not base64 JSON", lambda c: "a.b.c", TokenMalformed),
    ("oversized", lambda c: "x" * 20_000, TokenMalformed),
    ("non-ASCII", lambda c: "é.é.é", TokenMalformed),
    ("header is a JSON array", lambda c: f"{b64json([1])}.{b64json(good_claims())}.",
     TokenMalformed),
    ("header not JSON", lambda c: f"{b64('nope')}.{b64json(good_claims())}.x", TokenMalformed),
    ("payload is a JSON array",
     lambda c: sign(c, {"alg": "RS256", "kid": _kid(c)}, b"[1, 2]"), TokenMalformed),
    ("payload not JSON", lambda c: sign(c, {"alg": "RS256", "kid": _kid(c)}, b"{"),
     TokenMalformed),
    ("crit header", lambda c: mint(c, crit=["exp"]), TokenMalformed),
    ("b64 header", lambda c: sign(c, {"alg": "RS256", "kid": _kid(c), "b64": False},
                                  json.dumps(good_claims()).encode()), TokenMalformed),
    ("exp not a number", lambda c: mint(c, good_claims(exp="tomorrow")), TokenMalformed),
    ("exp a boolean", lambda c: mint(c, good_claims(exp=True)), TokenMalformed),
    ("kid not a string", lambda c: sign(c, {"alg": "RS256", "kid": 7},
                                        json.dumps(good_claims()).encode()), TokenMalformed),
    ("alg none", lambda c: unsigned({"alg": "none", "kid": _kid(c)}, good_claims()),
     TokenAlgorithmRefused),
    ("alg NONE", lambda c: unsigned({"alg": "NONE", "kid": _kid(c)}, good_claims(), "AAAA"),
     TokenAlgorithmRefused),
    ("no alg", lambda c: unsigned({"kid": _kid(c)}, good_claims(), "AAAA"), TokenAlgorithmRefused),
    ("HS256 keyed with the public key",
     lambda c: hs256_with(_public_pem(c), {"alg": "HS256", "kid": _kid(c)}, good_claims()),
     TokenAlgorithmRefused),
    ("HS256 keyed with the kid",
     lambda c: hs256_with(_kid(c).encode(), {"alg": "HS256", "kid": _kid(c)}, good_claims()),
     TokenAlgorithmRefused),
    ("RS512 with the right key", lambda c: _with_alg(c, "RS512"), TokenAlgorithmRefused),
    ("PS256 with the right key", lambda c: _with_alg(c, "PS256"), TokenAlgorithmRefused),
    ("ES256", lambda c: jwt.encode(good_claims(), ec.generate_private_key(ec.SECP256R1()),
                                   "ES256", headers={"kid": _kid(c)}),
     TokenAlgorithmRefused),
    ("no kid", lambda c: mint(c, kid=None), TokenKeyUnknown),
    ("empty kid", lambda c: mint(c, kid=""), TokenKeyUnknown),
    ("unknown kid", lambda c: mint(c, kid="no-such-key"), TokenKeyUnknown),
    ("another key under our kid", lambda c: jwt.encode(
        good_claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256",
        headers={"kid": _kid(c)}), TokenSignatureInvalid),
    ("payload swapped", lambda c: _swap_payload(c), TokenSignatureInvalid),
    ("signature altered", lambda c: _alter_signature(mint(c)), TokenSignatureInvalid),
    ("signature stripped", lambda c: mint(c).rsplit(".", 1)[0] + ".", TokenSignatureInvalid),
    ("expired", lambda c: mint(c, good_claims(exp=int(NOW - LEEWAY - 1))), TokenExpired),
    ("expired at the leeway's edge", lambda c: mint(c, good_claims(exp=int(NOW - LEEWAY))),
     TokenExpired),
    ("nbf in the future", lambda c: mint(c, good_claims(nbf=int(NOW + LEEWAY + 1))),
     TokenNotYetValid),
    ("iat in the future", lambda c: mint(c, good_claims(iat=int(NOW + LEEWAY + 1))),
     TokenNotYetValid),
    ("another issuer", lambda c: mint(c, good_claims(iss="https://evil.example.com/")),
     TokenIssuerInvalid),
    ("issuer without its slash", lambda c: mint(c, good_claims(iss=BASE.rstrip("/"))),
     TokenIssuerInvalid),
    ("issuer not a string", lambda c: sign(c, {"alg": "RS256", "kid": _kid(c)},
                                           json.dumps(good_claims(iss=1)).encode()),
     TokenIssuerInvalid),
    ("another audience", lambda c: mint(c, good_claims(aud="https://other.example.com")),
     TokenAudienceInvalid),
    ("the Management API's audience", lambda c: mint(c, good_claims(aud=BASE + "api/v2/")),
     TokenAudienceInvalid),
    ("audience list without ours", lambda c: mint(c, good_claims(aud=["https://a.example"])),
     TokenAudienceInvalid),
    ("audience not a string", lambda c: mint(c, good_claims(aud=7)), TokenAudienceInvalid),
    *(
        (f"no {claim}", (lambda n: lambda c: mint(c, good_claims(**{n: None})))(claim),
         TokenClaimMissing)
        for claim in ("iss", "aud", "exp", "iat", "sub")
    ),
]  # fmt: skip


def _kid(ctx: DevIdPContext) -> str:
    return ctx.store.keys.signing_key()[0]


def _with_alg(ctx: DevIdPContext, alg: str) -> str:
    kid, key = ctx.store.keys.signing_key()
    return jwt.encode(good_claims(), key, alg, headers={"kid": kid})


def _swap_payload(ctx: DevIdPContext) -> str:
    header, _, signature = mint(ctx).split(".")
    return f"{header}.{b64json(good_claims(scope='admin'))}.{signature}"


def _alter_signature(token: str) -> str:
    body, signature = token.rsplit(".", 1)
    flipped = "B" if signature[10] == "A" else "A"
    return f"{body}.{signature[:10]}{flipped}{signature[11:]}"


@pytest.mark.robustness("hostile input: tokens at the dev IdP's own check")
@pytest.mark.parametrize(("build", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_every_bad_token_is_one_typed_refusal(
    ctx: DevIdPContext, build: Callable[[DevIdPContext], Any], expected: type[InvalidToken]
) -> None:
    token = build(ctx)
    with pytest.raises(InvalidToken) as caught:
        check_token(ctx, token, API)
    assert type(caught.value) is expected, (type(caught.value).__name__, str(caught.value))
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 200
    if isinstance(token, str) and len(token) > 8:
        for part in token.split("."):
            assert len(part) < 8 or part not in message


def test_a_missing_claim_is_named(ctx: DevIdPContext) -> None:
    with pytest.raises(TokenClaimMissing) as caught:
        check_token(ctx, mint(ctx, good_claims(sub=None)), API)
    assert caught.value.claim == "sub"


def test_times_are_judged_against_the_servers_clock_with_leeway(
    ctx: DevIdPContext, clock: Clock
) -> None:
    token = mint(ctx, good_claims(exp=int(NOW) + 60, nbf=int(NOW) + 20, iat=int(NOW) + 20))
    assert check_token(ctx, token, API)  # nbf and iat inside the leeway
    clock.advance(60 + LEEWAY - 1)
    assert check_token(ctx, token, API)  # expired, but inside the leeway
    clock.advance(1)
    with pytest.raises(TokenExpired):
        check_token(ctx, token, API)


def test_a_retired_key_counts_for_the_grace_period_only(ctx: DevIdPContext, clock: Clock) -> None:
    old = mint(ctx, good_claims(exp=int(NOW) + 10 * 86400))
    clock.advance(10)
    ctx.rotate_keys()
    new = mint(ctx, good_claims(exp=int(NOW) + 10 * 86400))
    assert jwt.get_unverified_header(old)["kid"] != jwt.get_unverified_header(new)["kid"]
    assert check_token(ctx, old, API) and check_token(ctx, new, API)
    clock.advance(ctx.tenant.key_grace)
    assert check_token(ctx, old, API)  # retired exactly key_grace ago: still published
    clock.advance(1)
    with pytest.raises(TokenKeyUnknown):
        check_token(ctx, old, API)
    assert check_token(ctx, new, API)
    assert [k["kid"] for k in ctx.jwks()["keys"]] == [jwt.get_unverified_header(new)["kid"]]


@pytest.mark.robustness("hostile input: tokens at the dev IdP's own check")
def test_over_http_a_retired_key_stops_verifying_the_moment_its_grace_ends(
    tmp_path: Path,
) -> None:
    # No key cache anywhere in the server: the JWKS, the protected API and the Management API
    # drop the retired key at the same instant, however recently they last used it.
    clock = Clock(NOW)
    tenant = dataclasses.replace(demo_tenant(), key_grace_seconds=600)
    with (
        start_dev_idp(tenant, db=tmp_path / "idp.db", env=ENV, clock=clock) as idp,
        httpx.Client(base_url=idp.base_url, timeout=10) as http,
    ):
        idp.set_rate_limit(1_000_000, 1.0)  # the clock barely moves: one window for all
        agent, mgmt = agent_token(idp), mgmt_token(idp)
        kid = jwt.get_unverified_header(agent)["kid"]

        def answers() -> tuple[int, int, bool]:
            whoami = http.get("api/protected/whoami", headers=bearer(agent))
            users = http.get("api/v2/users-by-email?email=a@example.com", headers=bearer(mgmt))
            published = [k["kid"] for k in http.get(".well-known/jwks.json").json()["keys"]]
            return whoami.status_code, users.status_code, kid in published

        clock.advance(10)
        idp.rotate_keys()
        assert answers() == (200, 200, True)
        clock.advance(600)  # the last instant of the grace
        assert answers() == (200, 200, True)
        clock.advance(0.001)
        assert answers() == (401, 401, False)


def test_a_key_from_another_database_is_unknown(ctx: DevIdPContext, tmp_path: Path) -> None:
    other = Store.open(tmp_path / "other.db")
    try:
        other.keys.ensure_active(NOW)
        kid, key = other.keys.signing_key()
    finally:
        other.close()
    with pytest.raises(TokenKeyUnknown):
        check_token(ctx, jwt.encode(good_claims(), key, "RS256", headers={"kid": kid}), API)
