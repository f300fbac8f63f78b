"""After the first day: ``rotate``, ``revoke``, ``drift``, and the ``schedule`` a worker keeps.

Each works on the plan of a setup — a setup run (``RUN``), a plan file (``PLAN``), or the
embedded demo's when neither is named — as a run of its own with the setup's gates: the vault
session once, an approval before every effect (or a policy, or ``--auto-approve``), checkpoints
(``resume`` continues a stopped one), the audit log. In a terminal it asks at each gate;
otherwise it exits 3 and ``vaultborn approve RUN`` answers from anywhere. ``rotate`` and
``revoke`` refuse while the account's setup is unfinished, and ``rotate`` while another rotation
of it is (``runner.blocking``).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from vaultborn.cli.driving import (
    AutoOpt,
    Choices,
    HeadedOpt,
    PolicyOpt,
    approval_ttl,
    drive,
    finish,
    is_interactive,
    plan_for,
)
from vaultborn.cli.options import DbOpt, JsonOpt
from vaultborn.core.errors import UsageError
from vaultborn.nodes.lifecycle_steps import ROTATE_WHATS
from vaultborn.render import console, print_json
from vaultborn.runner.blocking import account_of, blocked_error, blocking_run
from vaultborn.runner.due import DueWork, due_work
from vaultborn.runner.leases import hold_run
from vaultborn.runner.lifecycle import (
    Subject,
    lifecycle_start,
    plan_file,
    projected_lifecycle_actions,
    results_of,
    subject_from_run,
)
from vaultborn.runner.run_facts import run_facts
from vaultborn.runner.runs import RunView, new_run_id
from vaultborn.runner.state_db import state_db
from vaultborn.runner.wiring import Settings

__all__ = ["register"]

PANEL = "After set-up"

TargetArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[RUN|PLAN]",
        help="A setup run, or a plan file; default: the embedded demo's plan.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``rotate``, ``revoke`` and ``drift`` to ``app``."""
    app.command(rich_help_panel=PANEL)(rotate)
    app.command(rich_help_panel=PANEL)(revoke)
    app.command(rich_help_panel=PANEL)(drift)
    app.command(rich_help_panel=PANEL)(schedule)


def rotate(
    ctx: typer.Context,
    target: TargetArg = None,
    what: Annotated[
        str,
        typer.Option(
            "--what", help=f"What to rotate: {', '.join(ROTATE_WHATS)}.", show_default=True
        ),
    ] = "client-secret",
    policy: PolicyOpt = None,
    auto_approve: AutoOpt = False,
    headed: HeadedOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rotate a credential: a new value born in the vault, pushed out, checked, the old retired.

    The vault keeps the previous version; a crash at any point leaves a chain that works with
    the old or the new value, and 'vaultborn resume RUN' finishes it.
    """
    if what not in ROTATE_WHATS:
        raise UsageError(f"--what takes {', '.join(ROTATE_WHATS)}, not {what[:40]!r}")
    _start(ctx.obj, f"rotate:{what}", target, policy, auto_approve, headed, db, as_json)


def revoke(
    ctx: typer.Context,
    target: TargetArg = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be revoked; change nothing.")
    ] = False,
    policy: PolicyOpt = None,
    auto_approve: AutoOpt = False,
    headed: HeadedOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a chain down: authenticators, the user, the client's grants, the store secrets.

    Each on its own gate; store secrets are deleted with AWS's recovery window and the vault
    items are tagged archived, not destroyed.
    """
    if dry_run:
        subject = _subject(ctx.obj, target, db)
        _print_actions("revoke", subject, as_json)
        return
    _start(ctx.obj, "revoke", target, policy, auto_approve, headed, db, as_json)


def drift(
    ctx: typer.Context,
    target: TargetArg = None,
    policy: PolicyOpt = None,
    auto_approve: AutoOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Say, per credential, whether the IdP and the stores still match the vault.

    Reads only, and prints no value. Exit code 0 in sync, 1 drifted (3: waiting for the vault
    session).
    """
    _start(ctx.obj, "drift", target, policy, auto_approve, False, db, as_json)


def schedule(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the drift checks and rotations that plans schedule, and when each is due.

    A setup's plan names them ([schedule]); 'vaultborn worker' starts each when it is due, as a
    run that asks at its gates like any other.
    """
    work = due_work(run_facts(state_db(ctx.obj, db)), time.time())
    if as_json:
        print_json([w.as_dict() for w in work])
        return
    if not work:
        console.print("nothing scheduled (a plan's [schedule] names what is)", markup=False)
        return
    for item in work:
        console.print(_schedule_line(item), markup=False)


def _schedule_line(work: DueWork) -> str:
    when = datetime.fromtimestamp(work.due_at).strftime("%Y-%m-%d %H:%M")
    state = {"due": "due now", "later": f"due {when}", "running": f"running as {work.by}",
             "blocked": f"due, waits for {work.by}"}[work.state]  # fmt: skip
    return f"{work.account[1]:<24} {work.kind:<30} every {work.every:<5} {state}"


def _subject(settings: Settings, target: str | None, db: str | None) -> Subject:
    """The plan ``target`` names: a plan file, else a setup run; none: the embedded demo."""
    path = plan_file(target) if target else None
    if target is None or path is not None:
        plan = plan_for(path, settings)
        return Subject(plan.to_dict(), plan.digest)
    if not target.startswith("run-"):
        raise UsageError(f"{target!r} is neither a plan file nor a run id (run-…)")
    return subject_from_run(state_db(settings, db), target)


def _start(
    settings: Settings,
    kind: str,
    target: str | None,
    policy: Path | None,
    auto_approve: bool,
    headed: bool,
    db: str | None,
    as_json: bool,
) -> None:
    subject = _subject(settings, target, db)
    choices = Choices(None, policy, auto_approve, headed, is_interactive(as_json), db)
    run_db = state_db(settings, db)
    with run_db.open():  # a damaged or locked database says so before a lease is written
        pass
    domain, email = account_of(subject.plan)
    # One change to an account at a time: a setup and a rotation of the same user would race.
    with hold_run(run_db.url, f"account:{domain}:{email}", label=f"a run for {email}"):
        if kind != "drift":  # under the account's lease: no run of it starts meanwhile
            blocker = blocking_run(kind, (domain, email), run_facts(run_db, times=False))
            if blocker is not None:
                raise blocked_error(blocker)
        run_id = new_run_id()
        first = lifecycle_start(subject, run_id, kind, approval_ttl())
        view = drive(settings, choices, run_id, first)
    show_lifecycle(view, as_json)


def show_lifecycle(view: RunView, as_json: bool) -> None:
    """Print where a lifecycle run stands and what it did; end with its exit code.

    A drift run that found drift ends with 1.
    """
    results = results_of(view.values)
    report = results.get("drift")
    if as_json:
        print_json({**view.as_dict(), "lifecycle": view.values.get("lifecycle"),
                    "results": results})  # fmt: skip
    else:
        for line in _result_lines(results):
            console.print(line, markup=False)
    if view.status == "done" and report is not None and not report["in_sync"]:
        if not as_json:
            console.print(f"{view.run_id}: drifted ({report['drifted']})", markup=False)
        raise typer.Exit(1)
    if as_json:
        if view.status == "waiting":
            raise typer.Exit(3)
        if view.status in ("rejected", "failed"):
            raise typer.Exit(1)
        return
    finish(view, as_json=False)


def _result_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for key, record in results.items():
        if key == "drift":
            lines += [
                f"{c['status']:<8} {c['credential']}: {c['detail']}" for c in record["checks"]
            ]
        elif isinstance(record, dict) and "outcome" not in record and "version" not in record:
            lines += [f"{key}: {name}: {_said(r)}" for name, r in record.items()]
        else:
            lines.append(f"{key}: {_said(record)}")
    return lines


def _said(record: dict[str, Any]) -> str:
    shown = ("subject", "target", "item_id", "outcome", "version", "count", "detail")
    return ", ".join(f"{k} {record[k]}" for k in shown if k in record)


def _print_actions(kind: str, subject: Subject, as_json: bool) -> None:
    actions = projected_lifecycle_actions(kind, subject.plan)
    if as_json:
        listed = [{**a.to_payload(), "digest": a.digest} for a in actions]
        print_json({"lifecycle": kind, "dry_run": True, "actions": listed})
        return
    for number, action in enumerate(actions, start=1):
        console.print(f"{number}. {action.summary}", markup=False)
        effects = ", ".join(action.effects) or "read-only"
        console.print(f"   {effects}; {action.digest[:19]}…", markup=False, style="dim")
    console.print(f"dry run: nothing was changed ({len(actions)} actions)", markup=False)
