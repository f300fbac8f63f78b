"""``cancel``: end a run that is not over, whatever it waits at or stopped on.

A run can stop where no answer moves it on: a value in its state no request can be built with
(an approval TTL of ``inf`` an older version accepted), a plan whose systems are gone, or a
person who no longer wants it. Cancelling ends it through the graph with a state update, which
runs no node — so a value that breaks every node cannot break the cancel — and leaves it
``cancelled`` with the person's reason, in ``runs``, ``show``, ``approvals`` and on the run
board. The run's lease is held meanwhile (no process moves it at the same time); the decision
is audited first (who, proven how, why, what the run was doing); answers queued for it are
dropped; the account is free for a new setup. Nothing is undone: what the run made stays in
its state, listed by ``made_by`` and ``vaultborn show RUN``, for a person to take down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.graph import END
from langgraph.types import StateUpdate

from vaultborn.approvals.audit import AuditLog
from vaultborn.core.errors import UsageError
from vaultborn.runner.board import RunBoard
from vaultborn.runner.leases import hold_run
from vaultborn.runner.run_view import RunView
from vaultborn.runner.runs import graph_of, view_after_move, view_run
from vaultborn.runner.state_db import StateDb

__all__ = ["CANCELLED", "ENDED", "Cancelled", "cancel_run", "made_by"]

CANCELLED = "cancelled"
"""The status of a cancelled run."""

ENDED = ("done", "rejected", CANCELLED)
"""Statuses of a run that is over: nothing to cancel."""

_REASON_MAX = 200


@dataclass(frozen=True)
class Cancelled:
    """A cancelled run: where it stands now, and what it had made (by reference)."""

    view: RunView
    made: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the run's view and what it made."""
        return {**self.view.as_dict(), "made": list(self.made)}


def made_by(values: Mapping[str, Any]) -> list[str]:
    """What a run's state says it made: its vault item, IdP user, enrollment, seeded targets.

    References and ids only; what a cancelled run made stays, for a person to take down.
    """
    made = []
    item = values.get("item") or {}
    if item:
        made.append(f"vault item {item.get('item_id')} in vault {item.get('vault_id')}")
    user = values.get("user") or {}
    if user:
        made.append(f"IdP user {user.get('user_id')} ({user.get('email')})")
    if values.get("enrollment"):
        made.append(f"TOTP enrollment of {user.get('email') or 'the break-glass user'}")
    made.extend(f"seeded {target}" for target in values.get("seeds") or {})
    return made


def _checked_reason(reason: str) -> str:
    if not reason.strip():
        raise UsageError("a cancel needs a reason (--reason TEXT)")
    if len(reason) > _REASON_MAX or not reason.isprintable():
        raise UsageError(f"a cancel's reason must be one line of at most {_REASON_MAX} characters")
    return reason


def cancel_run(
    db: StateDb,
    run_id: str,
    *,
    by: str,
    reason: str,
    identity: Mapping[str, str | int],
    audit: AuditLog,
) -> Cancelled:
    """End ``run_id`` with status ``cancelled``; audited before the state changes.

    Args:
        db: The run database.
        run_id: The run (a setup, agent or MCP host run).
        by: Who cancels (the name recorded, as an approver's).
        reason: Why, one line (required).
        identity: What this process can prove of who runs it (``runner.identity``).
        audit: The audit log.

    Raises:
        UsageError: No such run, no reason, a run that is over (audited), or a run another
            process is moving on now (``RunBusy``).
    """
    reason = _checked_reason(reason)
    with hold_run(db.url, run_id):
        with db.open() as saver:
            view = view_run(saver, run_id)
            if view.status in ENDED:
                audit.append(run_id, "refused", "cancel",
                             {"why": f"the run is {view.status}", "by": by,
                              "identity": dict(identity)})  # fmt: skip
                raise UsageError(f"run {run_id} is {view.status}: there is nothing to cancel")
            made = made_by(view.values)
            audit.append(
                run_id, "decision", "cancel",
                {"decision": CANCELLED, "by": by, "identity": dict(identity), "reason": reason,
                 "was": view.status, "waiting": (view.waiting or {}).get("digest", ""),
                 "made": made},
            )  # fmt: skip
            graph = graph_of(saver, run_id)
            update: dict[str, Any] = {
                "status": CANCELLED,
                "reason": f"cancelled by {by}: {reason}",
                "pending": {},
            }
            if "human" in graph.channels:  # a setup run's hand-off (agent runs have none)
                update["human"] = {}
            # First every pending task is cleared (an interrupt too), then the end is written
            # as the graph's own last node: nothing runs, and nothing comes next.
            config: Any = {"configurable": {"thread_id": run_id}}
            graph.bulk_update_state(
                config, [[StateUpdate(None, END)], [StateUpdate(update, "done")]]
            )
        after = view_after_move(db, run_id)
        with RunBoard(db.url) as board:
            for queued in board.queued(run_id):
                board.done_with(queued)  # an answer for a gate that no longer waits
            board.mark(run_id, after.status)
    return Cancelled(after, made)
