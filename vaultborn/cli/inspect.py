"""Looking closely: ``show`` (a run's state, audit trail and checkpoints) and ``audit verify``.

They read the checkpoints through LangGraph; ``runs`` and ``approvals`` (``cli.look``) do not.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from langchain_core.messages import BaseMessage

from vaultborn.approvals.audit import AuditLog, AuditVerdict
from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.render import console, print_json
from vaultborn.runner.runs import (
    history,
    view_run,
)
from vaultborn.runner.state_db import state_db

__all__ = ["register"]


PANEL = "Look"


def register(app: typer.Typer) -> None:
    """Add ``show`` and ``audit`` to ``app``."""
    app.command(rich_help_panel=PANEL)(show)
    app.add_typer(audit_app, name="audit", rich_help_panel=PANEL)


def show(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    with_history: Annotated[
        bool, typer.Option("--history", help="Also the checkpoint timeline.")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a run: status, state (references and ids only) and its audit trail."""
    run_db = state_db(ctx.obj, db)
    with run_db.open() as saver:
        view = view_run(saver, run)
        timeline = history(saver, run) if with_history else []
    audit = AuditLog(run_db.url)
    try:
        events = [e.as_dict() for e in audit.events(run_id=run)]
    finally:
        audit.close()
    state = {k: _plain(v) for k, v in view.values.items() if k != "plan"}
    if as_json:
        extra = {"history": timeline} if with_history else {}
        print_json({**view.as_dict(), "state": state, "audit": events, **extra})
        return
    console.print(f"{view.run_id}: {view.status}", markup=False)
    for key, value in state.items():
        console.print(f"  {key}: {value}", markup=False)
    for event in events:
        console.print(f"  audit {event['seq']}: {event['kind']} {event['subject']}", markup=False)
    for point in timeline:
        step = ",".join(point["next"]) or "end"
        console.print(
            f"  checkpoint {point['step']}: {point['checkpoint_id']} → {step}", markup=False
        )


def _plain(value: Any) -> Any:
    """An agent run's messages as JSON data (type, content, tool calls); other values as is."""
    if isinstance(value, list) and value and all(isinstance(m, BaseMessage) for m in value):
        shown = []
        for m in value:
            entry = {"type": m.type, "content": m.content}
            for key in ("tool_calls", "tool_call_id", "status"):
                if getattr(m, key, None):
                    entry[key] = getattr(m, key)
            shown.append(entry)
        return shown
    return value


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
