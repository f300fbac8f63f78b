"""vault.keypair: RFC 7638 thumbprints, the public half's forms, private keys opened in memory."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from vaultborn.core.errors import UsageError
from vaultborn.vault.keypair import (
    KeyKind,
    PublicKey,
    generate_key,
    jwk_thumbprint,
    open_private_key,
)
from vaultborn.vault.secret import Secret

# RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKR"
    "XjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicA"
    "taSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3X"
    "PksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_KID = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_the_thumbprint_is_rfc_7638s() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == RFC7638_KID


def test_the_thumbprint_refuses_what_is_not_a_public_rsa_or_ec_jwk() -> None:
    with pytest.raises(UsageError, match=r"RSA \(e, n\) or EC"):
        jwk_thumbprint({"kty": "oct", "k": "c2VjcmV0"})


@pytest.mark.parametrize("kind", list(KeyKind))
def test_a_generated_key_shows_the_same_kid_in_every_form(kind: KeyKind) -> None:
    made = generate_key(kind)
    assert made.private_pem.reveal().startswith("-----BEGIN PRIVATE KEY-----")
    assert made.private_pem.reveal() not in repr(made)
    public = made.public
    again = PublicKey.from_openssh(public.openssh + " a comment")
    assert again == public and again.kid == public.kid == jwk_thumbprint(public.jwk())
    loaded = serialization.load_pem_public_key(public.pem().encode())
    assert PublicKey.of(loaded) == public
    _, derived = open_private_key(made.private_pem)
    assert derived == public and public.algorithm == kind.algorithm


def test_kinds_parse_by_their_names_and_algorithms() -> None:
    assert KeyKind.parse(" RSA ") is KeyKind.RSA and KeyKind.parse("ES256") is KeyKind.P256
    with pytest.raises(UsageError, match="choose rsa or p256"):
        KeyKind.parse("ed448")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not a key CANARY-7f3a", "does not hold an unencrypted private key"),
        # A weak key on purpose: it must be refused.
        (_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "at least 2048"),  # noqa: S505
        (_pem(ed25519.Ed25519PrivateKey.generate()), "neither an RSA nor a P-256 key"),
        (_pem(ec.generate_private_key(ec.SECP384R1())), "RSA and EC P-256"),
    ],
    ids=["garbage", "short-rsa", "ed25519", "p384"],
)
def test_an_unusable_private_key_is_one_line_without_the_value(value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as err:
        open_private_key(Secret(value, label="op://ACL/k/private key"))
    text = str(err.value)
    assert "\n" not in text and "CANARY" not in text and "PRIVATE KEY-----" not in text


def test_an_encrypted_private_key_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()
    with pytest.raises(UsageError, match="unencrypted"):
        open_private_key(Secret(pem))


def test_an_openssh_private_key_opens_too() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    text = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    _, public = open_private_key(Secret(text))
    assert public == PublicKey.of(key.public_key())
