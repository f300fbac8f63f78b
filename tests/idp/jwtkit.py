"""Test keys and hand-made JWTs: good ones, and every way a token can be bad."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

NOW = 1_700_000_000.0
ISSUER = "https://tenant.example.com/"
AUDIENCE = "https://api.example.com"


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")))


def claims(**overrides: Any) -> dict[str, Any]:
    """Good M2M claims at NOW; ``name=None`` drops a claim."""
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "agent@clients",
        "aud": AUDIENCE,
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 3600,
        "gty": "client-credentials",
        "scope": "read:whoami",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@dataclass
class Signer:
    """An RSA key with a kid, minting tokens and publishing its JWKS."""

    kid: str = "k1"
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def mint(self, payload: dict[str, Any] | None = None, **headers: Any) -> str:
        hdr = {"kid": self.kid, **headers}
        return jwt.encode(claims() if payload is None else payload, self.key, "RS256", headers=hdr)

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def jwks(*signers: Signer, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"keys": [s.jwk() for s in signers] + (extra or [])}


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    return f"{b64json(header)}.{b64json(payload)}.{signature}"


def hs256_with(secret: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def ec_jwk(kid: str) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    data: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid}
