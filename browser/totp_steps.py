"""Which TOTP time step a flow's next code is for, so no flow waits for the wall clock in vain.

A verifier accepts a window of steps around now (RFC 6238 §5.2; the dev IdP, Auth0 and most
others take one step either side) and refuses a code whose step was used already. So a login
drill that starts in the step its enrollment's code used need not wait up to 30 seconds for
the next one: the code of the next step, sent now, is inside the window and unused. Where the
provider's window is narrower (stock django-allauth takes only the current step), that early
code is refused, and the retry waits for its step to begin and sends it then; a code is never
sent for a step this process knows was used.

``StepLedger`` remembers, per seed, the steps whose codes were sent (step numbers only, in
memory); flows that share one (a setup's enrollment and its drill, through their ``Deps``) do
not send a step twice. ``UsedSteps`` is what a flow needs of it (``runner.used_steps`` keeps the
steps in the run database too, for the next process). ``choose_step`` is the pure decision.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

__all__ = ["StepChoice", "StepLedger", "UsedSteps", "choose_step"]

STEP_MARGIN = 0.25
"""Seconds past a time-step boundary before a code for it is sent (clock skew)."""


@dataclass(frozen=True)
class StepChoice:
    """The step to send a code for, and how long to wait first (0: send now)."""

    step: int
    wait: float

    def at(self, period: int) -> float:
        """A UNIX time inside the chosen step, for the vault's code generator."""
        return float(self.step * period)


def choose_step(
    now: float, period: int, used: frozenset[int], *, retry_of: int | None = None
) -> StepChoice:
    """The step of the next code at ``now``.

    Args:
        now: UNIX time now.
        period: Seconds per step.
        used: Steps whose codes were sent already for this seed (never sent again early).
        retry_of: The step of the code just refused, when this is its retry.

    A first code takes the current step, or the next one when the current one is used. A
    retry waits: for the refused step to begin when it was sent early, else for the next step.
    """
    current = int(now // period)
    if retry_of is not None:
        # Refused early (a narrower window than ±1): that step's code becomes valid when the
        # step begins, so wait for it. Refused in its own step: it was used or the clocks
        # disagree; the next step's code is the first one that can still pass, unless another
        # flow sent it already, and then the first unused one after it, sent one step early.
        if retry_of > current:
            return StepChoice(retry_of, _until(retry_of, now, period))
        step = current + 1
        while step in used:
            step += 1
        return StepChoice(step, _until(max(current + 1, step - 1), now, period))
    # The next step's code is inside the verifier's window (RFC 6238 §5.2 asks verifiers to
    # accept one step of drift) and, unlike the current one, cannot have been used yet.
    for step in (current, current + 1):
        if step not in used:
            return StepChoice(step, 0.0)
    # Both taken: wait for the next step and go one ahead of it.
    return StepChoice(current + 2, _until(current + 1, now, period))


def _until(step: int, now: float, period: int) -> float:
    return max(0.0, step * period + STEP_MARGIN - now)


class UsedSteps(Protocol):
    """Where flows record the steps whose codes they sent, and look them up (thread-safe)."""

    def used(self, key: str) -> frozenset[int]:
        """The steps sent for ``key``."""
        ...

    def mark(self, key: str, step: int) -> None:
        """Remember that a code for ``step`` was sent for ``key``."""
        ...


class StepLedger:
    """The steps whose codes were sent, per seed key (a bounded, thread-safe memory)."""

    def __init__(self, limit: int = 4096) -> None:
        self._steps: OrderedDict[str, set[int]] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit

    def used(self, key: str) -> frozenset[int]:
        """The steps sent for ``key``."""
        with self._lock:
            return frozenset(self._steps.get(key, ()))

    def mark(self, key: str, step: int) -> None:
        """Remember that a code for ``step`` was sent for ``key``."""
        with self._lock:
            steps = self._steps.setdefault(key, set())
            steps.add(step)
            self._steps.move_to_end(key)
            if len(steps) > 16:  # only the last few steps can matter to a window
                steps.discard(min(steps))
            while len(self._steps) > self.limit:
                self._steps.popitem(last=False)
