"""What kind of run a state belongs to, told from the state alone (no graph loaded)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["is_host_run"]


def is_host_run(values: Mapping[str, Any]) -> bool:
    """Whether a run's state is an MCP host run's (``runner.host_runs``)."""
    return bool(values.get("client")) and "toolkit" in values
