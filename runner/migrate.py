"""``vaultborn db migrate``: make (or bring up to date) every table of the run database.

SQLite files are set up on first use; a shared PostgreSQL database is set up once, here, before
any run or worker uses it: LangGraph's checkpoint tables, the audit log, the run leases, the
run board and the TOTP steps used. Every part is idempotent, so running it again (or after an
upgrade) is safe.
"""

from __future__ import annotations

from vaultborn.approvals.audit import AuditLog
from vaultborn.core.database import DatabaseUrl, UrlLike
from vaultborn.graphs.checkpoint import migrate_checkpoints, prepare_database
from vaultborn.runner.board import RunBoard
from vaultborn.runner.leases import create_lease_table
from vaultborn.runner.used_steps import create_used_steps_table

__all__ = ["PARTS", "migrate"]

PARTS = ("checkpoints", "audit log", "run leases", "run board", "TOTP steps used")


def migrate(url: UrlLike) -> tuple[str, ...]:
    """Set up the run database at ``url``; the parts it set up.

    Raises:
        UsageError: The URL is not supported.
        ConfigurationError: The database cannot be reached or refused a change.
    """
    url = DatabaseUrl.parse(url)
    prepare_database(url)
    migrate_checkpoints(url)
    AuditLog(url).close()
    create_lease_table(url)
    RunBoard(url).close()
    create_used_steps_table(url)
    return PARTS
