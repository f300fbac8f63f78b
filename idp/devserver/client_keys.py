"""Clients' public keys (Auth0's "client credentials") and the jtis of assertions already used.

A credential is a public key registered for a client, with the JWS algorithm its assertions
must use and a ``kid`` (by default the key's RFC 7638 thumbprint). As in Auth0, a credential
counts for authentication once it is enabled as one of the client's ``private_key_jwt``
credentials; from then on the client's secret is dropped and no longer counts. Keys arrive as
a PEM public key (SPKI or PKCS#1), an X.509 certificate or an OpenSSH public key, and are
stored as a public JWK: this file never holds a private key of a client.

``use_jti`` records an assertion's ``jti`` until the assertion expires; a second use of the
same ``jti`` by the same client within that time is refused (RFC 7523 §3, item 7).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import delete, insert, select, update

from vaultborn.core.errors import UsageError
from vaultborn.idp.devserver.db import Database, client_credentials, clients, used_assertions
from vaultborn.idp.devserver.records import CredentialRecord
from vaultborn.idp.errors import IdPConflict, IdPNotFound
from vaultborn.vault.keypair import PublicKey

__all__ = ["RSA_ALGORITHMS", "ClientKeys", "parse_public_key"]

RSA_ALGORITHMS = ("RS256", "RS384", "PS256")
"""What Auth0 accepts for a public-key credential."""
EC_ALGORITHMS = ("ES256",)
"""A dev IdP extension: P-256 keys (ES256), which oidc-provider accepts too."""
_KID = re.compile(r"[0-9a-zA-Z_-]{10,64}")


def parse_public_key(text: str) -> PublicKey:
    """A public key from PEM (SPKI, PKCS#1 or an X.509 certificate) or OpenSSH text.

    Raises:
        UsageError: It is none of these, or not an RSA (2048 bits or more) or P-256 key.
    """
    raw = text.strip().encode("utf-8", "replace")
    if raw.startswith((b"ssh-", b"ecdsa-")):
        return PublicKey.from_openssh(text)
    try:
        if b"-----BEGIN CERTIFICATE-----" in raw:
            key: Any = x509.load_pem_x509_certificate(raw).public_key()
        else:
            key = serialization.load_pem_public_key(raw)
    except ValueError:
        raise UsageError("not a public key (PEM, X.509 certificate or OpenSSH line)") from None
    return PublicKey.of(key)


def _record(row: Any) -> CredentialRecord:
    return CredentialRecord(
        id=row.id,
        client_id=row.client_id,
        name=row.name,
        kid=row.kid,
        alg=row.alg,
        jwk=json.loads(row.jwk),
        enabled=bool(row.enabled),
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
    )


class ClientKeys:
    """The ``client_credentials`` and ``used_assertions`` tables.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        client_id: str,
        key: PublicKey,
        *,
        now: float,
        alg: str | None = None,
        kid: str | None = None,
        name: str = "",
        expires_at: float | None = None,
        enabled: bool = False,
    ) -> CredentialRecord:
        """Register ``key`` for ``client_id``.

        Raises:
            UsageError: ``alg`` does not fit the key, or ``kid`` is malformed.
            IdPNotFound: No such client.
            IdPConflict: The client already has a credential with that ``kid``.
        """
        algorithm = alg or key.algorithm
        allowed = RSA_ALGORITHMS if key.algorithm == "RS256" else EC_ALGORITHMS
        if algorithm not in allowed:
            raise UsageError(f"alg must be one of {', '.join(allowed)} for this key")
        kid = kid if kid is not None else key.kid
        if not _KID.fullmatch(kid):
            raise UsageError("kid must be 10 to 64 of 0-9 a-z A-Z - _")
        jwk = {**key.jwk(), "kid": kid, "alg": algorithm}
        record = CredentialRecord(
            id="cred_" + secrets.token_hex(11),
            client_id=client_id,
            name=name,
            kid=kid,
            alg=algorithm,
            jwk=jwk,
            enabled=enabled,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
        )
        with self._db.transaction(write=True) as conn:
            _require_client(conn, client_id)
            taken = conn.execute(
                select(client_credentials.c.id).where(
                    client_credentials.c.client_id == client_id, client_credentials.c.kid == kid
                )
            ).first()
            if taken:
                raise IdPConflict(
                    "A credential with this kid already exists for this client.",
                    status=409,
                    error="conflict",
                )
            conn.execute(insert(client_credentials).values(**_row(record)))
            if enabled:
                _drop_secret(conn, client_id)
        return record

    def of_client(self, client_id: str) -> list[CredentialRecord]:
        """Every credential of the client, oldest first.

        Raises:
            IdPNotFound: No such client.
        """
        with self._db.transaction() as conn:
            _require_client(conn, client_id)
            rows = conn.execute(
                select(client_credentials)
                .where(client_credentials.c.client_id == client_id)
                .order_by(client_credentials.c.created_at)
            ).all()
        return [_record(r) for r in rows]

    def enabled(self, client_id: str, now: float) -> list[CredentialRecord]:
        """The client's enabled, unexpired credentials (none for an unknown client)."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                select(client_credentials).where(
                    client_credentials.c.client_id == client_id,
                    client_credentials.c.enabled.is_(True),
                )
            ).all()
        return [r for r in map(_record, rows) if r.expires_at is None or r.expires_at > now]

    def delete(self, client_id: str, credential_id: str) -> None:
        """Remove one credential.

        Raises:
            IdPNotFound: No such client or credential.
        """
        with self._db.transaction(write=True) as conn:
            done = conn.execute(
                delete(client_credentials).where(
                    client_credentials.c.client_id == client_id,
                    client_credentials.c.id == credential_id,
                )
            )
            if not done.rowcount:
                raise IdPNotFound("The credential does not exist.", status=404, error="not_found")

    def enable_only(self, client_id: str, credential_ids: Sequence[str], now: float) -> None:
        """Make exactly these credentials the client's ``private_key_jwt`` ones.

        With at least one, the client's secret is dropped (it authenticates by key only).

        Raises:
            IdPNotFound: No such client, or an id that is not one of its credentials.
        """
        wanted = set(credential_ids)
        with self._db.transaction(write=True) as conn:
            _require_client(conn, client_id)
            owned = set(
                conn.execute(
                    select(client_credentials.c.id).where(
                        client_credentials.c.client_id == client_id
                    )
                ).scalars()
            )
            unknown = sorted(wanted - owned)
            if unknown:
                raise IdPNotFound(
                    f"The credential {unknown[0]} does not exist for this client.",
                    status=404,
                    error="not_found",
                )
            for cred_id in owned:
                conn.execute(
                    update(client_credentials)
                    .where(client_credentials.c.id == cred_id)
                    .values(enabled=cred_id in wanted, updated_at=now)
                )
            if wanted:
                _drop_secret(conn, client_id)

    def replace_tenant_keys(self, client_id: str, keys: Iterable[PublicKey], now: float) -> None:
        """A tenant client's credentials become exactly ``keys``, all enabled."""
        with self._db.transaction(write=True) as conn:
            conn.execute(
                delete(client_credentials).where(client_credentials.c.client_id == client_id)
            )
        for key in keys:
            self.add(client_id, key, now=now, name="tenant", enabled=True)

    def use_jti(self, client_id: str, jti: str, expires: float, now: float) -> bool:
        """Record an assertion's ``jti``; False if the client used it before (a replay)."""
        with self._db.transaction(write=True) as conn:
            conn.execute(delete(used_assertions).where(used_assertions.c.expires < now))
            seen = conn.execute(
                select(used_assertions.c.jti).where(
                    used_assertions.c.client_id == client_id, used_assertions.c.jti == jti
                )
            ).first()
            if seen:
                return False
            conn.execute(
                insert(used_assertions).values(client_id=client_id, jti=jti, expires=expires)
            )
        return True


def _row(record: CredentialRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "client_id": record.client_id,
        "name": record.name,
        "kid": record.kid,
        "alg": record.alg,
        "jwk": json.dumps(record.jwk),
        "enabled": record.enabled,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "expires_at": record.expires_at,
    }


def _require_client(conn: Any, client_id: str) -> None:
    if not conn.execute(
        select(clients.c.client_id).where(clients.c.client_id == client_id)
    ).first():
        raise IdPNotFound("The client does not exist.", status=404, error="inexistent_client")


def _drop_secret(conn: Any, client_id: str) -> None:
    # An empty hash never verifies (hashing.verify_secret fails closed on a malformed one).
    conn.execute(update(clients).where(clients.c.client_id == client_id).values(secret_hash=""))
