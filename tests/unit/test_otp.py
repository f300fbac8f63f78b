from __future__ import annotations

import base64
import hashlib
import hmac

import pyotp
import pytest

from vaultborn.vault.errors import InvalidOtpUri
from vaultborn.vault.otp import (
    OtpParameters,
    build_otpauth_uri,
    normalize_base32,
    parse_otpauth_uri,
    totp_code,
)
from vaultborn.vault.secret import Secret

SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# RFC 6238 Appendix B (reference/credentials.md §4.2).
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), RFC6238)
def test_rfc6238_vectors_through_otpauth_uris(at: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        uri = (
            f"otpauth://totp/RFC:test?secret={_b32(SEEDS[algorithm])}"
            f"&issuer=RFC&algorithm={algorithm}&digits=8&period=30"
        )
        params = parse_otpauth_uri(uri)
        assert totp_code(params, at).reveal() == expected, algorithm


def test_parses_the_key_uri_format_example() -> None:
    uri = (
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
        "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
    )
    p = parse_otpauth_uri(Secret(uri))
    assert (p.issuer, p.account, p.algorithm, p.digits, p.period) == (
        "ACME Co",
        "john.doe@email.com",
        "SHA1",
        6,
        30,
    )
    assert p.seed.reveal() == "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"


def test_defaults_and_label_without_issuer() -> None:
    p = parse_otpauth_uri("otpauth://totp/alice@google.com?secret=JBSWY3DPEHPK3PXP")
    assert (p.issuer, p.account, p.algorithm, p.digits, p.period) == (
        "",
        "alice@google.com",
        "SHA1",
        6,
        30,
    )


def test_build_round_trips_and_matches_pyotp() -> None:
    seed = _b32(SEEDS["SHA1"])
    params = OtpParameters(Secret(seed), issuer="Big Corp", account="a@b.c", digits=8, period=60)
    uri = build_otpauth_uri(params)
    assert parse_otpauth_uri(uri) == params
    assert pyotp.parse_uri(uri.reveal()).at(1_700_000_000) == params.code(1_700_000_000).reveal()


def _hotp(key: bytes, counter: int, digits: int = 6) -> str:
    """RFC 4226, written out independently of pyotp."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return str((int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**digits).zfill(
        digits
    )


@pytest.mark.parametrize("at", [0, 59, 1_700_000_000, 2_000_000_000])
def test_80_bit_seeds_still_give_rfc_codes(at: int) -> None:
    params = parse_otpauth_uri("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP")
    key = base64.b32decode("JBSWY3DPEHPK3PXP")
    assert params.code(at).reveal() == _hotp(key, at // 30)


@pytest.mark.parametrize(
    ("scraped", "normalized"),
    [
        ("jbsw y3dp ehpk 3pxp", "JBSWY3DPEHPK3PXP"),
        ("JBSW-Y3DP-EHPK-3PXP", "JBSWY3DPEHPK3PXP"),
        ("JBSWY3DPEHPK3PXP====", "JBSWY3DPEHPK3PXP"),
        ("  JBSWY3DP\tEHPK3PXP\n", "JBSWY3DPEHPK3PXP"),
    ],
)
def test_normalizes_scraped_seeds(scraped: str, normalized: str) -> None:
    assert normalize_base32(scraped).reveal() == normalized


@pytest.mark.parametrize(
    ("seed", "why"),
    [
        ("", "empty"),
        ("JBSWY3DP", "40 bits; at least 80"),
        ("JBSWY3DPEHPK3PX1", "not base32"),
        ("JBSWY3DPEHPK3PXPA", "impossible base32 length"),
    ],
)
def test_rejects_bad_seeds_without_echoing_them(seed: str, why: str) -> None:
    with pytest.raises(InvalidOtpUri) as err:
        normalize_base32(seed)
    assert why in str(err.value)
    if seed:
        assert seed not in str(err.value)


SEED = "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        (f"https://totp/x?secret={SEED}", "must start with otpauth://totp/"),
        (f"otpauth://hotp/x?secret={SEED}&counter=1", "HOTP"),
        (f"otpauth://foo/x?secret={SEED}", "must start with otpauth://totp/"),
        ("otpauth://totp/x?issuer=X", "no secret="),
        (f"otpauth://totp/x?secret={SEED}&algorithm=MD5", "SHA1, SHA256 or SHA512"),
        (f"otpauth://totp/x?secret={SEED}&digits=4", "digits value '4'"),
        (f"otpauth://totp/x?secret={SEED}&period=0", "period value '0'"),
        (f"otpauth://totp/x?secret={SEED}&period=abc", "period value 'abc'"),
        (f"otpauth://totp/x?secret={SEED}&digits=%C2%B9", "digits value '¹'"),
        (f"otpauth://totp/x?secret={SEED}&secret={SEED}", "repeats"),
        (f"otpauth://totp/x?secret={SEED}&foo=1", "unknown parameter(s): foo"),
        (f"otpauth://totp/A:x?secret={SEED}&issuer=B", "issuer"),
        ("otpauth://totp/x?secret=!!!!!!!!!!!!!!!!", "not base32"),
    ],
)
def test_rejects_bad_uris_with_one_line_and_no_seed(uri: str, why: str) -> None:
    with pytest.raises(InvalidOtpUri) as err:
        parse_otpauth_uri(uri)
    message = str(err.value)
    assert why in message
    assert SEED not in message and "\n" not in message


def test_uri_with_colon_in_account_cannot_be_built() -> None:
    with pytest.raises(InvalidOtpUri):
        build_otpauth_uri(OtpParameters(Secret(SEED), issuer="a:b"))
