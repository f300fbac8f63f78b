"""Options that many commands share, spelt once."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["DbOpt", "JsonOpt"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="State database URL. Env: VAULTBORN_DATABASE_URL."),
]
