"""Human touches per setup: how many times a person answers, on the embedded defaults.

Run: ``.venv/bin/python bench/touches.py``

Two whole setups of the embedded demo, each in a fresh temporary VAULTBORN_HOME (local vault,
embedded dev IdP, in-process AWS emulator, headless Chromium), answered through
``run_setup(on_gate=…)`` as a program (or the inbox) answers:

- one approval of the plan offered at the first gate (the vault session and every action,
  each bound to its digest);
- step by step: the vault session alone, then each gate on its own.

Prints the answers each took, the decisions audited and the time: counts first, since the
machine is shared (no pass/fail). The issue's goal is one touch per enrollment.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vaultborn
from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.request import answer_for
from vaultborn.graphs.checkpoint import database_url

GOAL = 1


def _answer(plan: bool) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def answer(waiting: dict[str, Any]) -> dict[str, Any]:
        offered = waiting.get("plan") if plan else None
        digest = offered["digest"] if offered else None
        return answer_for(waiting, "approve", approver="bench", digest=digest)

    return answer


def one(plan: bool) -> tuple[int, int, float, str]:
    """A whole setup: answers given, decisions audited, seconds, final status."""
    with tempfile.TemporaryDirectory(prefix="vaultborn-touches-") as tmp:
        home = Path(tmp) / "home"
        os.environ["VAULTBORN_HOME"] = str(home)
        answers = 0
        answer = _answer(plan)

        def counted(waiting: dict[str, Any]) -> dict[str, Any]:
            nonlocal answers
            answers += 1
            return answer(waiting)

        started = time.perf_counter()
        view = vaultborn.run_setup(on_gate=counted, home=home)
        took = time.perf_counter() - started
        audit = AuditLog(database_url(home))
        try:
            decisions = [e for e in audit.events(view.run_id) if e.kind == "decision"]
        finally:
            audit.close()
        return answers, len(decisions), took, view.status


def main() -> None:
    """Both ways, one line each."""
    for label, plan in (("plan approved at the first gate", True), ("step by step", False)):
        answers, decisions, took, status = one(plan)
        print(f"{label:<32} answers {answers}  decisions audited {decisions:>2}  "
              f"{took:5.1f} s  {status}")  # fmt: skip
        if plan:
            print(f"{'':<32} goal: {GOAL} answer per enrollment — "
                  f"{'met' if answers == GOAL and status == 'done' else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
