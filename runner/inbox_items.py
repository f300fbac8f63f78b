"""What waits for a person, across runs, as the approval inbox shows it.

Pure: from a run's view (the interrupt's payload, and for one item its state) to plain
items — run, kind, what is asked, its summary, the references it names, its digest and
expiry; a hand-off's page and instructions; an edited action's changes against what the step
proposed. Everything here comes from payloads and states, which hold references, ids and
digests only: no value can reach a page through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultborn.nodes.state import SetupState
from vaultborn.nodes.steps import STEPS
from vaultborn.runner.run_view import RunView

__all__ = ["Change", "InboxItem", "inbox_item", "waiting_items"]


@dataclass(frozen=True)
class Change:
    """An argument a person's edit changed: what the step proposed, and what is asked now."""

    name: str
    proposed: Any
    now: Any


@dataclass(frozen=True)
class InboxItem:
    """One thing a run waits for.

    Attributes:
        run_id: The run.
        kind: ``approval``, ``vault_session`` or ``human_step``.
        title: What is asked, in a few words (the action's name, "vault session" …).
        summary: One line for the person.
        digest: The digest an answer must carry ("" for a hand-off).
        requested_at: When it was asked (0 for a hand-off).
        expires_at: No answer is taken from then on (0: no expiry).
        args: The action's arguments (references and plain values).
        references: The references and addresses the arguments name.
        plan: The plan offered with the vault session (digest, expiry, actions), if any.
        url: A hand-off's page.
        instructions: What to do there.
        changes: An edited action's changes against the step's proposal.
        reason: Why it is asked (again), when it is (a refused or expired answer).
        interrupt_id: The interrupt it is (set when looked at one run at a time).
    """

    run_id: str
    kind: str
    title: str
    summary: str
    digest: str = ""
    requested_at: float = 0.0
    expires_at: float = 0.0
    args: Mapping[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    plan: Mapping[str, Any] | None = None
    url: str = ""
    instructions: str = ""
    changes: tuple[Change, ...] = ()
    reason: str = ""
    interrupt_id: str = ""


def _references(args: Mapping[str, Any]) -> tuple[str, ...]:
    """The arguments that name something elsewhere: ``op://`` references, store URIs, pages."""
    return tuple(v for v in args.values() if isinstance(v, str) and "://" in v)


def _changes(view: RunView, action: Mapping[str, Any]) -> tuple[Change, ...]:
    """What a person's edit changed, against the arguments the step itself proposes."""
    step = STEPS.get(str(action.get("name")))
    values: Any = view.values
    if step is None or "plan" not in values or not values.get("edits"):
        return ()
    state: SetupState = values
    try:
        proposed = step.args(state)
    except (KeyError, IndexError, TypeError):  # not a setup run's state after all
        return ()
    now = action.get("args", {})
    return tuple(
        Change(name, proposed[name], now[name])
        for name in proposed
        if name in now and now[name] != proposed[name]
    )


def inbox_item(view: RunView) -> InboxItem | None:
    """The item ``view`` waits for; None when it waits for nothing."""
    waiting = view.waiting
    if view.status != "waiting" or not waiting:
        return None
    run_id, reason, interrupt_id = view.run_id, view.reason, view.interrupt_id
    kind = str(waiting.get("kind", ""))
    if kind == "human_step":
        instructions = str(waiting.get("instructions", ""))
        return InboxItem(
            run_id, kind, "a person's step", instructions, url=str(waiting.get("url", "")),
            instructions=instructions, reason=reason, interrupt_id=interrupt_id,
        )  # fmt: skip
    digest = str(waiting.get("digest", ""))
    asked = float(waiting.get("requested_at", 0.0))
    expires = float(waiting.get("expires_at", 0.0))
    if kind == "vault_session":
        vaults = ", ".join(str(v) for v in waiting.get("vaults", []))
        args = {"backend": waiting.get("backend", ""), "vaults": vaults,
                "plan_digest": waiting.get("plan_digest", "")}  # fmt: skip
        return InboxItem(
            run_id, kind, "vault session", str(waiting.get("summary", "")), digest, asked,
            expires, args, plan=waiting.get("plan"), reason=reason, interrupt_id=interrupt_id,
        )  # fmt: skip
    action = waiting.get("action", {})
    args = dict(action.get("args", {}))
    return InboxItem(
        run_id, kind, str(action.get("name", "")), str(action.get("summary", "")), digest,
        asked, expires, args, _references(args), changes=_changes(view, action),
        reason=reason, interrupt_id=interrupt_id,
    )  # fmt: skip


def waiting_items(views: Iterable[RunView]) -> list[InboxItem]:
    """What the runs of ``views`` wait for, in their order."""
    return [item for item in map(inbox_item, views) if item is not None]
