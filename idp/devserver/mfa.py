"""Guardian enrollment tickets, TOTP authenticators, and code checks that refuse a replay.

A ticket id is a bearer credential (it is in the ticket URL), so only its SHA-256 is stored.
A code is accepted within one time step either side of now, and each (authenticator, time
step) is accepted once: the check and the record of use are one write transaction, so two
processes cannot both accept the same code.

No ticket is left open for nothing: one whose pending authenticator is removed is used up with
it, and a user's single-enrollment tickets are used up once the user is enrolled (they could
never enroll anything again).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import os
import secrets
from typing import Any

from sqlalchemy import delete, insert, select, update

from vaultborn.idp.devserver.db import (
    Database,
    authenticators,
    ticket_authenticators,
    tickets,
    used_codes,
    users,
)
from vaultborn.idp.devserver.records import AuthenticatorRecord, TicketRecord
from vaultborn.idp.errors import IdPConflict, IdPNotFound
from vaultborn.vault.otp import OtpParameters
from vaultborn.vault.secret import Secret

__all__ = ["PERIOD", "WINDOW", "Mfa", "new_seed"]

PERIOD = 30
"""Seconds per TOTP time step."""
WINDOW = 1
"""Time steps accepted either side of now."""


def new_seed() -> Secret:
    """A new 160-bit base32 TOTP seed (the size RFC 4226 recommends)."""
    return Secret(base64.b32encode(os.urandom(20)).decode("ascii"), label="TOTP seed")


def _ticket_hash(ticket_id: str) -> str:
    return hashlib.sha256(ticket_id.encode("utf-8")).hexdigest()


def _authenticator(row: Any) -> AuthenticatorRecord:
    return AuthenticatorRecord(
        id=row.id,
        user_id=row.user_id,
        type=row.type,
        seed=Secret(row.secret, label="TOTP seed"),
        confirmed=bool(row.confirmed),
        created_at=row.created_at,
        name=row.name,
    )


class Mfa:
    """The ``tickets``, ``authenticators`` and ``used_codes`` tables.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def create_ticket(
        self, user_id: str, *, now: float, lifetime: float, allow_multiple: bool = False
    ) -> str:
        """A new enrollment ticket id for ``user_id``.

        Raises:
            IdPNotFound: No such user.
        """
        ticket_id = secrets.token_urlsafe(24)
        with self._db.transaction(write=True) as conn:
            if not conn.execute(select(users.c.user_id).where(users.c.user_id == user_id)).first():
                raise IdPNotFound("The user does not exist.", status=404, error="inexistent_user")
            conn.execute(
                insert(tickets).values(
                    ticket_hash=_ticket_hash(ticket_id),
                    user_id=user_id,
                    created=now,
                    expires=now + lifetime,
                    allow_multiple=allow_multiple,
                )
            )
        return ticket_id

    def ticket(self, ticket_id: str) -> TicketRecord | None:
        """The ticket (used or expired ones too; see ``TicketRecord.usable``), or None."""
        with self._db.transaction() as conn:
            row = conn.execute(
                select(tickets).where(tickets.c.ticket_hash == _ticket_hash(ticket_id))
            ).first()
        if row is None:
            return None
        return TicketRecord(
            row.user_id, row.created, row.expires, row.used, bool(row.allow_multiple)
        )

    def use_ticket(self, ticket_id: str, *, now: float) -> bool:
        """Mark the ticket used; False if it was unknown, used already or expired."""
        with self._db.transaction(write=True) as conn:
            result = conn.execute(
                update(tickets)
                .where(
                    tickets.c.ticket_hash == _ticket_hash(ticket_id),
                    tickets.c.used.is_(None),
                    tickets.c.expires > now,
                )
                .values(used=now)
            )
        return result.rowcount == 1

    def add_totp(
        self, user_id: str, seed: Secret, *, now: float, confirmed: bool, name: str = ""
    ) -> AuthenticatorRecord:
        """Register a TOTP authenticator with ``seed`` (confirmed, or awaiting a first code).

        Raises:
            IdPNotFound: No such user.
            IdPConflict: ``confirmed`` and the user already has a confirmed TOTP authenticator.
        """
        auth_id = "totp|dev_" + secrets.token_urlsafe(12)
        with self._db.transaction(write=True) as conn:
            if not conn.execute(select(users.c.user_id).where(users.c.user_id == user_id)).first():
                raise IdPNotFound("The user does not exist.", status=404, error="inexistent_user")
            if confirmed and self._has_confirmed(conn, user_id):
                raise IdPConflict(
                    "The user already has a confirmed totp authentication method.",
                    status=409,
                    error="authentication_method_already_exists",
                )
            conn.execute(
                insert(authenticators).values(
                    id=auth_id,
                    user_id=user_id,
                    type="totp",
                    secret=seed.reveal(),
                    confirmed=confirmed,
                    created_at=now,
                    name=name,
                )
            )
            if confirmed:
                self._spend_single_tickets(conn, user_id, now)
        return AuthenticatorRecord(auth_id, user_id, "totp", seed, confirmed, now, name)

    def authenticators(self, user_id: str) -> list[AuthenticatorRecord]:
        """The user's authenticators, oldest first (ties by id, so pages stay stable)."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                select(authenticators)
                .where(authenticators.c.user_id == user_id)
                .order_by(authenticators.c.created_at, authenticators.c.id)
            ).all()
        return [_authenticator(r) for r in rows]

    def delete_authenticator(
        self, user_id: str, authenticator_id: str, *, now: float | None = None
    ) -> bool:
        """Remove one authenticator; False if the user has none with that id.

        A ticket still pending on it is used up at ``now`` (the removal's time): what it would
        enroll is gone, so its URL enrolls nothing any more.
        """
        mine = (authenticators.c.user_id == user_id, authenticators.c.id == authenticator_id)
        with self._db.transaction(write=True) as conn:
            if conn.execute(select(authenticators.c.id).where(*mine)).first() is None:
                return False
            if now is not None:  # before the delete: the link goes with the authenticator
                pending = select(ticket_authenticators.c.ticket_hash).where(
                    ticket_authenticators.c.authenticator_id == authenticator_id
                )
                conn.execute(
                    update(tickets)
                    .where(tickets.c.ticket_hash.in_(pending), tickets.c.used.is_(None))
                    .values(used=now)
                )
            conn.execute(delete(authenticators).where(*mine))
            conn.execute(
                delete(used_codes).where(used_codes.c.authenticator_id == authenticator_id)
            )
        return True

    def verify_code(
        self, user_id: str, code: Secret, *, now: float, authenticator_id: str | None = None
    ) -> AuthenticatorRecord | None:
        """The authenticator that accepts ``code`` now (±``WINDOW`` steps), or None.

        Without ``authenticator_id`` only confirmed authenticators are tried (a login). With
        it, that one authenticator is tried even if unconfirmed, and a success confirms it
        (the end of an enrollment). A code is accepted at most once.
        """
        with self._db.transaction(write=True) as conn:
            query = select(authenticators).where(authenticators.c.user_id == user_id)
            if authenticator_id is None:
                query = query.where(authenticators.c.confirmed.is_(True))
            else:
                query = query.where(authenticators.c.id == authenticator_id)
            for row in conn.execute(query).all():
                auth = _authenticator(row)
                if self._accept(conn, auth, code, now=now):
                    return dataclasses.replace(auth, confirmed=True)
        return None

    def ticket_totp(self, ticket_id: str, *, now: float) -> AuthenticatorRecord | None:
        """The TOTP authenticator the ticket enrolls: created unconfirmed once, then reused.

        Every call for one ticket returns the same authenticator (so the same seed) until the
        ticket is used, so an enrollment page reloaded after a crash shows the seed it showed
        before. None if the ticket is unknown, used or expired.

        Raises:
            IdPConflict: The user has another confirmed TOTP authenticator and the ticket
                does not allow multiple enrollments.
        """
        digest = _ticket_hash(ticket_id)
        with self._db.transaction(write=True) as conn:
            ticket = self._usable_ticket(conn, digest, now)
            if ticket is None:
                return None
            linked = self._linked(conn, digest)
            self._refuse_second(conn, ticket, linked)
            if linked is not None:
                return linked
            seed = new_seed()
            auth_id = "totp|dev_" + secrets.token_urlsafe(12)
            conn.execute(
                insert(authenticators).values(
                    id=auth_id,
                    user_id=ticket.user_id,
                    type="totp",
                    secret=seed.reveal(),
                    confirmed=False,
                    created_at=now,
                    name="",
                )
            )
            conn.execute(
                insert(ticket_authenticators).values(ticket_hash=digest, authenticator_id=auth_id)
            )
        return AuthenticatorRecord(auth_id, ticket.user_id, "totp", seed, False, now, "")

    def confirm_ticket_totp(
        self, ticket_id: str, code: Secret, *, now: float
    ) -> AuthenticatorRecord | None:
        """Confirm the ticket's authenticator with ``code`` and use the ticket, atomically.

        The code is checked as by ``verify_code`` (±``WINDOW`` steps, never twice). None if
        the ticket is unknown, used or expired, has no authenticator yet, or the code is wrong.

        Raises:
            IdPConflict: As ``ticket_totp``.
        """
        digest = _ticket_hash(ticket_id)
        with self._db.transaction(write=True) as conn:
            ticket = self._usable_ticket(conn, digest, now)
            linked = None if ticket is None else self._linked(conn, digest)
            if ticket is None or linked is None:
                return None
            self._refuse_second(conn, ticket, linked)
            if not self._accept(conn, linked, code, now=now):
                return None
            conn.execute(update(tickets).where(tickets.c.ticket_hash == digest).values(used=now))
            self._spend_single_tickets(conn, ticket.user_id, now)
        return dataclasses.replace(linked, confirmed=True)

    @staticmethod
    def _spend_single_tickets(conn: Any, user_id: str, now: float) -> None:
        """Use up the user's unused single-enrollment tickets (the user is enrolled now).

        The user could never enroll through them (``_refuse_second``): they are not left open.
        """
        conn.execute(
            update(tickets)
            .where(
                tickets.c.user_id == user_id,
                tickets.c.used.is_(None),
                tickets.c.allow_multiple.is_(False),
            )
            .values(used=now)
        )

    def _accept(self, conn: Any, auth: AuthenticatorRecord, code: Secret, *, now: float) -> bool:
        step_now = int(now // PERIOD)
        step = _matching_step(auth.seed, code, step_now)
        if step is None or self._used(conn, auth.id, step):
            return False
        conn.execute(
            insert(used_codes).values(
                authenticator_id=auth.id, timestep=step, user_id=auth.user_id, used_at=now
            )
        )
        conn.execute(
            delete(used_codes).where(
                used_codes.c.authenticator_id == auth.id,
                used_codes.c.timestep < step_now - 2 * WINDOW - 1,
            )
        )
        if not auth.confirmed:
            conn.execute(
                update(authenticators).where(authenticators.c.id == auth.id).values(confirmed=True)
            )
        return True

    @staticmethod
    def _usable_ticket(conn: Any, digest: str, now: float) -> Any:
        return conn.execute(
            select(tickets).where(
                tickets.c.ticket_hash == digest, tickets.c.used.is_(None), tickets.c.expires > now
            )
        ).first()

    @staticmethod
    def _linked(conn: Any, digest: str) -> AuthenticatorRecord | None:
        row = conn.execute(
            select(authenticators)
            .join(
                ticket_authenticators,
                ticket_authenticators.c.authenticator_id == authenticators.c.id,
            )
            .where(ticket_authenticators.c.ticket_hash == digest)
        ).first()
        return None if row is None else _authenticator(row)

    @staticmethod
    def _refuse_second(conn: Any, ticket: Any, linked: AuthenticatorRecord | None) -> None:
        if ticket.allow_multiple:
            return
        query = select(authenticators.c.id).where(
            authenticators.c.user_id == ticket.user_id, authenticators.c.confirmed.is_(True)
        )
        if linked is not None:
            query = query.where(authenticators.c.id != linked.id)
        if conn.execute(query).first() is not None:
            raise IdPConflict(
                "You are already enrolled in Multifactor Authentication.",
                status=409,
                error="user_already_enrolled",
            )

    @staticmethod
    def _has_confirmed(conn: Any, user_id: str) -> bool:
        return (
            conn.execute(
                select(authenticators.c.id).where(
                    authenticators.c.user_id == user_id, authenticators.c.confirmed.is_(True)
                )
            ).first()
            is not None
        )

    @staticmethod
    def _used(conn: Any, authenticator_id: str, step: int) -> bool:
        return (
            conn.execute(
                select(used_codes.c.timestep).where(
                    used_codes.c.authenticator_id == authenticator_id,
                    used_codes.c.timestep == step,
                )
            ).first()
            is not None
        )


def _matching_step(seed: Secret, code: Secret, step_now: int) -> int | None:
    given = code.reveal().strip().encode("ascii", "replace")
    params = OtpParameters(seed=seed, period=PERIOD)
    for step in range(step_now - WINDOW, step_now + WINDOW + 1):
        expected = params.code(step * PERIOD).reveal().encode("ascii")
        if hmac.compare_digest(given, expected):
            return step
    return None
