"""Asking the person at the terminal at a gate: what waits, and their answer as a resume value.

The answer carries the run, the request and the digest of what was shown
(``approvals.request.answer_for``), so an approval cannot land on another action or request.
"""

from __future__ import annotations

from typing import Any

from rich.prompt import Prompt

from vaultborn.approvals.request import answer_for
from vaultborn.render import console

__all__ = ["ask_human", "ask_session", "describe_waiting"]


def describe_waiting(waiting: dict[str, Any]) -> str:
    """One line saying what a run waits for."""
    kind = waiting.get("kind")
    if kind == "human_step":
        return f"a person at {waiting.get('url')}: {waiting.get('instructions')}"
    if kind == "vault_session":
        return f"the vault session — {waiting.get('summary', '')}"
    action = waiting.get("action", {})
    return f"approval of {action.get('name')} — {action.get('summary', '')}"


def ask_session(waiting: dict[str, Any], me: str) -> dict[str, Any] | None:
    """Show an approval (or the vault session) and ask: approve, reject or quit."""
    console.print(describe_waiting(waiting), markup=False)
    for key, value in waiting.get("action", {}).get("args", {}).items():
        console.print(f"    {key}: {value}", markup=False)
    choice = Prompt.ask(
        "Approve? y = yes, n = no (reject), q = quit for now", choices=["y", "n", "q"], default="y"
    )
    if choice == "q":
        return None
    if choice == "n":
        reason = Prompt.ask("Why") or "rejected at the terminal"
        return answer_for(waiting, "reject", approver=me, reason=reason)
    return answer_for(waiting, "approve", approver=me)


def ask_human(waiting: dict[str, Any], me: str) -> dict[str, Any] | None:
    """Show a hand-off and wait until the person says it is done (or quits)."""
    console.print(describe_waiting(waiting), markup=False)
    choice = Prompt.ask("Done? y = yes, q = quit for now", choices=["y", "q"], default="y")
    return None if choice == "q" else {"done": True, "by": me}
