"""``Check``: the outcome of one look at the machine (``vaultborn doctor``, ``vaultborn plan``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["Check", "Status"]

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    status: Status
    detail: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return asdict(self)
