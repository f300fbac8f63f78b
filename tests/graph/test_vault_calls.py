"""How many times a whole setup calls the vault, so the count cannot creep back up.

1Password service accounts have a budget of reads per hour: the number of vault calls per
enrollment is how many agents an hour one token can set up. The embedded setup makes 9: each
step reads an item once however many of its fields it needs (``nodes.step_vault``), a seed is
one read, and the flow asks for a stored seed only where a decision needs it. Two of the 9 are
the token requests' client secrets (management, agent), which a fleet's shared token cache
makes once for all its runs: 7 per further enrollment.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.graph.kit import embedded_run
from vaultborn.browser.chromium import find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


class Counting:
    """Forwards to a vault and counts its public calls by name."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, Counter[str]()
        self.backend = inner.backend
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted


def test_an_embedded_setup_calls_the_vault_nine_times(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        counting = Counting(run.deps.vault)
        run.deps.tokens.vault = counting  # type: ignore[assignment]
        run.deps = dataclasses.replace(run.deps, vault=counting)  # type: ignore[arg-type]
        (view,) = run.drive("run-vault-calls")

    assert view.status == "done", view.reason
    assert counting.calls == {
        "find_items": 1,  # create_item: is the break-glass item there already?
        "create_item": 1,
        "read": 2,  # the management and the agent client secrets, one token request each
        "get_item": 4,  # the password (user), the seed back (code), the seeded value, the drill
        "set_otp": 1,
    }
    assert sum(counting.calls.values()) == 9


def test_a_further_enrollment_of_a_fleet_calls_the_vault_seven_times(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        counting = Counting(run.deps.vault)
        run.deps.tokens.vault = counting  # type: ignore[assignment]
        run.deps = dataclasses.replace(run.deps, vault=counting)  # type: ignore[arg-type]
        (first,) = run.drive("run-fleet-1")
        assert first.status == "done", first.reason
        counting.calls.clear()
        # The next agent account of the same systems: the runs share one token cache.
        bg = {**run.plan["break_glass"], "email": "second@example.com", "item": "Second"}
        seed = [{**s, "to": s["to"] + "-second"} for s in run.plan["seed"]]
        run.plan = {**run.plan, "break_glass": bg, "seed": seed}
        (second,) = run.drive("run-fleet-2")

    assert second.status == "done", second.reason
    assert counting.calls == {
        "find_items": 1,
        "create_item": 1,
        "get_item": 4,
        "set_otp": 1,
    }
