"""``vaultborn db migrate``: a shared run database, set up once."""

from __future__ import annotations

import typer

from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.graphs.checkpoint import database_url
from vaultborn.render import console, print_json
from vaultborn.runner.migrate import migrate
from vaultborn.runner.state_db import home_of

__all__ = ["register"]


PANEL = "Servers"


def register(app: typer.Typer) -> None:
    """Add ``db`` to ``app``."""
    app.add_typer(db_app, name="db", rich_help_panel=PANEL)


db_app = typer.Typer(
    help="The run database (checkpoints, audit log, leases).", no_args_is_help=True
)


@db_app.command("migrate")
def db_migrate(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Create or update the run database's tables (needed once for PostgreSQL; idempotent)."""
    url = database_url(home_of(ctx.obj), db)
    parts = migrate(url)
    if as_json:
        print_json({"database": url.shown, "migrated": list(parts)})
        return
    console.print(f"{url}: up to date ({', '.join(parts)})", markup=False)
