"""How many times a whole setup calls the vault, per step, so the count cannot creep back up.

1Password service accounts have a budget of reads per hour: the number of vault calls per
enrollment is how many agents an hour one token can set up. The embedded setup makes 7: each
step reads an item once however many of its fields it needs (``nodes.step_vault``), the new
user gets the password the item's creation answered with (handed on inside the move:
``MoveItems``), a seed is one read, the enrollment writes the captured seed without reading the
item first (its ticket's secret is new: ``nodes.ticket_target``) and confirms with a code from
the URI it wrote, and the flow asks for a stored seed only where a decision needs it. Two of
the 7 are the token requests' client secrets (management, agent), which a fleet's shared token
cache makes once for all its runs: 5 per further enrollment.

The one look-up left before a write is the item step's ``find_items``: an item of that title
may be there from before the run (a second setup of the account, a run whose state was lost),
which no checkpoint of this run can tell, so it is asked on every run.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langgraph.config import get_config

from tests.graph.kit import Harness, embedded_run
from vaultborn.browser.chromium import find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


class Counting:
    """Forwards to a vault and counts its public calls by the graph node they came from."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, Counter[tuple[str, str]]()
        self.backend = inner.backend
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[_node(), name] += 1
            return attr(*args, **kwargs)

        return counted

    def per_step(self) -> dict[str, dict[str, int]]:
        """The calls by step (the effect node's name) and operation."""
        steps: dict[str, dict[str, int]] = {}
        for (node, op), n in self.calls.items():
            steps.setdefault(node, {})[op] = n
        return steps


def _node() -> str:
    """The graph node running now (the config LangGraph keeps in a context variable)."""
    try:
        return str(get_config()["metadata"]["langgraph_node"])
    except (RuntimeError, KeyError):
        return "(no node)"


def _counting(run: Harness) -> Counting:
    counting = Counting(run.deps.vault)
    run.deps.tokens.vault = counting  # type: ignore[assignment]
    run.deps = dataclasses.replace(run.deps, vault=counting)  # type: ignore[arg-type]
    return counting


def test_an_embedded_setup_calls_the_vault_seven_times(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        counting = _counting(run)
        (view,) = run.drive("run-vault-calls")

    assert view.status == "done", view.reason
    assert counting.per_step() == {
        # Is the break-glass item there already (from before this run)? Then: create it.
        "create_item": {"find_items": 1, "create_item": 1},
        # The management client's secret (its token); the new user's password is the one the
        # item's creation answered with, in this move.
        "create_user": {"read": 1},
        # The captured seed written, no read before (a new ticket's secret) nor after (the
        # confirming code comes from the URI written).
        "enroll_totp": {"set_otp": 1},
        "seed": {"get_item": 1},
        # The agent's client secret (its token), then the drill's password and code: one read.
        "verify": {"read": 1, "get_item": 1},
    }
    assert sum(counting.calls.values()) == 7


def test_a_further_enrollment_of_a_fleet_calls_the_vault_five_times(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        counting = _counting(run)
        (first,) = run.drive("run-fleet-1")
        assert first.status == "done", first.reason
        counting.calls.clear()
        # The next agent account of the same systems: the runs share one token cache.
        bg = {**run.plan["break_glass"], "email": "second@example.com", "item": "Second"}
        seed = [{**s, "to": s["to"] + "-second"} for s in run.plan["seed"]]
        run.plan = {**run.plan, "break_glass": bg, "seed": seed}
        (second,) = run.drive("run-fleet-2")

    assert second.status == "done", second.reason
    assert counting.per_step() == {
        "create_item": {"find_items": 1, "create_item": 1},
        "enroll_totp": {"set_otp": 1},
        "seed": {"get_item": 1},
        "verify": {"get_item": 1},
    }
    assert sum(counting.calls.values()) == 5
