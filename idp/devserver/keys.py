"""RS256 signing keys: the current one signs, retired ones stay published for a grace period.

Keys live in the ``keys`` table, so every server process on the file signs with the same key
and a restart keeps the tokens already issued verifiable. ``rotate`` inserts a new key and
retires the current one: the JWKS then holds both until ``grace`` seconds have passed (a
token signed just before the rotation stays verifiable for its whole life when ``grace`` is
the token lifetime), and keys retired longer ago are deleted.

A ``kid`` is the key's RFC 7638 thumbprint (SHA-256, base64url). ``public_key`` is what the
server's own token check reads (``idp.devserver.token_check``): one key by ``kid``, from the
database, so a rotation by another process on the same file counts at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import delete, insert, or_, select, update

from vaultborn.idp.devserver.db import Database, signing_keys

__all__ = ["KeyRing", "public_jwk"]

KEY_BITS = 2048
CERT_DAYS = 3650
"""Validity of the self-signed certificate published for a key (informational, as Auth0's)."""


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPublicKey) -> dict[str, str]:
    """The public JWK of ``key`` with its thumbprint ``kid``, ``use: sig`` and ``alg: RS256``."""
    numbers = key.public_numbers()
    core = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    canonical = json.dumps(core, separators=(",", ":"), sort_keys=True).encode("ascii")
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**core, "kid": kid, "use": "sig", "alg": "RS256"}


class KeyRing:
    """The signing keys in one dev IdP database.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._parsed: dict[str, rsa.RSAPrivateKey] = {}
        self._lock = threading.Lock()

    def ensure_active(self, now: float) -> str:
        """The current key's ``kid``, creating a first key if there is none."""
        with self._db.transaction(write=True) as conn:
            kid = conn.execute(self._current_kid()).scalar()
            if kid is not None:
                return str(kid)
            return self._insert_new(conn, now)

    def rotate(self, now: float, grace: float) -> str:
        """Make a new key current, retire the old one and drop keys retired before the grace.

        Returns:
            The new key's ``kid``.
        """
        with self._db.transaction(write=True) as conn:
            conn.execute(
                update(signing_keys)
                .where(signing_keys.c.retired_at.is_(None))
                .values(retired_at=now)
            )
            conn.execute(delete(signing_keys).where(signing_keys.c.retired_at < now - grace))
            return self._insert_new(conn, now)

    def signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        """The current ``kid`` and private key (another process may have rotated since)."""
        with self._db.transaction() as conn:
            row = conn.execute(
                select(signing_keys.c.kid, signing_keys.c.private_pem)
                .where(signing_keys.c.retired_at.is_(None))
                .order_by(signing_keys.c.created.desc())
                .limit(1)
            ).first()
        if row is None:
            raise LookupError("the dev IdP database has no current signing key")
        return str(row.kid), self._private(str(row.kid), str(row.private_pem))

    def jwks(self, now: float, grace: float) -> dict[str, Any]:
        """The JWKS document: the current key first, then those retired within ``grace``."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                select(signing_keys.c.kid, signing_keys.c.private_pem)
                .where(
                    or_(
                        signing_keys.c.retired_at.is_(None),
                        signing_keys.c.retired_at >= now - grace,
                    )
                )
                .order_by(signing_keys.c.retired_at.is_not(None), signing_keys.c.created.desc())
            ).all()
        keys = [
            public_jwk(self._private(str(r.kid), str(r.private_pem)).public_key()) for r in rows
        ]
        return {"keys": keys}

    def public_key(self, kid: str, now: float, grace: float) -> rsa.RSAPublicKey | None:
        """The public key ``kid`` if it is current or was retired within ``grace``; else None."""
        with self._db.transaction() as conn:
            row = conn.execute(
                select(signing_keys.c.private_pem).where(
                    signing_keys.c.kid == kid,
                    or_(
                        signing_keys.c.retired_at.is_(None),
                        signing_keys.c.retired_at >= now - grace,
                    ),
                )
            ).first()
        if row is None:
            return None
        return self._private(kid, str(row.private_pem)).public_key()

    def certificate(self, kid: str, common_name: str, now: float) -> str:
        """A self-signed X.509 certificate (PEM) of key ``kid``, as Auth0 publishes with a key.

        Raises:
            LookupError: there is no key ``kid``.
        """
        with self._db.transaction() as conn:
            pem = conn.execute(
                select(signing_keys.c.private_pem).where(signing_keys.c.kid == kid)
            ).scalar()
        if pem is None:
            raise LookupError(f"the dev IdP database has no signing key {kid}")
        key = self._private(kid, str(pem))
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        start = datetime.fromtimestamp(now, tz=UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=CERT_DAYS))
            .sign(key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @staticmethod
    def _current_kid() -> Any:
        return (
            select(signing_keys.c.kid)
            .where(signing_keys.c.retired_at.is_(None))
            .order_by(signing_keys.c.created.desc())
            .limit(1)
        )

    def _insert_new(self, conn: Any, now: float) -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        kid = public_jwk(key.public_key())["kid"]
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        conn.execute(insert(signing_keys).values(kid=kid, private_pem=pem, created=now))
        with self._lock:
            self._parsed[kid] = key
        return kid

    def _private(self, kid: str, pem: str) -> rsa.RSAPrivateKey:
        # Parsing a PEM costs milliseconds (key checks); rows never change, so cache by kid.
        with self._lock:
            key = self._parsed.get(kid)
        if key is None:
            loaded = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise LookupError(f"signing key {kid} is not an RSA key")
            key = loaded
            with self._lock:
                self._parsed[kid] = key
        return key
