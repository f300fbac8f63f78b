"""Looking closely: ``show``, a run's state, audit trail and checkpoints.

It reads the checkpoints through LangGraph; ``runs`` and ``approvals`` (``cli.look``) and
``audit verify`` (``cli.audit``) do not.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from langchain_core.messages import BaseMessage

from vaultborn.approvals.audit import AuditLog
from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.gate_card import names_of
from vaultborn.render import print_json
from vaultborn.runner.runs import (
    history,
    view_run,
)
from vaultborn.runner.state_db import state_db
from vaultborn.show_view import print_run

__all__ = ["register"]


PANEL = "Look"


def register(app: typer.Typer) -> None:
    """Add ``show`` to ``app``."""
    app.command(rich_help_panel=PANEL)(show)


def show(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    with_history: Annotated[
        bool, typer.Option("--history", help="Also the checkpoint timeline.")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a run: status, decisions, what it made (references and ids), its audit trail."""
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
    print_run(view, events, timeline, names_of(view.values), state)


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
