"""What each run of the run database is, for the rules of ``runner.blocking`` and ``runner.due``.

Read from the checkpoints (a run's kind, account, status and plan; when a finished run ended:
its last checkpoint's time) and from the run board (runs queued for a worker, not yet started).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from langgraph.checkpoint.base import BaseCheckpointSaver

from vaultborn.approvals.action import sha256_digest
from vaultborn.nodes.state import PlanData
from vaultborn.runner.blocking import RunFact, account_of, kind_of
from vaultborn.runner.board import RunBoard
from vaultborn.runner.runs import StateDb, list_runs

__all__ = ["run_facts"]

_OVER = ("done", "rejected", "cancelled")


def run_facts(db: StateDb, *, times: bool = True) -> list[RunFact]:
    """Every setup and lifecycle run of ``db`` (newest first), then the queued ones.

    Args:
        db: The run database.
        times: Read when each finished run ended (a read per run; the blocking rules need none).
    """
    facts: list[RunFact] = []
    with db.open() as saver:
        for view in list_runs(saver):
            fact = _fact(view.run_id, view.status, view.values, saver if times else None)
            if fact is not None:
                facts.append(fact)
    started = {f.run_id for f in facts}
    with RunBoard(db.url) as board:
        for queued in board.queued():
            if queued.kind == "start" and queued.run_id not in started:
                fact = _fact(queued.run_id, "queued", queued.payload, None)
                if fact is not None:
                    facts.append(fact)
    return facts


def _fact(
    run_id: str, status: str, values: dict[str, Any], saver: BaseCheckpointSaver[str] | None
) -> RunFact | None:
    kind, stored = kind_of(values), values.get("plan")
    if kind == "agent" or not isinstance(stored, dict):
        return None
    plan = cast(PlanData, stored)
    finished = _finished_at(saver, run_id) if saver is not None and status in _OVER else None
    digest = str(values.get("plan_digest") or sha256_digest(plan))
    return RunFact(run_id, kind, account_of(plan), status, finished, plan, digest)


def _finished_at(saver: BaseCheckpointSaver[str], run_id: str) -> float | None:
    """When the run's last checkpoint was written (UNIX time)."""
    latest = saver.get_tuple({"configurable": {"thread_id": run_id}})
    if latest is None:
        return None
    return datetime.fromisoformat(str(latest.checkpoint["ts"])).timestamp()
