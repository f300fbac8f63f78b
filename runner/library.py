"""``run_setup``: a whole setup from a program, with a callback where the CLI would prompt.

The CLI's rules hold: the run's lease, one setup per account at a time, the audit log and the
checkpoints.

>>> from vaultborn import run_setup, approve_all  # doctest: +SKIP
>>> view = run_setup(on_gate=approve_all("release-bot"))  # the embedded demo
>>> view.status
'done'

Without ``on_gate`` the call returns at the first gate (``status == "waiting"``, what waits in
``view.waiting``); answer it later with ``run_setup(run_id=view.run_id, on_gate=…)`` or from the
command line (``vaultborn approve RUN``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vaultborn.approvals.policy import Policy
from vaultborn.approvals.request import answer_for, checked_ttl
from vaultborn.browser.pool import BrowserPool
from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import prepare_database
from vaultborn.nodes.deps import BrowserChoice
from vaultborn.runner import wiring
from vaultborn.runner.drive import OnGate, drive_run, first_state
from vaultborn.runner.fleet import account_of, plan_fleet
from vaultborn.runner.leases import hold_run
from vaultborn.runner.plan import Plan, load_plan
from vaultborn.runner.runs import RunView, new_run_id
from vaultborn.runner.runtime import RunOptions
from vaultborn.runner.state_db import keys_home, state_db
from vaultborn.runner.wiring import Settings
from vaultborn.vault.protocol import Vault

__all__ = ["approve_all", "open_vault", "run_setup"]

DEFAULT_TTL = 3600.0
"""Seconds an approval request stays answerable, as the CLI's default."""


def run_setup(
    plan: Plan | str | Path | None = None,
    *,
    policy: Policy | None = None,
    on_gate: OnGate | None = None,
    run_id: str | None = None,
    home: Path | None = None,
    database: str | None = None,
    vault_backend: str | None = None,
    headed: bool = False,
    approval_ttl: float = DEFAULT_TTL,
) -> RunView:
    """Run a setup (``plan``, a TOML file, or the embedded demo) until done or unanswered.

    Args:
        plan: The plan, a path to its TOML, or None for the embedded defaults.
        policy: Which actions are allowed, asked or denied (default: ask before every effect).
        on_gate: Answers each gate (see ``OnGate``); None returns at the first one.
        run_id: Continue this run instead of starting one (``plan`` must then be None).
        home: The data directory (default ``$VAULTBORN_HOME`` or ``~/.vaultborn``).
        database: The run database's URL (default the SQLite file in ``home``).
        vault_backend: ``local`` or ``op`` (default: the plan's, or the environment's).
        headed: Show Chromium's window.
        approval_ttl: Seconds each request stays answerable.

    Raises:
        UsageError: A plan and a run id together, a bad plan, an ``approval_ttl`` that is not
            a finite number of seconds up to 30 days, or an unfinished run for the plan's
            account (finish or cancel it first).
        VaultbornError: Whatever stopped the run (typed: a service, the vault, the browser).
    """
    if run_id is not None and plan is not None:
        raise UsageError("run_setup continues run_id or starts plan, not both")
    try:
        approval_ttl = checked_ttl(approval_ttl, "approval_ttl")
    except (TypeError, ValueError) as unusable:
        raise UsageError(str(unusable)) from None
    settings = Settings.from_env(vault_backend=vault_backend, home=home)
    loaded, make = None, None
    if run_id is None:  # a new run: its database gets keys (in the plan's vault) if it has none
        loaded = plan if isinstance(plan, Plan) else _load(plan, settings)
        make = keys_home(settings, loaded.vault.backend, loaded.vault.name)
    db = state_db(settings, database, make_keys_in=make)
    prepare_database(db.url)  # a new home gets its state database (0600) before the audit log
    audit = db.audit_log()
    try:
        opts = RunOptions(
            policy=policy or Policy.default(),
            audit=audit,
            approval_ttl=approval_ttl,
            browser=BrowserChoice(headed=headed, pool=BrowserPool(headed=headed)),
        )
        if run_id is not None:
            return drive_run(db, settings, opts, run_id, on_gate=on_gate)
        if loaded is None:  # pragma: no cover - loaded above for a new run
            raise UsageError("run_setup needs a plan or a run id")
        domain, email = account_of(loaded.to_dict())
        # As the CLI: two setups of one account never run at once, nor start beside an
        # unfinished one.
        with hold_run(db.url, f"account:{domain}:{email}", label=f"a setup for {email}"):
            new = new_run_id()
            (item,) = plan_fleet([loaded], db, lambda p, _: first_state(p, new, approval_ttl))
            return drive_run(db, settings, opts, new, first=item.first, on_gate=on_gate)
    finally:
        audit.close()


def approve_all(approver: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """An ``on_gate`` that approves every request as ``approver`` and finishes hand-offs.

    The answer names the run, the request and the digest of what it saw, as a person's
    would: an action that changed meanwhile, or another request, is not approved by it.
    """
    if not approver.strip():
        raise UsageError("approve_all needs the approver's name")

    def answer(waiting: dict[str, Any]) -> dict[str, Any]:
        return answer_for(
            waiting, "approve", approver=approver, reason="approved by the embedding program"
        )

    return answer


def open_vault(backend: str | None = None, *, home: Path | None = None) -> Vault:
    """The vault ``backend`` names, opened as the CLI opens it.

    ``local`` or ``op``; by default ``$VAULTBORN_VAULT_BACKEND``, else the local vault in
    ``home``.

    Raises:
        UsageError: An unknown backend.
        VaultbornError: The backend cannot be opened (the op CLI missing, a damaged vault).
    """
    return wiring.open_vault(Settings.from_env(vault_backend=backend, home=home))


def _load(path: str | Path | None, settings: Settings) -> Plan:
    from dataclasses import replace

    loaded = load_plan(Path(path) if path is not None else None)
    if path is None:  # the embedded defaults use the vault the caller chose
        loaded = replace(loaded, vault=replace(loaded.vault, backend=settings.vault_backend))
    return loaded
