"""Options that many commands share, spelt once."""

from __future__ import annotations

import math
from typing import Annotated

import typer

__all__ = ["DbOpt", "JsonOpt", "finite"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="State database URL. Env: VAULTBORN_DATABASE_URL."),
]


def finite(value: float | None) -> float | None:
    """A ``callback`` for a ranged float option: Click's range check lets ``nan`` through."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number.")
    return value
