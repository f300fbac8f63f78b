"""Failed passwords and codes per ticket, e-mail or user, counted in the dev IdP's database.

Past ``MAX_FAILURES`` within ``FAILURE_WINDOW`` the pages refuse with Auth0's "too many
failures" text (429). The count lives in the ``failures`` table, not in one process's memory:
restarting the server, or asking another server process on the same file, gives nobody a fresh
set of guesses at a six-digit code.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, func, insert, select

from vaultborn.idp.devserver.db import Database, failures

__all__ = ["FAILURE_WINDOW", "MAX_FAILURES", "Failures"]

MAX_FAILURES = 5
FAILURE_WINDOW = 300.0
"""Seconds over which failures are counted."""


class Failures:
    """Failed attempts per key (a ticket, an e-mail, a user) within ``FAILURE_WINDOW``.

    Args:
        db: The dev IdP's database.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def key(kind: str, value: str) -> str:
        """A key that does not hold ``value`` itself (ticket ids are bearer credentials)."""
        return kind + ":" + hashlib.sha256(value.encode()).hexdigest()

    def blocked(self, key: str, now: float) -> bool:
        """Whether ``key`` has had ``MAX_FAILURES`` failures within the window."""
        with self._db.transaction() as conn:
            count = conn.execute(
                select(func.count())
                .select_from(failures)
                .where(failures.c.key == key, failures.c.at > now - FAILURE_WINDOW)
            ).scalar_one()
        return int(count) >= MAX_FAILURES

    def record(self, key: str, now: float) -> None:
        """Count one failure for ``key`` (and forget every failure older than the window)."""
        with self._db.transaction(write=True) as conn:
            conn.execute(delete(failures).where(failures.c.at <= now - FAILURE_WINDOW))
            conn.execute(insert(failures).values(key=key, at=now))
