"""Database-connection users: created by the Management API, checked by the login page.

E-mails are stored lower-cased (as Auth0 does for database users) and are unique per
connection; passwords are kept only as scrypt hashes (``PASSWORD_COST``) and are held to
Auth0's default "fair" policy.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, exists, insert, select, update

from vaultborn.idp.devserver.db import Database, authenticators, users
from vaultborn.idp.devserver.hashing import PASSWORD_COST, dummy_verify, hash_secret, verify_secret
from vaultborn.idp.devserver.records import UserRecord
from vaultborn.idp.errors import IdPConflict
from vaultborn.vault.secret import Secret

__all__ = ["MAX_PASSWORD_CHARS", "Users", "password_is_fair"]

MAX_PASSWORD_CHARS = 1024


def password_is_fair(password: Secret) -> bool:
    """Auth0's "fair" policy: at least 8 characters, 3 of lower, upper, digits and specials."""
    value = password.reveal()
    if not 8 <= len(value) <= MAX_PASSWORD_CHARS:
        return False
    classes = (
        any(c.islower() for c in value),
        any(c.isupper() for c in value),
        any(c.isdigit() for c in value),
        any(not c.isalnum() for c in value),
    )
    return sum(classes) >= 3


def _record(row: Any, enrolled: bool) -> UserRecord:
    return UserRecord(
        user_id=row.user_id,
        email=row.email,
        connection=row.connection,
        email_verified=bool(row.email_verified),
        blocked=bool(row.blocked),
        profile=json.loads(row.profile),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_login=row.last_login,
        logins_count=row.logins_count,
        mfa_enrolled=enrolled,
    )


_ENROLLED = (
    exists()
    .where(authenticators.c.user_id == users.c.user_id, authenticators.c.confirmed.is_(True))
    .label("enrolled")
)


class Users:
    """The ``users`` table.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        *,
        email: str,
        connection: str,
        password: Secret,
        now: float,
        email_verified: bool = False,
        blocked: bool = False,
        profile: Mapping[str, Any] | None = None,
    ) -> UserRecord:
        """Create a user with a new ``auth0|<24 hex>`` id.

        Raises:
            IdPConflict: A user with that e-mail exists in that connection.
        """
        email = email.strip().lower()
        password_hash = hash_secret(password, PASSWORD_COST)
        user_id = "auth0|" + secrets.token_hex(12)
        with self._db.transaction(write=True) as conn:
            taken = conn.execute(
                select(users.c.user_id).where(
                    users.c.email == email, users.c.connection == connection
                )
            ).first()
            if taken:
                raise IdPConflict("The user already exists.", status=409, error="auth0_idp_error")
            conn.execute(
                insert(users).values(
                    user_id=user_id,
                    email=email,
                    connection=connection,
                    password_hash=password_hash,
                    email_verified=email_verified,
                    blocked=blocked,
                    profile=json.dumps(dict(profile or {})),
                    created_at=now,
                    updated_at=now,
                    logins_count=0,
                )
            )
        found = self.get(user_id)
        assert found is not None  # noqa: S101 - inserted just above
        return found

    def get(self, user_id: str) -> UserRecord | None:
        """The user, or None."""
        with self._db.transaction() as conn:
            row = conn.execute(select(users, _ENROLLED).where(users.c.user_id == user_id)).first()
        return None if row is None else _record(row, bool(row.enrolled))

    def by_email(self, email: str) -> list[UserRecord]:
        """Users whose stored e-mail is exactly ``email`` (case-sensitive, as Auth0 documents)."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                select(users, _ENROLLED).where(users.c.email == email).order_by(users.c.created_at)
            ).all()
        return [_record(r, bool(r.enrolled)) for r in rows]

    def check_password(
        self, email: str, password: Secret, *, now: float, connection: str | None = None
    ) -> UserRecord | None:
        """The user if ``password`` is theirs and they are not blocked; records the login.

        Takes about the same time whether or not the e-mail exists.
        """
        email = email.strip().lower()
        query = select(users.c.user_id, users.c.password_hash, users.c.blocked).where(
            users.c.email == email
        )
        if connection is not None:
            query = query.where(users.c.connection == connection)
        with self._db.transaction() as conn:
            row = conn.execute(query.order_by(users.c.created_at).limit(1)).first()
        if row is None:
            dummy_verify(password, PASSWORD_COST)
            return None
        if not verify_secret(password, row.password_hash) or row.blocked:
            return None
        with self._db.transaction(write=True) as conn:
            conn.execute(
                update(users)
                .where(users.c.user_id == row.user_id)
                .values(last_login=now, logins_count=users.c.logins_count + 1)
            )
        return self.get(row.user_id)

    def update(
        self,
        user_id: str,
        *,
        now: float,
        password: Secret | None = None,
        blocked: bool | None = None,
    ) -> UserRecord | None:
        """Change a user's password and/or blocked state; None if there is no such user.

        A new password is hashed at once; the old hash is gone (nothing is kept to roll back:
        the vault keeps the previous version).
        """
        values: dict[str, Any] = {"updated_at": now}
        if password is not None:
            values["password_hash"] = hash_secret(password, PASSWORD_COST)
        if blocked is not None:
            values["blocked"] = blocked
        with self._db.transaction(write=True) as conn:
            done = conn.execute(update(users).where(users.c.user_id == user_id).values(values))
        return self.get(user_id) if done.rowcount else None

    def delete(self, user_id: str) -> bool:
        """Delete a user (their authenticators and tickets go with them); False if none."""
        with self._db.transaction(write=True) as conn:
            done = conn.execute(delete(users).where(users.c.user_id == user_id))
        return bool(done.rowcount)
