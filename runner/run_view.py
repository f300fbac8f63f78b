"""``RunView``: where a run is, as every command and the notebooks show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunView"]


@dataclass(frozen=True)
class RunView:
    """Where a run is.

    Attributes:
        run_id: The run (thread) id.
        status: ``waiting``, ``done``, ``rejected``, ``cancelled`` (ended by ``vaultborn
            cancel``), ``failed`` (stopped on an error; ``resume`` runs the step again) or
            ``running``.
        next: The nodes that run next.
        waiting: The interrupt payload, when waiting.
        reason: Why it stopped, when it did.
        values: The state (references, ids, statuses).
        interrupt_id: LangGraph's id of the interrupt it waits at ("" when not waiting).
    """

    run_id: str
    status: str
    next: tuple[str, ...] = ()
    waiting: dict[str, Any] | None = None
    reason: str = ""
    values: dict[str, Any] = field(default_factory=dict, repr=False)
    interrupt_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no state values beyond the status)."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "next": list(self.next),
            "waiting": self.waiting,
            "reason": self.reason,
        }
