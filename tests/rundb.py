"""The run database under test: SQLite (the home's file) or a fresh PostgreSQL database.

``run_database`` (a fixture in ``tests/conftest.py``) runs a test once per engine; on
PostgreSQL it sets ``VAULTBORN_DATABASE_URL`` to a new, migrated database, which the CLI (in
process or started by ``run_cli``) then uses. ``at_rest`` is everything that database holds,
for the canary scan: the SQLite file's bytes, or every row of every table as the server returns
it (decompressed, bytea as raw bytes). ``state_db_of`` and ``audit_log_of`` open a home's run
database as vaultborn does: sealed and keyed with its run keys from the home's vault.
"""

from __future__ import annotations

import os
from pathlib import Path

from vaultborn.approvals.audit import AuditLog
from vaultborn.graphs.checkpoint import DATABASE_ENV
from vaultborn.runner.state_db import StateDb, state_db
from vaultborn.runner.wiring import Settings

__all__ = ["at_rest", "audit_log_of", "postgres_rows", "state_db_of"]


def state_db_of(home: Path) -> StateDb:
    """``home``'s run database as vaultborn opens it (its checkpoint key from its run keys)."""
    return state_db(Settings(home=home), None)


def audit_log_of(home: Path) -> AuditLog:
    """The audit log of ``home``'s run database, keyed and anchored as vaultborn opens it."""
    return state_db_of(home).audit_log()


def at_rest(home: Path) -> bytes:
    """What the run database of this test holds, as bytes to search."""
    url = os.environ.get(DATABASE_ENV)
    if url:
        return postgres_rows(url)
    path = home / "state.db"
    return path.read_bytes() if path.exists() else b""


def postgres_rows(url: str) -> bytes:
    """Every value of every table in the ``public`` schema of ``url``."""
    import psycopg

    out: list[bytes] = []
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert "checkpoints" in tables and "audit_events" in tables, tables
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 (names from the catalogue)
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out.append(bytes(value))
                    else:
                        out.append(str(value).encode())
    return b"\n".join(out)
