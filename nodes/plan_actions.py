"""The actions a run of a plan will ask about, computed by the run's own code.

Every step's arguments come from the plan alone (references by the plan's names, the user by
e-mail, the store targets), so the actions, and their digests, are known before the run: what
``vaultborn plan`` shows, what the first gate offers for one approval, and what each gate then
asks are the same, made by ``gating.action_for`` from the same state.
"""

from __future__ import annotations

from vaultborn.approvals.action import Action
from vaultborn.nodes.gating import action_for
from vaultborn.nodes.state import PlanData, SeedReceiptData, SetupState
from vaultborn.nodes.steps import STEPS

__all__ = ["planned_actions"]


def planned_actions(plan: PlanData) -> list[tuple[str, Action]]:
    """``(gate key, Action)`` of every step a run of ``plan`` takes, in order.

    A repeated step (``seed``) comes once per entry of its plan list, under ``seed[0]``,
    ``seed[1]`` …, as its gates name it.
    """
    state: SetupState = {"plan": plan}
    planned = []
    for step in STEPS.values():
        for _ in range(step.times(plan)):
            key, action = step.gate_key(state), action_for(step, state)
            planned.append((key, action))
            if step.repeats is not None:  # the next repeat is for the next entry
                done: SeedReceiptData = {
                    "target": action.args[step.repeats.key], "version_id": "",
                    "source": action.args["from"], "source_version": 0, "outcome": "planned",
                }  # fmt: skip
                state |= step.recorded(state, done)
    return planned
