"""``vaultborn runs``, ``approvals`` and ``doctor``: looking, as quick to start as ``op``.

They read the views that moving a run keeps (``vaultborn.runner.view_cache``), so they load neither
LangGraph nor SQLAlchemy unless a view has to be worked out again.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.gate_card import when
from vaultborn.prompts import describe_waiting
from vaultborn.render import console, print_json
from vaultborn.runner.state_db import state_db
from vaultborn.runner.view_cache import queued_runs, started_runs

__all__ = ["register_look_commands"]


PANEL = "Look"


def register_look_commands(app: typer.Typer) -> None:
    """Add ``approvals``, ``runs`` and ``doctor`` to ``app``."""
    app.command(rich_help_panel=PANEL)(approvals)
    app.command(rich_help_panel=PANEL)(runs)
    app.command(rich_help_panel=PANEL)(doctor)


def approvals(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List what runs wait for, with the digest an answer must carry and when it expires."""
    waiting = [v for v in started_runs(state_db(ctx.obj, db)) if v.status == "waiting"]
    if as_json:
        print_json([v.as_dict() for v in waiting])
        return
    if not waiting:
        console.print("nothing waits")
    for v in waiting:
        asked = v.waiting or {}
        console.print(f"{v.run_id}: {describe_waiting(asked)}", markup=False)
        expires = asked.get("expires_at")
        until = f"; expires {when(float(expires), time.time())}" if expires else ""
        if asked.get("digest"):
            console.print(f"  digest {asked['digest']}{until}", markup=False)


def runs(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List setup runs: id, status, next step, what waits."""
    run_db = state_db(ctx.obj, db)
    found = started_runs(run_db)
    found += queued_runs(run_db, (v.run_id for v in found))
    if as_json:
        print_json([v.as_dict() for v in found])
        return
    if not found:
        console.print("no runs")
    for v in found:
        step = ",".join(v.next) or "-"
        console.print(f"{v.run_id}  {v.status:<8}  next: {step}", markup=False)


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check that this machine is ready: Python, security floors, the vault, Chromium."""
    from vaultborn.doctor import run_checks
    from vaultborn.render import console, print_json

    checks = run_checks(ctx.obj)
    if as_json:
        print_json([c.as_dict() for c in checks])
    else:
        marks = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
        for c in checks:
            console.print(f"{marks[c.status]} {c.name}: ", end="")
            console.print(c.detail, markup=False)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)
