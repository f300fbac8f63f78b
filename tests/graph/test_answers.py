"""Answers that reach ``advance`` from anywhere (CLI, notebook, agent toolkit) are checked.

An answer goes only to the interrupt the run waits at, never to one it names itself; an
answer for a run that is not waiting is refused; a hand-off's acknowledgement is no
approval. Each refusal is audited and the run keeps waiting (or stays as it was).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from tests.graph.kit import Harness, embedded_run
from vaultborn.approvals.request import answer_for
from vaultborn.core.errors import UsageError
from vaultborn.runner.runs import RunView, advance

pytestmark = pytest.mark.robustness("approval integrity: answers through the library")

RUN = "run-answers"


def _asked(run: Harness) -> tuple[Harness, RunView]:
    """The run waiting at its vault session (nobody approves automatically)."""
    run = dataclasses.replace(run, deps=dataclasses.replace(run.deps, auto_approver=None))
    start = {"run_id": RUN, "plan": run.plan, "plan_digest": "sha256:test",
             "started_at": time.time()}  # fmt: skip
    view = asyncio.run(advance(run.db, run.deps, RUN, start=start))
    assert view.status == "waiting" and view.waiting is not None
    return run, view


def _answer(run: Harness, answer: object) -> RunView:
    return asyncio.run(advance(run.db, run.deps, RUN, answer=answer))


def _approval(view: RunView) -> dict[str, Any]:
    assert view.waiting is not None
    return answer_for(view.waiting, "approve", approver="ana")


def _refusals(run: Harness) -> list[dict[str, Any]]:
    return [e.detail for e in run.audit.events(RUN) if e.kind == "refused"]


def test_an_answer_cannot_pick_its_interrupt(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as base:
        run, asked = _asked(base)
        # LangGraph reads a dict keyed by interrupt ids as "this value for that interrupt".
        unknown = _answer(run, {"0" * 32: _approval(asked)})

        assert unknown.status == "waiting" and unknown.waiting is not None
        assert unknown.waiting["digest"] == asked.waiting["digest"]  # type: ignore[index]
        assert unknown.reason.startswith("refused: ")
        assert "session" not in unknown.values
        assert len(_refusals(run)) == 1


def test_a_hand_off_acknowledgement_is_not_an_approval(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as base:
        run, _ = _asked(base)
        acked = _answer(run, {"done": True, "by": "ana"})

        assert acked.status == "waiting" and acked.waiting is not None
        assert acked.waiting["kind"] == "vault_session"
        assert "session" not in acked.values
        assert len(_refusals(run)) == 1


def test_an_answer_for_a_run_that_is_not_waiting_is_refused(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as base:
        run, asked = _asked(base)
        assert asked.waiting is not None
        ended = _answer(run, answer_for(asked.waiting, "reject", approver="ana",
                                        reason="not today"))  # fmt: skip
        assert ended.status == "rejected"

        with pytest.raises(UsageError, match="is not waiting for an answer \\(it is rejected\\)"):
            _answer(run, _approval(asked))
        assert [d.get("why") for d in _refusals(run)] == ["the run is rejected, not waiting"]
