"""M2M clients and their grants, with salted secret hashes only.

A client is declared in the tenant (re-synced at each start, so a rotated secret takes effect on
restart; its grants only when the tenant's declaration of them changed, so a revocation through
the Management API outlives a restart) or created through the Management API with a secret its
caller brought from the vault. A client that authenticates by key (``idp.devserver.client_keys``)
has no secret: its hash is empty, which never verifies.
Audiences are stored as given, except that this server's Management API is stored as the
literal ``"management"``: the base URL changes with the port, the grant must not.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from vaultborn.idp.devserver.db import (
    Database,
    client_credentials,
    client_grants,
    clients,
    tenant_declarations,
)
from vaultborn.idp.devserver.hashing import CLIENT_COST, dummy_verify, hash_secret, verify_secret
from vaultborn.idp.devserver.records import ClientRecord, GrantRecord
from vaultborn.idp.errors import IdPConflict, IdPNotFound
from vaultborn.vault.secret import Secret

__all__ = ["Clients", "new_client_id"]

_ALPHANUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_client_id() -> str:
    """A random client id in Auth0's shape (32 letters and digits)."""
    return "".join(secrets.choice(_ALPHANUM) for _ in range(32))


def _record(row: Any, key_credentials: Iterable[str] = ()) -> ClientRecord:
    return ClientRecord(
        client_id=row.client_id,
        name=row.name,
        app_type=row.app_type,
        claims=json.loads(row.claims),
        source=row.source,
        created_at=row.created_at,
        key_credentials=tuple(key_credentials),
    )


def _enabled_credentials(conn: Connection, client_id: str) -> list[str]:
    return list(
        conn.execute(
            select(client_credentials.c.id)
            .where(
                client_credentials.c.client_id == client_id,
                client_credentials.c.enabled.is_(True),
            )
            .order_by(client_credentials.c.created_at)
        ).scalars()
    )


def _grant(row: Any) -> GrantRecord:
    return GrantRecord(row.id, row.client_id, row.audience, tuple(json.loads(row.scopes)))


class Clients:
    """The ``clients`` and ``client_grants`` tables.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def sync_tenant_client(
        self,
        client_id: str,
        *,
        name: str,
        secret: Secret | None,
        audiences: Iterable[str],
        scopes: Iterable[str],
        claims: Mapping[str, Any],
        now: float,
    ) -> bool:
        """Create or update a tenant-declared client; False if it stays deleted.

        Its secret, name and claims are the tenant's at every start. Its grants become the
        tenant's when the tenant's declaration of them is new or changed; otherwise what the
        Management API did since (grants deleted, the client deleted: a revocation) stands,
        and a client deleted through the API is not brought back. A client without
        ``secret`` authenticates by its key only.
        """
        secret_hash = hash_secret(secret, CLIENT_COST) if secret is not None else ""
        values = {
            "name": name,
            "app_type": "non_interactive",
            "secret_hash": secret_hash,
            "claims": json.dumps(dict(claims)),
            "source": "tenant",
        }
        declared = json.dumps({"audiences": list(audiences), "scopes": list(scopes)})
        with self._db.transaction(write=True) as conn:
            exists = conn.execute(
                select(clients.c.client_id).where(clients.c.client_id == client_id)
            ).first()
            before = conn.execute(
                select(tenant_declarations.c.declared).where(
                    tenant_declarations.c.client_id == client_id
                )
            ).scalar()
            unchanged = before == declared
            if unchanged and not exists:
                return False  # deleted through the Management API since the last start
            if exists:
                conn.execute(update(clients).where(clients.c.client_id == client_id).values(values))
            else:
                conn.execute(insert(clients).values(client_id=client_id, created_at=now, **values))
            if unchanged:
                return True
            conn.execute(delete(client_grants).where(client_grants.c.client_id == client_id))
            for audience in json.loads(declared)["audiences"]:
                self._insert_grant(conn, client_id, audience, json.loads(declared)["scopes"])
            conn.execute(
                delete(tenant_declarations).where(tenant_declarations.c.client_id == client_id)
            )
            conn.execute(insert(tenant_declarations).values(client_id=client_id, declared=declared))
        return True

    def drop_tenant_clients_except(self, keep: Iterable[str]) -> None:
        """Delete tenant-declared clients not in ``keep`` (removed from the tenant file)."""
        kept = list(keep)
        with self._db.transaction(write=True) as conn:
            conn.execute(
                delete(clients).where(
                    clients.c.source == "tenant", clients.c.client_id.not_in(kept)
                )
            )
            conn.execute(
                delete(tenant_declarations).where(tenant_declarations.c.client_id.not_in(kept))
            )

    def create(
        self, *, name: str, app_type: str, secret: Secret, now: float, client_id: str | None = None
    ) -> ClientRecord:
        """Create a client through the API (a random id unless one is given).

        Raises:
            IdPConflict: A client with that id exists.
        """
        client_id = client_id or new_client_id()
        secret_hash = hash_secret(secret, CLIENT_COST)
        with self._db.transaction(write=True) as conn:
            if conn.execute(
                select(clients.c.client_id).where(clients.c.client_id == client_id)
            ).first():
                raise IdPConflict(
                    "A client with this client_id already exists.", status=409, error="conflict"
                )
            conn.execute(
                insert(clients).values(
                    client_id=client_id,
                    name=name,
                    app_type=app_type,
                    secret_hash=secret_hash,
                    claims="{}",
                    source="api",
                    created_at=now,
                )
            )
        found = self.get(client_id)
        assert found is not None  # noqa: S101 - inserted just above
        return found

    def get(self, client_id: str) -> ClientRecord | None:
        """The client, or None."""
        with self._db.transaction() as conn:
            row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
            keys = _enabled_credentials(conn, client_id) if row is not None else []
        return None if row is None else _record(row, keys)

    def authenticate(self, client_id: str, secret: Secret) -> ClientRecord | None:
        """The client if ``secret`` is its secret; None otherwise (in about the same time)."""
        with self._db.transaction() as conn:
            row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
        if row is None or not row.secret_hash:  # unknown, or a client that has a key instead
            dummy_verify(secret)
            return None
        return _record(row) if verify_secret(secret, row.secret_hash) else None

    def grant(self, client_id: str, audience: str) -> GrantRecord | None:
        """The client's grant on ``audience`` (as stored), or None."""
        with self._db.transaction() as conn:
            row = conn.execute(
                select(client_grants).where(
                    client_grants.c.client_id == client_id, client_grants.c.audience == audience
                )
            ).first()
        return None if row is None else _grant(row)

    def create_grant(self, client_id: str, audience: str, scopes: Iterable[str]) -> GrantRecord:
        """Grant ``client_id`` tokens for ``audience`` with ``scopes``.

        Raises:
            IdPNotFound: No such client.
            IdPConflict: The client already has a grant on that audience.
        """
        with self._db.transaction(write=True) as conn:
            if not conn.execute(
                select(clients.c.client_id).where(clients.c.client_id == client_id)
            ).first():
                raise IdPNotFound(
                    "The client does not exist.", status=404, error="inexistent_client"
                )
            taken = conn.execute(
                select(client_grants.c.id).where(
                    client_grants.c.client_id == client_id, client_grants.c.audience == audience
                )
            ).first()
            if taken:
                raise IdPConflict(
                    "A client grant for this client and audience already exists.",
                    status=409,
                    error="conflict",
                )
            grant_id = self._insert_grant(conn, client_id, audience, list(scopes))
        return GrantRecord(grant_id, client_id, audience, tuple(scopes))

    def set_secret(self, client_id: str, secret: Secret) -> bool:
        """Make ``secret`` the client's only secret (a rotation); False if there is no client.

        The same secret again changes nothing. A client that authenticates by key keeps
        doing so: enabling its keys dropped the secret, and only disabling them brings one back.
        """
        with self._db.transaction() as conn:
            row = conn.execute(
                select(clients.c.secret_hash).where(clients.c.client_id == client_id)
            ).first()
        if row is None:
            return False
        if row.secret_hash and verify_secret(secret, row.secret_hash):
            return True
        secret_hash = hash_secret(secret, CLIENT_COST)
        with self._db.transaction(write=True) as conn:
            done = conn.execute(
                update(clients)
                .where(clients.c.client_id == client_id)
                .values(secret_hash=secret_hash)
            )
        return bool(done.rowcount)

    def delete(self, client_id: str) -> bool:
        """Delete a client with its grants and keys; False if there was none."""
        with self._db.transaction(write=True) as conn:
            done = conn.execute(delete(clients).where(clients.c.client_id == client_id))
        return bool(done.rowcount)

    def grants(
        self, *, client_id: str | None = None, audience: str | None = None
    ) -> list[GrantRecord]:
        """Every grant (of ``client_id``, on ``audience`` as stored), in a stable order."""
        query = select(client_grants).order_by(client_grants.c.id)
        if client_id is not None:
            query = query.where(client_grants.c.client_id == client_id)
        if audience is not None:
            query = query.where(client_grants.c.audience == audience)
        with self._db.transaction() as conn:
            return [_grant(row) for row in conn.execute(query).all()]

    def delete_grant(self, grant_id: str) -> bool:
        """Delete one grant; False if there was none."""
        with self._db.transaction(write=True) as conn:
            done = conn.execute(delete(client_grants).where(client_grants.c.id == grant_id))
        return bool(done.rowcount)

    @staticmethod
    def _insert_grant(conn: Connection, client_id: str, audience: str, scopes: list[str]) -> str:
        grant_id = "cgr_" + secrets.token_hex(8)
        conn.execute(
            insert(client_grants).values(
                id=grant_id, client_id=client_id, audience=audience, scopes=json.dumps(scopes)
            )
        )
        return grant_id
