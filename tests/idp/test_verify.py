"""The bad-token corpus: each bad token gets its one typed error, and nothing else ever escapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.idp.jwtkit import (
    AUDIENCE,
    ISSUER,
    NOW,
    Signer,
    b64,
    b64json,
    claims,
    ec_jwk,
    hs256_with,
    jwks,
    unsigned,
)
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
from vaultborn.idp.verify import CallableJwks, HttpJwks, JwtVerifier, unverified_claims
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("hostile input: tokens")


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("k1")


@pytest.fixture(scope="module")
def other() -> Signer:
    return Signer("k1")  # same kid, different key: a forgery attempt


class CountingJwks:
    """A JWKS function that counts its calls."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document, self.calls = document, 0

    def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        return self.document


def verifier(signer: Signer, clock: Callable[[], float] | None = None, **kw: Any) -> JwtVerifier:
    clock = clock or Clock()
    doc = jwks(signer, extra=[ec_jwk("ec1")])
    keys = CallableJwks(lambda: doc, clock=clock)
    return JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=keys, clock=clock, **kw)


def test_a_good_token_gives_its_claims(signer: Signer) -> None:
    token = signer.mint()
    assert verifier(signer).verify(token) == claims()
    assert verifier(signer).verify(Secret(token))["sub"] == "agent@clients"


def test_audience_may_be_a_list_and_leeway_applies(signer: Signer) -> None:
    v = verifier(signer)
    assert v.verify(signer.mint(claims(aud=["x", AUDIENCE])))["aud"] == ["x", AUDIENCE]
    assert v.verify(signer.mint(claims(exp=int(NOW) - 29)))
    assert v.verify(signer.mint(claims(nbf=int(NOW) + 29)))


def _corpus(signer: Signer, other: Signer) -> dict[str, tuple[str, type[InvalidToken]]]:
    good = claims()
    header = {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    token = signer.mint()
    head, body, sig = token.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    not_utf8 = b64(b"\xff\xfe")
    duplicate = b64('{"alg":"RS256","kid":"k1","alg":"none"}')
    return {
        "alg none": (unsigned({"alg": "none", "kid": "k1"}, good), TokenAlgorithmRefused),
        "alg None": (unsigned({"alg": "None", "kid": "k1"}, good, "x"), TokenAlgorithmRefused),
        "hs256 with the public key": (
            hs256_with(signer.public_pem(), {"alg": "HS256", "kid": "k1"}, good),
            TokenAlgorithmRefused,
        ),
        "alg missing": (unsigned({"kid": "k1"}, good, "x"), TokenAlgorithmRefused),
        "ps256 not allowed": (
            unsigned({**header, "alg": "PS256"}, good, "x"),
            TokenAlgorithmRefused,
        ),
        "key type mismatch": (signer.mint(kid="ec1"), TokenAlgorithmRefused),
        "expired": (signer.mint(claims(exp=int(NOW) - 31)), TokenExpired),
        "future nbf": (signer.mint(claims(nbf=int(NOW) + 31)), TokenNotYetValid),
        "future iat": (signer.mint(claims(iat=int(NOW) + 3600)), TokenNotYetValid),
        "wrong iss": (signer.mint(claims(iss="https://evil.example.com/")), TokenIssuerInvalid),
        "iss without slash": (signer.mint(claims(iss=ISSUER.rstrip("/"))), TokenIssuerInvalid),
        "wrong aud": (signer.mint(claims(aud="https://other.example.com")), TokenAudienceInvalid),
        "aud with slash": (signer.mint(claims(aud=AUDIENCE + "/")), TokenAudienceInvalid),
        "unknown kid": (signer.mint(kid="nope"), TokenKeyUnknown),
        "no kid": (unsigned({"alg": "RS256"}, good, sig), TokenKeyUnknown),
        "tampered signature": (f"{head}.{body}.{flipped}", TokenSignatureInvalid),
        "tampered payload": (f"{head}.{b64json(claims(sub='admin'))}.{sig}", TokenSignatureInvalid),
        "other key, same kid": (other.mint(), TokenSignatureInvalid),
        "garbage": ("garbage", TokenMalformed),
        "empty": ("", TokenMalformed),
        "two parts": (f"{head}.{body}", TokenMalformed),
        "four parts": (f"{token}.x", TokenMalformed),
        "empty signature": (f"{head}.{body}.", TokenSignatureInvalid),
        "not base64": (f"{head}.{body}.!!!", TokenMalformed),
        "non-json header": (f"{b64('not json')}.{body}.{sig}", TokenMalformed),
        "header is a list": (f"{b64json([1])}.{body}.{sig}", TokenMalformed),
        "non-json payload": (f"{head}.{not_utf8}.{sig}", TokenMalformed),
        "duplicate alg": (
            f"{duplicate}.{body}.{sig}",
            TokenMalformed,
        ),
        "crit header": (signer.mint(crit=["exp"]), TokenMalformed),
        "exp is a string": (signer.mint(claims(exp="tomorrow")), TokenMalformed),
        "exp is infinite": (signer.mint(claims(exp=float("inf"))), TokenMalformed),
        "oversized": (signer.mint(claims(pad="x" * 9000)), TokenMalformed),
        "non-ascii": ("é.é.é", TokenMalformed),
    }


CASES = [
    "alg none", "alg None", "hs256 with the public key", "alg missing", "ps256 not allowed",
    "key type mismatch", "expired", "future nbf", "future iat", "wrong iss", "iss without slash",
    "wrong aud", "aud with slash", "unknown kid", "no kid", "tampered signature",
    "tampered payload", "other key, same kid", "garbage", "empty", "two parts", "four parts",
    "empty signature", "not base64", "non-json header", "header is a list", "non-json payload",
    "duplicate alg", "crit header", "exp is a string", "exp is infinite", "oversized", "non-ascii",
]  # fmt: skip


def test_the_case_list_covers_the_corpus(signer: Signer, other: Signer) -> None:
    assert sorted(CASES) == sorted(_corpus(signer, other))


@pytest.mark.parametrize("case", CASES)
def test_each_bad_token_gets_its_one_error(case: str, signer: Signer, other: Signer) -> None:
    token, expected = _corpus(signer, other)[case]
    with pytest.raises(InvalidToken) as caught:
        verifier(signer).verify(token)
    assert type(caught.value) is expected, str(caught.value)
    message = str(caught.value)
    assert "\n" not in message and message
    if len(token) > 8:
        assert token not in message
        assert all(part not in message for part in token.split(".") if len(part) > 8)
    assert caught.value.code == "invalid_token"


@pytest.mark.parametrize("missing", ["iss", "aud", "exp", "iat", "sub"])
def test_each_missing_required_claim_is_named(signer: Signer, missing: str) -> None:
    with pytest.raises(TokenClaimMissing) as caught:
        verifier(signer).verify(signer.mint(claims(**{missing: None})))
    assert caught.value.claim == missing


def test_custom_required_claims(signer: Signer) -> None:
    required = ("iss", "aud", "exp", "iat", "sub", "owner")
    v = verifier(signer, required_claims=required)
    assert v.verify(signer.mint(claims(owner="ops")))["owner"] == "ops"
    with pytest.raises(TokenClaimMissing) as caught:
        v.verify(signer.mint())
    assert caught.value.claim == "owner"


def test_unknown_kid_refreshes_once_then_rate_limited(signer: Signer) -> None:
    clock = Clock()
    fetch = CountingJwks(jwks(signer))
    keys = CallableJwks(fetch, min_refresh_interval=30, clock=clock)
    v = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=keys, clock=clock)
    v.verify(signer.mint())
    assert fetch.calls == 1
    clock.now += 100  # later than the refresh interval, sooner than the ttl
    with pytest.raises(TokenKeyUnknown):
        v.verify(signer.mint(kid="rotated"))
    assert fetch.calls == 2
    for _ in range(5):
        with pytest.raises(TokenKeyUnknown):
            v.verify(signer.mint(kid="rotated"))
    assert fetch.calls == 2
    clock.now += 31
    with pytest.raises(TokenKeyUnknown):
        v.verify(signer.mint(kid="another"))
    assert fetch.calls == 3


def test_a_refresh_finds_a_rotated_key(signer: Signer) -> None:
    clock = Clock()
    new = Signer("k2")
    published = [signer]
    keys = CallableJwks(lambda: jwks(*published), min_refresh_interval=30, clock=clock)
    v = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=keys, clock=clock)
    v.verify(signer.mint())
    published.append(new)
    clock.now += 31
    assert v.verify(new.mint())["sub"] == "agent@clients"


def test_symmetric_and_foreign_keys_in_a_jwks_are_ignored(signer: Signer) -> None:
    secret = b"shared-secret-shared-secret-32by"
    oct_key = {"kty": "oct", "kid": "hs", "k": b64(secret)}
    enc_key = {**Signer("enc").jwk(), "use": "enc"}
    keys = CallableJwks(lambda: jwks(signer, extra=[oct_key, enc_key, {"kid": "junk"}, "x"]))  # type: ignore[list-item]
    v = JwtVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=keys, clock=Clock(), algorithms=["RS256", "HS256"]
    )
    with pytest.raises(TokenKeyUnknown):
        v.verify(hs256_with(secret, {"alg": "HS256", "kid": "hs"}, claims()))
    assert keys.get("enc") is None and keys.get("k1") is not None


def test_a_failing_key_source_means_unknown_key_not_a_crash(signer: Signer) -> None:
    def broken() -> Mapping[str, Any]:
        return {"no": "keys"}

    v = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=CallableJwks(broken), clock=Clock())
    with pytest.raises(TokenKeyUnknown):
        v.verify(signer.mint())


def test_none_is_refused_as_an_allowed_algorithm(signer: Signer) -> None:
    with pytest.raises(ValueError, match="none"):
        verifier(signer, algorithms=["RS256", "none"])


def test_unverified_claims_reads_without_checking(signer: Signer) -> None:
    assert unverified_claims(Signer("zz").mint(claims(exp=1)))["exp"] == 1
    with pytest.raises(TokenMalformed):
        unverified_claims("nope")


@given(st.text(max_size=300))
def test_any_text_gets_an_invalid_token_error(text: str) -> None:
    with pytest.raises(InvalidToken):
        _FUZZ_VERIFIER.verify(text)


_parts = st.from_regex(r"[A-Za-z0-9_-]{0,60}", fullmatch=True)


@given(st.tuples(_parts, _parts, _parts).map(".".join))
def test_any_three_part_string_gets_an_invalid_token_error(text: str) -> None:
    with pytest.raises(InvalidToken):
        _FUZZ_VERIFIER.verify(text)


@given(st.dictionaries(st.text(max_size=5), st.none() | st.integers() | st.text(max_size=5)))
def test_any_header_gets_an_invalid_token_error(header: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken):
        _FUZZ_VERIFIER.verify(unsigned(header, claims(), "c2ln"))


_FUZZ_SIGNER = Signer("k1")
_FUZZ_VERIFIER = JwtVerifier(
    issuer=ISSUER,
    audience=AUDIENCE,
    keys=CallableJwks(lambda: jwks(_FUZZ_SIGNER)),
    clock=Clock(),
)


# -- HttpJwks over a mock transport -------------------------------------------------------------


def test_http_jwks_caches_refreshes_on_ttl_and_keeps_keys_when_the_idp_fails(
    signer: Signer,
) -> None:
    clock = Clock()
    state = {"calls": 0, "fail": False}

    def handler(request: httpx.Request) -> httpx.Response:
        state["calls"] += 1
        assert request.url.path == "/.well-known/jwks.json"
        if state["fail"]:
            return httpx.Response(503, json={"statusCode": 503, "message": "down"})
        return httpx.Response(200, json=jwks(signer))

    client = httpx.Client(transport=httpx.MockTransport(handler))
    keys = HttpJwks(
        "https://tenant.example.com/.well-known/jwks.json", client=client, ttl=300, clock=clock
    )
    v = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, keys=keys, clock=clock)
    for _ in range(3):
        v.verify(signer.mint())
    assert state["calls"] == 1 and keys.fetches == 1
    clock.now += 301
    state["fail"] = True
    assert v.verify(signer.mint(claims(iat=int(clock.now), exp=int(clock.now) + 60)))
    assert keys.fetches == 2 and keys.last_error and "503" in keys.last_error
    assert state["calls"] == 3  # the failed fetch was retried once
