"""Key pairs born in the vault: generation, and the public half as OpenSSH text and as a JWK.

An SSH Key item (op's output category ``SSH_KEY``, field type ``SSHKEY``: credentials.md §1.4,
§1.6) keeps its private key in a concealed ``private key`` field, PKCS#8 PEM, and its public
half beside it in the clear: ``public key`` (OpenSSH text) and ``fingerprint``
(``SHA256:…``, as ``ssh-keygen -l`` prints it). Two kinds, both accepted for client
assertions by Auth0 (RS256), panva's oidc-provider and the dev IdP:

- ``rsa``: RSA 2048, signing RS256 (RFC 7518 §3.3; 1Password's SSH keys can be RSA too);
- ``p256``: ECDSA on P-256, signing ES256 (RFC 7518 §3.4).

The public JWK carries ``kid`` = its RFC 7638 thumbprint (SHA-256, base64url), so the same key
has the same ``kid`` wherever it is computed: in the vault, in a signer, at the IdP.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias

from vaultborn.core.errors import UsageError
from vaultborn.vault.secret import Secret

# cryptography is imported where a key is made or read: every vault command imports this
# module (the protocol names PublicKey), and most never touch a key (25 ms of each start).
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = [
    "GeneratedKey",
    "KeyKind",
    "PrivateKey",
    "PublicKey",
    "generate_key",
    "jwk_thumbprint",
    "open_private_key",
]

PrivateKey: TypeAlias = "rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey"
"""A private key in memory, as a signer holds it for one signature."""
_RSA_BITS = 2048
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}


class KeyKind(StrEnum):
    """The key pairs a vault generates."""

    RSA = "rsa"
    P256 = "p256"

    @classmethod
    def parse(cls, text: str) -> KeyKind:
        """``rsa`` or ``p256`` (case-insensitive; ``ecdsa``/``es256``/``rs256`` too)."""
        key = text.strip().lower()
        aliases = {"rsa": cls.RSA, "rs256": cls.RSA, "p256": cls.P256, "p-256": cls.P256}
        aliases |= {"ecdsa": cls.P256, "es256": cls.P256}
        if key not in aliases:
            raise UsageError(f"unknown key type {text!r} (choose rsa or p256)")
        return aliases[key]

    @property
    def algorithm(self) -> str:
        """The JWS algorithm this kind signs with."""
        return "RS256" if self is KeyKind.RSA else "ES256"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _uint(value: int, size: int | None = None) -> str:
    length = size if size is not None else (value.bit_length() + 7) // 8
    return _b64url(value.to_bytes(length, "big"))


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of a public RSA or EC JWK (SHA-256, base64url, no padding).

    Raises:
        UsageError: The JWK is not an RSA or EC key with its required members.
    """
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise UsageError("a public JWK must be an RSA (e, n) or EC (crv, x, y) key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True)
class PublicKey:
    """The public half of a vault key pair: safe to print, store and send anywhere."""

    openssh: str
    """The key as OpenSSH writes it (``ssh-rsa AAAA…`` or ``ecdsa-sha2-nistp256 AAAA…``)."""

    @classmethod
    def from_openssh(cls, text: str) -> PublicKey:
        """Read an OpenSSH public key line (a trailing comment is dropped).

        Raises:
            UsageError: The text is not an RSA or P-256 OpenSSH public key.
        """
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization

        try:
            key = serialization.load_ssh_public_key(text.strip().encode("ascii"))
        except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
            raise UsageError("the public key is not an OpenSSH public key") from None
        return cls.of(key)

    @classmethod
    def of(cls, key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | Any) -> PublicKey:
        """The public key of a cryptography key object.

        Raises:
            UsageError: The key is neither RSA nor EC P-256.
        """
        from cryptography.hazmat.primitives import serialization

        _kind_of(key)
        text = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return cls(text.decode("ascii"))

    def key(self) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
        """The key as a cryptography object (for verifying)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        loaded = serialization.load_ssh_public_key(self.openssh.encode("ascii"))
        if not isinstance(loaded, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise UsageError("the public key is neither RSA nor EC")
        return loaded

    @property
    def kind(self) -> KeyKind:
        """``rsa`` or ``p256``."""
        return _kind_of(self.key())

    @property
    def algorithm(self) -> str:
        """The JWS algorithm the key signs with (``RS256`` or ``ES256``)."""
        return self.kind.algorithm

    def jwk(self) -> dict[str, str]:
        """The public JWK with ``kid`` (RFC 7638 thumbprint), ``use: sig`` and ``alg``."""
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = self.key()
        core: dict[str, str]
        if isinstance(key, rsa.RSAPublicKey):
            numbers = key.public_numbers()
            core = {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
        else:
            point = key.public_numbers()
            core = {"kty": "EC", "crv": "P-256", "x": _uint(point.x, 32), "y": _uint(point.y, 32)}
        return {**core, "kid": jwk_thumbprint(core), "use": "sig", "alg": self.algorithm}

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of the key."""
        return self.jwk()["kid"]

    @property
    def fingerprint(self) -> str:
        """OpenSSH's SHA-256 fingerprint, ``SHA256:<base64 without padding>``."""
        blob = base64.b64decode(self.openssh.split()[1])
        digest = base64.b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode("ascii")
        return f"SHA256:{digest}"

    def pem(self) -> str:
        """The key as a PEM SubjectPublicKeyInfo (``-----BEGIN PUBLIC KEY-----``)."""
        from cryptography.hazmat.primitives import serialization

        raw = self.key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return raw.decode("ascii")


@dataclass(frozen=True)
class GeneratedKey:
    """A fresh key pair: the private half as a ``Secret`` (PKCS#8 PEM), the public half."""

    private_pem: Secret
    public: PublicKey


def generate_key(kind: KeyKind) -> GeneratedKey:
    """A new key pair of ``kind``, made here, inside the vault."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key: PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
        if kind is KeyKind.RSA
        else ec.generate_private_key(ec.SECP256R1())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return GeneratedKey(Secret(pem, label="private key"), PublicKey.of(key.public_key()))


def open_private_key(value: Secret) -> tuple[PrivateKey, PublicKey]:
    """The private key a vault field holds (PKCS#8/PKCS#1/SEC1 PEM or OpenSSH), in memory.

    The caller signs with it and drops it; it is never written anywhere.

    Raises:
        UsageError: The value is not an unencrypted RSA or P-256 private key (the message
            never quotes it).
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    raw = value.reveal().strip().encode("utf-8")
    try:
        if raw.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
            loaded: Any = serialization.load_ssh_private_key(raw, password=None)
        else:
            loaded = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UsageError(
            f"{value.label or 'the field'} does not hold an unencrypted private key (PEM)"
        ) from None
    finally:
        del raw
    if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UsageError(f"{value.label or 'the key'} is neither an RSA nor a P-256 key")
    return loaded, PublicKey.of(loaded.public_key())


def _kind_of(key: Any) -> KeyKind:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < _RSA_BITS:
            raise UsageError(f"an RSA key needs at least {_RSA_BITS} bits, not {key.key_size}")
        return KeyKind.RSA
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return KeyKind.P256
    raise UsageError("only RSA and EC P-256 keys sign client assertions here")
