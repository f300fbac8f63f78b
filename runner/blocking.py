"""Which unfinished run of an account stops a new one: pure rules over what the runs are.

A setup is stopped only by an unfinished setup of its account: a drift waiting for its vault
session, or a rotation waiting at a gate, leaves the account's setup free (each of its steps
looks before it creates). A rotation or a revocation changes what the setup made, so either is
refused while the account's setup is unfinished; and two rotations of one account would each
retire what the other just made, so a rotation is refused while another is unfinished. A drift
only reads: nothing stops it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vaultborn.core.errors import RunStateError
from vaultborn.nodes.state import PlanData

__all__ = ["UNFINISHED", "RunFact", "account_of", "blocked_error", "blocking_run", "kind_of"]

UNFINISHED = ("queued", "running", "waiting", "failed", "interrupted")
"""Statuses of a run that is not over (``queued``: a worker has yet to start it)."""


@dataclass(frozen=True)
class RunFact:
    """What the rules need to know of one run of the run database.

    Attributes:
        run_id: The run.
        kind: ``setup``, ``agent``, or the lifecycle's kind (``drift``, ``revoke``,
            ``rotate:<what>``).
        account: The IdP domain ("" for the embedded one) and the break-glass e-mail.
        status: ``done``, ``rejected``, ``cancelled``, or one of ``UNFINISHED``.
        finished_at: UNIX time of its last checkpoint, for a run that is over.
        plan: The plan it works on (references and plain values).
        plan_digest: That plan's digest as the run recorded it.
    """

    run_id: str
    kind: str
    account: tuple[str, str]
    status: str
    finished_at: float | None = None
    plan: PlanData | None = field(default=None, compare=False, repr=False)
    plan_digest: str = field(default="", compare=False, repr=False)

    @property
    def unfinished(self) -> bool:
        """Whether the run is not over."""
        return self.status in UNFINISHED


def account_of(plan: PlanData) -> tuple[str, str]:
    """The IdP domain ("" for the embedded one) and the break-glass e-mail of ``plan``."""
    return plan["idp"].get("domain") or "", plan["break_glass"]["email"].lower()


def kind_of(values: dict[str, Any]) -> str:
    """The kind of a run by its state: ``agent``, a lifecycle's kind, or ``setup``."""
    if "toolkit" in values:
        return "agent"
    return str(values.get("lifecycle") or "setup")


def _stops(new: str, running: str) -> bool:
    """Whether an unfinished ``running`` run of an account stops a new ``new`` run of it."""
    if running == "setup":
        return new == "setup" or new == "revoke" or new.startswith("rotate:")
    return new.startswith("rotate:") and running.startswith("rotate:")


def blocking_run(kind: str, account: tuple[str, str], facts: Iterable[RunFact]) -> RunFact | None:
    """The unfinished run of ``account`` that a new ``kind`` run must wait for, or None."""
    for fact in facts:
        if fact.account == account and fact.unfinished and _stops(kind, fact.kind):
            return fact
    return None


def blocked_error(fact: RunFact) -> RunStateError:
    """The one-line refusal naming ``fact``, the run to resume or cancel first."""
    what = "a setup" if fact.kind == "setup" else f"a {fact.kind.replace(':', ' ')} run"
    return RunStateError(
        f"{what} for {fact.account[1]} is unfinished as {fact.run_id} ({fact.status}); "
        f"continue it with 'vaultborn resume {fact.run_id}' or end it with "
        f"'vaultborn cancel {fact.run_id} --reason TEXT'"
    )
