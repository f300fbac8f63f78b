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
        plan = waiting.get("plan")
        offered = f" (or the whole plan: {len(plan['actions'])} actions)" if plan else ""
        return f"the vault session{offered} — {waiting.get('summary', '')}"
    action = waiting.get("action", {})
    return f"approval of {action.get('name')} — {action.get('summary', '')}"


def ask_session(waiting: dict[str, Any], me: str) -> dict[str, Any] | None:
    """Show an approval (or the vault session and its plan) and ask: approve, reject or quit.

    With a plan offered, ``a`` approves the session and every action listed, each bound to
    the digest shown; ``y`` approves the session only (each step is then asked on its own).
    """
    console.print(describe_waiting(waiting), markup=False)
    for key, value in waiting.get("action", {}).get("args", {}).items():
        console.print(f"    {key}: {value}", markup=False)
    plan = waiting.get("plan")
    choices = ["y", "n", "q"]
    question = "Approve? y = yes, n = no (reject), q = quit for now"
    if plan:
        for number, action in enumerate(plan["actions"], start=1):
            console.print(f"  {number}. {action['summary']}", markup=False)
            console.print(f"     {action['key']}: {action['digest'][:19]}…", markup=False)
        choices = ["a", "y", "n", "q"]
        question = (
            "Approve? a = all of it (session and plan), y = the session only, n = no (reject), "
            "q = quit for now"
        )
    choice = Prompt.ask(question, choices=choices, default=choices[0])
    if choice == "q":
        return None
    if choice == "n":
        reason = Prompt.ask("Why") or "rejected at the terminal"
        return answer_for(waiting, "reject", approver=me, reason=reason)
    if choice == "a" and plan:
        return answer_for(waiting, "approve", approver=me, digest=plan["digest"])
    return answer_for(waiting, "approve", approver=me)


def ask_human(waiting: dict[str, Any], me: str) -> dict[str, Any] | None:
    """Show a hand-off and wait until the person says it is done (or quits)."""
    console.print(describe_waiting(waiting), markup=False)
    choice = Prompt.ask("Done? y = yes, q = quit for now", choices=["y", "q"], default="y")
    return None if choice == "q" else {"done": True, "by": me}
