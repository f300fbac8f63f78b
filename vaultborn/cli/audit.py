"""``audit verify``: the hash-chained audit log checked, without loading LangGraph."""

from __future__ import annotations

import typer

from vaultborn.approvals.audit import AuditVerdict
from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.render import console, print_json
from vaultborn.runner.state_db import state_db

__all__ = ["register"]

PANEL = "Look"


def register(app: typer.Typer) -> None:
    """Add ``audit`` to ``app``."""
    app.add_typer(audit_app, name="audit", rich_help_panel=PANEL)


audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Check the audit chain: an edited, deleted, reordered or cut-off row is reported.

    With the run database's keys (from the vault) every row's HMAC is checked, and the head
    kept outside the database (the witness file, the keys' vault item) must still be in it.
    """
    audit = state_db(ctx.obj, db).audit_log()
    try:
        verdict = audit.verify()
    finally:
        audit.close()
    if as_json:
        print_json(
            {"ok": verdict.ok, "rows": verdict.rows, "problem": verdict.problem,
             "head": verdict.head, "keyed": verdict.keyed, "keyed_from": verdict.keyed_from,
             "anchors": list(verdict.anchors)}
        )  # fmt: skip
    else:
        console.print(
            f"audit: {'ok' if verdict.ok else 'TAMPERED'} ({verdict.rows} rows)"
            + (f": {verdict.problem}" if verdict.problem else ""),
            markup=False,
        )
        for line in _checked(verdict):
            console.print(f"  {line}", markup=False)
    if not verdict.ok:
        raise typer.Exit(1)


def _checked(verdict: AuditVerdict) -> list[str]:
    """What the verdict rests on, in words: the key, the rows written without it, the anchors."""
    if not verdict.keyed:
        return ["not keyed: this database has no run keys yet (the first setup makes them)"]
    lines = ["keyed: every keyed row's HMAC checked with the run database's audit key"]
    unkeyed = verdict.keyed_from - 1 if verdict.keyed_from else verdict.rows
    if unkeyed > 0:
        lines.append(f"rows 1-{unkeyed} were written before the log was keyed (SHA-256 only)")
    lines += [f"anchored: {anchor}" for anchor in verdict.anchors]
    return lines
