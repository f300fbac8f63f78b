"""Driving a run from the command line.

The options every run command shares, this invocation's run options, prompting at a gate, a
line per effect as it happens (stderr), and how a command ends: a receipt when done, exit 3
when waiting.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from vaultborn.approvals.policy import Policy
from vaultborn.approvals.request import MAX_TTL_SECONDS, checked_ttl
from vaultborn.browser.handoff import terminal_handoff
from vaultborn.browser.pool import BrowserPool
from vaultborn.core.errors import UsageError, VaultbornError
from vaultborn.countdown import countdown
from vaultborn.gate_card import RunNames, named, names_of
from vaultborn.graphs.state import SetupState
from vaultborn.nodes.deps import BrowserChoice
from vaultborn.nodes.lifecycle_steps import LIFECYCLE_STEPS
from vaultborn.nodes.steps import STEPS
from vaultborn.prompts import ask_human, ask_session, describe_waiting
from vaultborn.receipt import effect_finished, effect_started, receipt_lines
from vaultborn.render import console, print_json, progress
from vaultborn.runner.drive import drive_run
from vaultborn.runner.identity import os_account
from vaultborn.runner.plan import Plan, load_plan
from vaultborn.runner.run_kind import is_host_run
from vaultborn.runner.runs import (
    RunView,
    StateDb,
    view_run,
)
from vaultborn.runner.runtime import RunOptions
from vaultborn.runner.state_db import state_db
from vaultborn.runner.wiring import Settings

__all__ = [
    "EXIT_WAITING",
    "TTL_ENV",
    "AutoOpt",
    "Choices",
    "HeadedOpt",
    "PlanOpt",
    "PolicyOpt",
    "RunWatch",
    "approval_ttl",
    "current_user",
    "drive",
    "finish",
    "is_interactive",
    "plan_for",
    "run_options",
]


EXIT_WAITING = 3

TTL_ENV = "VAULTBORN_APPROVAL_TTL"
"""Seconds an approval request stays answerable (default 3600, at most 30 days)."""

PlanOpt = Annotated[
    Path | None, typer.Option("--plan", help="The setup plan (TOML); default: the embedded demo.")
]

PolicyOpt = Annotated[
    Path | None,
    typer.Option("--policy", help="Approval policy (TOML); default: ask before every effect."),
]

AutoOpt = Annotated[
    bool,
    typer.Option(
        "--auto-approve", help="Approve what the policy would ask; recorded with your user name."
    ),
]

HeadedOpt = Annotated[bool, typer.Option("--headed", help="Show the browser window.")]


@dataclass(frozen=True)
class Choices:
    """What this invocation chose: plan, policy, approver, browser, terminal, database.

    ``report``: a line per effect as it happens, on stderr (not with ``--json``).
    """

    plan: Path | None = None
    policy: Path | None = None
    auto_approve: bool = False
    headed: bool = False
    interactive: bool = False
    db: str | None = None
    report: bool = True


def run_options(settings: Settings, choices: Choices, stack: ExitStack) -> RunOptions:
    """Policy, audit log, approver and browser of this invocation (closed with ``stack``)."""
    # Only the steps' names (and vault_session): a misspelt action would silently fall back to
    # the default rule, and a "deny" would not deny.
    known = [*STEPS, *LIFECYCLE_STEPS]
    policy = Policy.from_file(choices.policy, known=known) if choices.policy else Policy.default()
    audit = state_db(settings, choices.db).audit_log()
    stack.callback(audit.close)
    on_human = (
        terminal_handoff(sys.stdin, sys.stderr) if choices.headed and choices.interactive else None
    )
    return RunOptions(
        approval_ttl=approval_ttl(),
        policy=policy,
        audit=audit,
        auto_approver=current_user() if choices.auto_approve else None,
        browser=BrowserChoice(
            headed=choices.headed,
            on_human=on_human,
            pool=BrowserPool(headed=choices.headed),
            wait=countdown() if choices.report else asyncio.sleep,
        ),
    )


def approval_ttl() -> float:
    """Seconds an approval request stays answerable (``$VAULTBORN_APPROVAL_TTL``, 3600).

    Raises:
        UsageError: Not a finite number of seconds above 0 and at most 30 days (``inf`` would
            be kept in every request, and no request could be built from it).
    """
    text = os.environ.get(TTL_ENV) or "3600"
    try:
        return checked_ttl(float(text), TTL_ENV)
    except ValueError:
        raise UsageError(
            f"{TTL_ENV} must be a number of seconds above 0 and at most {MAX_TTL_SECONDS:.0f} "
            f"(30 days), got {text[:40]!r}"
        ) from None


def current_user() -> str:
    """The OS account running this command, by its uid (recorded as the approver's name).

    Not ``$USER``: any caller sets that. The audit row's ``identity`` says how it is known.
    """
    return os_account()


def drive(settings: Settings, choices: Choices, run_id: str, first: SetupState | None,
           answer: object = None) -> RunView:  # fmt: skip
    """Advance the run; in a terminal, keep asking at each gate until done or declined."""
    with ExitStack() as stack:
        opts = run_options(settings, choices, stack)
        run_db = state_db(settings, choices.db)
        watch = RunWatch(run_db, run_id)
        return drive_run(
            run_db, settings, opts, run_id, first=first, answer=answer,
            on_gate=watch.ask if choices.interactive else None,
            on_step=watch.step if choices.report else None,
        )  # fmt: skip


class RunWatch:
    """The terminal's side of one run: its prompts, and a line per effect on stderr.

    Both show names beside ids, from the run's own state (read when needed, never the vault).
    """

    def __init__(self, db: StateDb, run_id: str) -> None:
        self._db, self._run_id = db, run_id

    def names(self) -> RunNames:
        """What the run's ids stand for, as its state says now."""
        return run_names(self._db, self._run_id)

    def ask(self, waiting: dict[str, Any]) -> object:
        """Ask the person at the terminal for an answer to what waits (None: quit for now)."""
        if waiting.get("kind") == "human_step":
            return ask_human(waiting, current_user())
        return ask_session(waiting, current_user(), self.names())

    def step(self, run_id: str, node: str, update: dict[str, Any] | None) -> None:
        """Say that an effect starts, or how it ended."""
        if update is None:
            line = effect_started(node)
        else:
            line = effect_finished(node, update, self.names() if node == "create_item" else
                                   RunNames())  # fmt: skip
        if line is not None:
            progress.print(f"{run_id} {line}", markup=False)


def run_names(db: StateDb, run_id: str) -> RunNames:
    """The names a run's state knows (empty when it cannot be read)."""
    try:
        with db.open() as saver:
            values = view_run(saver, run_id).values
    except VaultbornError:  # names are a courtesy: a prompt still shows the ids
        return RunNames()
    return names_of(values)


def finish(view: RunView, as_json: bool) -> None:
    """Print where the run stands (JSON or a line) and end with its exit code (3: waiting)."""
    if as_json:
        print_json(view.as_dict())
    elif view.status == "waiting" and view.waiting is not None:
        if view.reason:  # why it asks again (an expired or refused answer)
            console.print(f"{view.run_id}: {view.reason}", markup=False)
        what = named(describe_waiting(view.waiting), names_of(view.values).names)
        console.print(f"{view.run_id}: waiting — {what}", markup=False)
        console.print(
            f"  approve: vaultborn approve {view.run_id}   reject: vaultborn reject "
            f"{view.run_id} --reason TEXT",
            markup=False,
        )
    else:
        reason = f" ({view.reason})" if view.reason else ""
        console.print(f"{view.run_id}: {view.status}{reason}", markup=False)
        if view.status == "done" and not is_host_run(view.values):
            for line in receipt_lines(view.values, names_of(view.values)):
                console.print(line, markup=False)
    if view.status == "waiting":
        raise typer.Exit(EXIT_WAITING)
    if view.status == "done" and is_host_run(view.values):
        console.print(
            f"  the MCP client {view.values['client']} gets the result when it asks again",
            markup=False,
        )
    if view.status in ("rejected", "failed", "cancelled"):
        raise typer.Exit(1)


def plan_for(path: Path | None, settings: Settings) -> Plan:
    """The plan at ``path``; the embedded defaults use the vault the invocation chose."""
    loaded = load_plan(path)
    if path is None:
        loaded = replace(loaded, vault=replace(loaded.vault, backend=settings.vault_backend))
    return loaded


def is_interactive(as_json: bool) -> bool:
    """Whether a person can be asked here: a terminal on both ends, and no ``--json``."""
    return not as_json and sys.stdin.isatty() and sys.stdout.isatty()
