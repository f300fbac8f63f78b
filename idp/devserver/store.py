"""The dev IdP's state, one SQLite file: ``Store.open(path)`` and its parts.

- ``store.keys``: signing keys, JWKS and rotation (``idp.devserver.keys``)
- ``store.clients``: M2M clients and grants (``idp.devserver.clients``)
- ``store.client_keys``: clients' public keys and used assertion jtis (``…client_keys``)
- ``store.users``: users and password checks (``idp.devserver.users``)
- ``store.mfa``: enrollment tickets, TOTP authenticators, code checks (``idp.devserver.mfa``)
- ``store.failures``: failed passwords and codes, the lockout (``idp.devserver.failures``)

Everything persists, so a restarted server (or a second process on the same file) sees the
same users and keys, and tokens issued before a restart still verify.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from vaultborn.idp.devserver.client_keys import ClientKeys
from vaultborn.idp.devserver.clients import Clients
from vaultborn.idp.devserver.db import Database
from vaultborn.idp.devserver.failures import Failures
from vaultborn.idp.devserver.keys import KeyRing
from vaultborn.idp.devserver.mfa import Mfa
from vaultborn.idp.devserver.tenant import Tenant
from vaultborn.idp.devserver.users import Users
from vaultborn.vault.keypair import PublicKey
from vaultborn.vault.secret import Secret

__all__ = ["Store"]


class Store:
    """The dev IdP's tables, grouped by concern.

    Args:
        db: The open database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.keys = KeyRing(db)
        self.clients = Clients(db)
        self.client_keys = ClientKeys(db)
        self.users = Users(db)
        self.mfa = Mfa(db)
        self.failures = Failures(db)

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (or create, mode 0600) the database at ``path``."""
        return cls(Database(path))

    def close(self) -> None:
        """Release the database connections."""
        self.db.close()

    def sync_tenant(
        self,
        tenant: Tenant,
        secrets: Mapping[str, Secret],
        *,
        now: float,
        audience_key: Callable[[str], str],
        keys: Mapping[str, PublicKey] | None = None,
    ) -> None:
        """Write the tenant's clients (hashing their secrets) and make sure a key exists.

        Args:
            tenant: The tenant.
            secrets: Each secret client's secret by client id.
            now: UNIX time now.
            audience_key: Maps an audience to its stored form (``"management"``).
            keys: Each key client's public key by client id (its only credential).
        """
        keys = keys or {}
        self.keys.ensure_active(now)
        # A client removed from the tenant file must not keep getting tokens after a restart.
        self.clients.drop_tenant_clients_except(c.client_id for c in tenant.clients)
        for client in tenant.clients:
            kept = self.clients.sync_tenant_client(
                client.client_id,
                name=client.name or client.client_id,
                secret=secrets.get(client.client_id),
                audiences=[audience_key(a) for a in client.audiences],
                scopes=client.scopes,
                claims=client.claims,
                now=now,
            )
            if not kept:
                continue  # revoked through the Management API: it stays deleted
            key = keys.get(client.client_id)
            self.client_keys.replace_tenant_keys(client.client_id, [key] if key else [], now)
