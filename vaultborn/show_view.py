"""``vaultborn show`` for people: a run's status, decisions, results, audit trail and timeline.

Times on the local clock, tables instead of Python reprs, ids whole; ``--json`` keeps the
machine form. References, ids and versions only, as the state holds them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from vaultborn.gate_card import RunNames, card_lines, named
from vaultborn.receipt import receipt_lines
from vaultborn.render import console, print_table
from vaultborn.runner.run_view import RunView

__all__ = ["local_time", "print_run"]


def local_time(moment: float | str | None) -> str:
    """A UNIX time or an ISO 8601 timestamp on the local clock (``2026-12-06 14:02:11``)."""
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, str):
        try:
            return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return moment
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment))


def _say(line: str = "") -> None:
    console.print(line, markup=False)


def print_run(
    view: RunView,
    events: Sequence[Mapping[str, Any]],
    timeline: Sequence[Mapping[str, Any]],
    run: RunNames,
    state: Mapping[str, Any],
) -> None:
    """Print ``view`` (a setup run's, or an agent run's) for a person."""
    reason = f" ({view.reason})" if view.reason else ""
    _say(f"{view.run_id}: {view.status}{reason}")
    values = view.values
    if "started_at" in values:
        _say(f"  started  {local_time(values['started_at'])}")
    if view.next:
        _say(f"  next     {', '.join(view.next)}")
    if view.waiting:
        _say()
        for line in card_lines(view.waiting, run, time.time()):
            _say(line)
    if "plan" in values:
        _decisions(values)
        made = receipt_lines(values, run)
        if made:
            _say("\nMade")
            for line in made:
                _say(line)
    else:
        _say("\nState")
        print_table(("KEY", "VALUE"), [(k, _plain_text(v)) for k, v in state.items()])
    if events:
        _say("\nAudit trail")
        print_table(
            ("SEQ", "WHEN", "KIND", "SUBJECT", "DETAIL"),
            [
                (
                    str(e["seq"]),
                    local_time(e["at"]),
                    str(e["kind"]),
                    named(str(e["subject"]), run.names),
                    _detail(e.get("detail") or {}, run),
                )
                for e in events
            ],
        )
    if timeline:
        _say("\nCheckpoints")
        print_table(
            ("STEP", "WHEN", "NEXT", "STATUS", "CHECKPOINT"),
            [
                (
                    str(p["step"]),
                    local_time(p["created_at"]),
                    ",".join(p["next"]) or "end",
                    ("waiting" if p["waiting"] else str(p["status"])) or "-",
                    str(p["checkpoint_id"]),
                )
                for p in timeline
            ],
        )


def _decisions(values: Mapping[str, Any]) -> None:
    rows = []
    if session := values.get("session"):
        rows.append(
            ("vault session", str(session.get("approver")), local_time(session.get("at")), "")
        )
    for gate, record in (values.get("approvals") or {}).items():
        rows.append(
            (gate, str(record["approver"]), local_time(record["at"]), str(record["digest"]))
        )
    if rows:
        _say("\nApproved")
        print_table(("GATE", "BY", "WHEN", "DIGEST"), rows)


def _detail(detail: Mapping[str, Any], run: RunNames) -> str:
    return " ".join(f"{k}={named(_plain_text(v), run.names)}" for k, v in detail.items())


def _plain_text(value: Any) -> str:
    """A value as text: scalars as they are, anything else as compact JSON (not a repr)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
