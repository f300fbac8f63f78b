"""``vaultborn setup`` and the commands around a run.

``resume``, ``approvals``, ``approve``, ``reject``, ``runs``, ``show``, ``audit verify``.

``setup`` runs until done or a gate. In a terminal it asks at each gate; without one (or with
``--json``) it exits 3 and prints what waits, and ``approve``/``reject``/``resume`` — from any
process — move the run on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import getpass
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from langgraph.checkpoint.base import BaseCheckpointSaver

from approvals.audit import AuditLog
from approvals.policy import Policy
from browser.handoff import terminal_handoff
from browser.pool import BrowserPool
from graphs.checkpoint import database_url, prepare_database, sqlite_path
from nodes.deps import BrowserChoice, Deps
from nodes.gating import REFUSED
from nodes.steps import STEPS
from vaultborn.deps import Settings, open_vault
from vaultborn.errors import ConfigurationError, ServiceError, UsageError, VaultbornError
from vaultborn.leases import hold_run
from vaultborn.plan import Plan, load_plan
from vaultborn.plan_check import check_plan, projected_actions
from vaultborn.prompts import ask_human, ask_session, describe_waiting
from vaultborn.render import console, print_json
from vaultborn.runs import RunView, StateDb, advance, history, list_runs, new_run_id, view_run
from vaultborn.runtime import RunOptions, open_runtime

__all__ = ["register_setup_commands"]

EXIT_WAITING = 3
TTL_ENV = "VAULTBORN_APPROVAL_TTL"
"""Seconds an approval request stays answerable (default 3600)."""

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
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="State database URL. Env: VAULTBORN_DATABASE_URL."),
]


@dataclass(frozen=True)
class _Choices:
    plan: Path | None = None
    policy: Path | None = None
    auto_approve: bool = False
    headed: bool = False
    interactive: bool = False
    db: str | None = None


def register_setup_commands(app: typer.Typer) -> None:
    """Add the setup-run commands to ``app``."""
    app.command()(setup)
    app.command("plan")(plan_command)
    app.command()(resume)
    app.command()(approve)
    app.command()(reject)
    app.command()(edit)
    app.command()(approvals)
    app.command()(runs)
    app.command()(show)
    app.add_typer(audit_app, name="audit")


KEY_ENV = "VAULTBORN_CHECKPOINT_KEY"
"""An op:// reference to 32 bytes (base64) that seal every checkpoint; unset: not sealed."""


def _state_db(settings: Settings, db: str | None) -> StateDb:
    url = database_url(_home(settings), db)
    ref = os.environ.get(KEY_ENV)
    if not ref:
        return StateDb(url)
    try:
        key = base64.b64decode(open_vault(settings).read(ref).reveal(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise UsageError(f"{KEY_ENV}: {ref} must hold 32 bytes, base64-encoded")
    return StateDb(url, key)


def _home(settings: Settings) -> Path:
    return Path(settings.env().get("VAULTBORN_HOME") or Path.home() / ".vaultborn")


@contextmanager
def _session(
    settings: Settings, choices: _Choices, plan: dict[str, Any], state_db: StateDb
) -> Iterator[Deps]:
    home = _home(settings)
    url = state_db.url
    # Only the steps' names (and vault_session): a misspelt action would silently fall back to
    # the default rule, and a "deny" would not deny.
    policy = (
        Policy.from_file(choices.policy, known=STEPS.keys()) if choices.policy else Policy.default()
    )
    with ExitStack() as stack:
        audit = AuditLog(url)
        stack.callback(audit.close)
        on_human = (
            terminal_handoff(sys.stdin, sys.stderr)
            if choices.headed and choices.interactive
            else None
        )
        opts = RunOptions(
            approval_ttl=_ttl(),
            policy=policy,
            audit=audit,
            auto_approver=_me() if choices.auto_approve else None,
            browser=BrowserChoice(
                headed=choices.headed,
                on_human=on_human,
                pool=BrowserPool(headed=choices.headed),
            ),
        )
        vault = open_vault(settings.for_plan(plan["vault"]["backend"]))
        deps = stack.enter_context(open_runtime(vault, plan, home, opts))
        yield deps


def _ttl() -> float:
    text = os.environ.get(TTL_ENV) or "3600"
    try:
        ttl = float(text)
    except ValueError:
        ttl = -1.0
    if not ttl > 0:
        raise UsageError(f"{TTL_ENV} must be a positive number of seconds, got {text!r}")
    return ttl


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown-user"


def _drive(settings: Settings, choices: _Choices, run_id: str, first: dict[str, Any] | None,
           answer: object = None) -> RunView:  # fmt: skip
    """Advance the run; in a terminal, keep asking at each gate until done or declined."""
    plan = first["plan"] if first else _stored_plan(settings, choices, run_id)
    db = _state_db(settings, choices.db)
    prepare_database(db.url)
    # The lease first: a second process learns who holds the run before starting anything.
    with hold_run(db.url, run_id):
        try:
            with _session(settings, choices, plan, db) as deps:
                return asyncio.run(_drive_async(db, deps, choices, run_id, first, answer))
        except (ServiceError, ConfigurationError) as stopped:
            if _saved(db, run_id):
                stopped.with_hint(f"the run keeps its progress: vaultborn resume {run_id}")
            raise


def _saved(db: StateDb, run_id: str) -> bool:
    """Whether ``run_id`` has a checkpoint (a stop before its first one leaves nothing)."""
    try:
        with db.open() as saver:
            view_run(saver, run_id)
    except VaultbornError:
        return False
    return True


async def _drive_async(db: StateDb, deps: Deps, choices: _Choices, run_id: str,
                       first: dict[str, Any] | None, answer: object) -> RunView:  # fmt: skip
    """One event loop for the whole conversation, so the run's one Chromium serves every step."""
    try:
        view = await advance(db, deps, run_id, start=first, answer=answer)
        while view.status == "waiting" and choices.interactive and view.waiting:
            reply = await asyncio.to_thread(_ask, view.waiting)
            if reply is None:
                break
            view = await advance(db, deps, run_id, answer=reply)
        return view
    finally:
        await deps.browser.pool.close()


def _stored_plan(settings: Settings, choices: _Choices, run_id: str) -> dict[str, Any]:
    with _state_db(settings, choices.db).open() as saver:
        return dict(view_run(saver, run_id).values["plan"])


def _ask(waiting: dict[str, Any]) -> object:
    kind = waiting.get("kind")
    if kind == "human_step":
        return ask_human(waiting, _me())
    return ask_session(waiting, _me())


def _finish(view: RunView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
    elif view.status == "waiting" and view.waiting is not None:
        console.print(f"{view.run_id}: waiting — {describe_waiting(view.waiting)}", markup=False)
        console.print(
            f"  approve: vaultborn approve {view.run_id}   reject: vaultborn reject "
            f"{view.run_id} --reason TEXT",
            markup=False,
        )
    else:
        reason = f" ({view.reason})" if view.reason else ""
        console.print(f"{view.run_id}: {view.status}{reason}", markup=False)
    if view.status == "waiting":
        raise typer.Exit(EXIT_WAITING)
    if view.status in ("rejected", "failed"):
        raise typer.Exit(1)


def setup(
    ctx: typer.Context,
    plan: PlanOpt = None,
    run: Annotated[str | None, typer.Option("--run", help="Continue this run instead.")] = None,
    policy: PolicyOpt = None,
    auto_approve: AutoOpt = False,
    headed: HeadedOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set up the agent's credential chain (the embedded demo without --plan)."""
    choices = _Choices(plan, policy, auto_approve, headed, _interactive(as_json), db)
    if run is not None:
        _finish(_drive(ctx.obj, choices, run, None), as_json)
        return
    loaded = _load_plan(plan, ctx.obj)
    domain, email = _account(loaded.to_dict())
    state_db = _state_db(ctx.obj, choices.db)
    with state_db.open():  # a damaged or locked database says so before a lease is written
        url = state_db.url
    # Held from the check until the run's first checkpoint and beyond: two setups started at
    # once would both pass the check and race each other for the same user and item.
    with hold_run(url, f"account:{domain}:{email}", label=f"a setup for {email}"):
        _refuse_second_setup(ctx.obj, choices, loaded.to_dict())
        run_id = new_run_id()
        first = {
            "run_id": run_id,
            "plan": loaded.to_dict(),
            "plan_digest": loaded.digest,
            "started_at": time.time(),
            "session_ttl": _ttl(),
            "status": "running",
        }
        view = _drive(ctx.obj, choices, run_id, first)
    _finish(view, as_json)


def _load_plan(path: Path | None, settings: Settings) -> Plan:
    """The plan at ``path``; the embedded defaults use the vault the invocation chose."""
    loaded = load_plan(path)
    if path is None:
        loaded = replace(loaded, vault=replace(loaded.vault, backend=settings.vault_backend))
    return loaded


def _account(plan: dict[str, Any]) -> tuple[str, str]:
    """The IdP domain ("" for the embedded one) and the break-glass e-mail of ``plan``."""
    return plan["idp"].get("domain") or "", plan["break_glass"]["email"].lower()


def _refuse_second_setup(settings: Settings, choices: _Choices, plan: dict[str, Any]) -> None:
    """One unfinished setup per account: a second one would race the first for the same user."""
    account = _account(plan)
    with _state_db(settings, choices.db).open() as saver:
        for view in list_runs(saver):
            other = view.values.get("plan", {})
            same = (
                other.get("idp", {}).get("domain") or "",
                other.get("break_glass", {}).get("email", "").lower(),
            )
            if same == account and view.status in ("waiting", "failed", "running"):
                raise UsageError(
                    f"a setup for {account[1]} is unfinished as {view.run_id} ({view.status}); "
                    f"continue it with 'vaultborn resume {view.run_id}' or reject it"
                )


def plan_command(ctx: typer.Context, plan: PlanOpt = None, as_json: JsonOpt = False) -> None:
    """Show the actions a setup would ask about (with digests) and check what it needs.

    Changes nothing: references are resolved without reading a value, the IdP is asked for its
    discovery document, AWS configuration and Chromium are looked for.
    """
    loaded = _load_plan(plan, ctx.obj)
    actions = projected_actions(loaded)
    vault = open_vault(ctx.obj.for_plan(loaded.vault.backend))
    checks = check_plan(loaded, vault, dict(os.environ), Path.home())
    if as_json:
        print_json(
            {
                "plan": loaded.source,
                "digest": loaded.digest,
                "actions": [{**a.to_payload(), "digest": a.digest} for a in actions],
                "checks": [c.as_dict() for c in checks],
            }
        )
    else:
        console.print(f"plan: {loaded.source} ({loaded.digest[:19]}…)", markup=False)
        for number, action in enumerate(actions, start=1):
            effects = ", ".join(action.effects) or "read-only"
            console.print(f"{number}. {action.summary}", markup=False)
            console.print(f"   {effects}; {action.digest[:19]}…", markup=False, style="dim")
        for check in checks:
            console.print(f"{check.status:<4} {check.name}: {check.detail}", markup=False)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)


def resume(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    policy: PolicyOpt = None,
    auto_approve: AutoOpt = False,
    headed: HeadedOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run again what a stopped or crashed run has pending (and ask at its gate)."""
    choices = _Choices(None, policy, auto_approve, headed, _interactive(as_json), db)
    _finish(_drive(ctx.obj, choices, run, None), as_json)


DigestOpt = Annotated[
    str | None,
    typer.Option("--digest", help="The digest you reviewed (default: the waiting one's)."),
]


WaitingRunArg = Annotated[
    str | None,
    typer.Argument(metavar="[RUN]", help="The run id (default: the one run that waits)."),
]


def approve(
    ctx: typer.Context,
    run: WaitingRunArg = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    digest: DigestOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve what the run waits for, then let it go on to the next gate."""
    _decide(ctx.obj, run, {"decision": "approve", "reason": reason}, digest, db, as_json)


def edit(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    changes: Annotated[
        list[str], typer.Argument(metavar="KEY=VALUE...", help="Argument values to change.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    digest: DigestOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change argument values of the waiting action; it is then asked again (new digest)."""
    args: dict[str, str] = {}
    for change in changes:
        key, sep, value = change.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {change!r}")
        args[key] = value
    answer = {"decision": "edit", "reason": reason, "args": args}
    _decide(ctx.obj, run, answer, digest, db, as_json)


def reject(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded; required).")],
    run: WaitingRunArg = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject what the run waits for; the run ends cleanly and says why."""
    _decide(ctx.obj, run, {"decision": "reject", "reason": reason}, None, db, as_json)


def _decide(settings: Settings, run: str | None, decision: dict[str, Any], digest: str | None,
            db: str | None, as_json: bool) -> None:  # fmt: skip
    choices = _Choices(db=db, interactive=False)
    with _state_db(settings, db).open() as saver:
        view = view_run(saver, run) if run is not None else _the_waiting_run(saver)
    run = view.run_id
    if view.status != "waiting" or view.waiting is None:
        raise UsageError(f"run {run} is not waiting for a decision (it is {view.status})")
    waiting = view.waiting
    if waiting.get("kind") == "human_step":
        answer: dict[str, Any] = {"done": decision["decision"] == "approve", "by": _me()}
    else:
        answer = {**decision, "digest": digest or waiting["digest"], "approver": _me()}
    after = _drive(settings, choices, run, None, answer=answer)
    if after.reason.startswith(REFUSED):
        raise UsageError(f"{after.reason.removeprefix(REFUSED)} (the run asks again)")
    _finish(after, as_json)


def _the_waiting_run(saver: BaseCheckpointSaver[str]) -> RunView:
    """The one run that waits for an answer, when the command names none."""
    waiting = [v for v in list_runs(saver) if v.status == "waiting"]
    if not waiting:
        raise UsageError("no run waits for a decision (see 'vaultborn runs')")
    if len(waiting) > 1:
        names = ", ".join(v.run_id for v in waiting)
        raise UsageError(f"several runs wait ({names}); name the one to answer")
    return waiting[0]


def approvals(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List what runs wait for."""
    with _state_db(ctx.obj, db).open() as saver:
        waiting = [v for v in list_runs(saver) if v.status == "waiting"]
    if as_json:
        print_json([v.as_dict() for v in waiting])
        return
    if not waiting:
        console.print("nothing waits")
    for v in waiting:
        console.print(f"{v.run_id}: {describe_waiting(v.waiting or {})}", markup=False)


def runs(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List setup runs: id, status, next step, what waits."""
    with _state_db(ctx.obj, db).open() as saver:
        found = list_runs(saver)
    if as_json:
        print_json([v.as_dict() for v in found])
        return
    if not found:
        console.print("no runs")
    for v in found:
        step = ",".join(v.next) or "-"
        console.print(f"{v.run_id}  {v.status:<8}  next: {step}", markup=False)


def show(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    with_history: Annotated[
        bool, typer.Option("--history", help="Also the checkpoint timeline.")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a run: status, state (references and ids only) and its audit trail."""
    state_db = _state_db(ctx.obj, db)
    with state_db.open() as saver:
        view = view_run(saver, run)
        timeline = history(saver, run) if with_history else []
    audit = AuditLog(state_db.url)
    try:
        events = [e.as_dict() for e in audit.events(run_id=run)]
    finally:
        audit.close()
    state = {k: v for k, v in view.values.items() if k != "plan"}
    if as_json:
        extra = {"history": timeline} if with_history else {}
        print_json({**view.as_dict(), "state": state, "audit": events, **extra})
        return
    console.print(f"{view.run_id}: {view.status}", markup=False)
    for key, value in state.items():
        console.print(f"  {key}: {value}", markup=False)
    for event in events:
        console.print(f"  audit {event['seq']}: {event['kind']} {event['subject']}", markup=False)
    for point in timeline:
        step = ",".join(point["next"]) or "end"
        console.print(
            f"  checkpoint {point['step']}: {point['checkpoint_id']} → {step}", markup=False
        )


audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Check the audit chain: an edited, deleted or reordered row is reported."""
    url = database_url(_home(ctx.obj), db)
    sqlite_path(url)  # a URL the state commands refuse gets the same one-line usage error
    audit = AuditLog(url)
    try:
        verdict = audit.verify()
    finally:
        audit.close()
    if as_json:
        print_json(
            {"ok": verdict.ok, "rows": verdict.rows, "problem": verdict.problem,
             "head": verdict.head}
        )  # fmt: skip
    else:
        console.print(
            f"audit: {'ok' if verdict.ok else 'TAMPERED'} ({verdict.rows} rows)"
            + (f": {verdict.problem}" if verdict.problem else ""),
            markup=False,
        )
    if not verdict.ok:
        raise typer.Exit(1)


def _interactive(as_json: bool) -> bool:
    return not as_json and sys.stdin.isatty() and sys.stdout.isatty()
