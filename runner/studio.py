"""The setup graph as LangGraph Studio and ``langgraph dev`` run it; its ``Deps`` are the process's.

A server sends each run's context as JSON, so the served graph's context schema is
``StudioContext`` (no fields: nothing about the clients is chosen per run) and its nodes get
their ``Deps`` from ``studio_deps`` (see ``graphs.served``). Those are opened once per server
process, on a run's first node, for that run's plan, the way ``vaultborn setup`` opens them:
the vault ``VAULTBORN_VAULT_BACKEND`` names (the local vault in ``$VAULTBORN_HOME`` by default),
the embedded dev IdP and an in-process AWS emulator when the plan names none, the default
policy (every side effect asked), headless Chromium, and the audit log in the state database of
``$VAULTBORN_HOME`` (``vaultborn audit verify`` checks it). Nothing is auto-approved: each gate
is an interrupt that Studio resumes with the JSON answer the CLI would send —
``{"decision": "approve", "digest": <the waiting digest>, "run_id": <the waiting run_id>,
"request_id": <the waiting request_id>, "approver": NAME, "reason": ""}``, or
``{"done": true, "by": NAME}`` for a hand-off. ``python -m vaultborn.runner.studio`` prints a run's
start input for the default plan.

Checkpoints are the server's (``langgraph dev``: in memory, flushed to ``.langgraph_api/`` on
a clean exit), not the state database; pass ``"durability": "sync"`` when creating a run
through the server's API, as the CLI does (its default is ``"async"``). ``langgraph dev`` needs
``--allow-blocking``: the effect nodes read the vault and write the audit log (SQLite) inside
async code, which its blocking-call detector turns into ``BlockingError`` at the first effect.
The CLI's checks that a run holds its lease and that an account has one setup at a time are
not made here: this is a development surface, one person at a time.
"""

from __future__ import annotations

import atexit
import json
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict

from vaultborn.approvals.policy import Policy
from vaultborn.browser.pool import BrowserPool
from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import prepare_database
from vaultborn.graphs.served import ServedContext
from vaultborn.graphs.setup import build_graph
from vaultborn.graphs.state import PlanData, SetupState
from vaultborn.nodes.deps import BrowserChoice, Deps
from vaultborn.runner.plan import load_plan
from vaultborn.runner.run_keys import KeysHome
from vaultborn.runner.runs import new_run_id
from vaultborn.runner.runtime import RunOptions, open_runtime
from vaultborn.runner.state_db import state_db
from vaultborn.runner.wiring import Settings, open_vault

__all__ = ["StudioContext", "build_studio_graph", "close_studio_runtime", "start_input"]


# A TypedDict (typing_extensions': pydantic wants it on Python 3.11) reaches the nodes as the
# request's JSON dict; a dataclass schema would be called with whatever keys the request holds.
class StudioContext(TypedDict, total=False):
    """Nothing to set: a run's vault, IdP, stores and browser are the serving process's."""


@dataclass(frozen=True)
class _Opened:
    plan: PlanData
    deps: Deps
    stack: ExitStack


_lock = threading.Lock()
_opened: _Opened | None = None


def build_studio_graph() -> CompiledStateGraph[SetupState, StudioContext, SetupState, SetupState]:
    """The setup graph for ``langgraph.json``: no checkpointer, ``Deps`` from this process."""
    return build_graph(served=ServedContext(StudioContext, studio_deps))


def studio_deps(context: StudioContext, state: SetupState) -> Deps:
    """This process's ``Deps``, opened for the plan of the first run that needs them.

    Raises:
        UsageError: The run was started without a plan, or with another plan than the one
            this process's clients serve.
    """
    global _opened
    plan = state.get("plan")
    if not isinstance(plan, dict):
        raise UsageError(
            "a setup run starts from the input 'python -m vaultborn.runner.studio' prints (no plan)"
        )
    with _lock:
        if _opened is None:
            _opened = _open(plan)
            atexit.register(close_studio_runtime)
        elif _opened.plan != plan:
            raise UsageError(
                "this server's clients serve another plan; restart it to set up a new one"
            )
        return _opened.deps


def _open(plan: PlanData) -> _Opened:
    settings = Settings.from_env()
    home = Path(settings.env().get("VAULTBORN_HOME") or Path.home() / ".vaultborn")
    # Studio keeps the checkpoints (LangGraph Server's own); the audit log is the run
    # database's, keyed with its keys (made in the plan's vault if it has none).
    run_db = state_db(
        settings, None, make_keys_in=KeysHome(settings.vault_backend, plan["vault"]["name"])
    )
    prepare_database(run_db.url)
    stack = ExitStack()
    try:
        audit = run_db.audit_log()
        stack.callback(audit.close)
        opts = RunOptions(
            policy=Policy.default_policy(),
            audit=audit,
            browser=BrowserChoice(pool=BrowserPool()),
        )
        deps = stack.enter_context(open_runtime(open_vault(settings), plan, home, opts))
    except BaseException:
        stack.close()
        raise
    return _Opened(plan.copy(), deps, stack)


def close_studio_runtime() -> None:
    """Stop this process's embedded services and close its clients (at exit, and in tests)."""
    global _opened
    with _lock:
        opened, _opened = _opened, None
    if opened is not None:
        opened.stack.close()


def start_input(plan: Path | None = None) -> SetupState:
    """A new run's input (what ``vaultborn setup`` starts from), for ``plan`` or the default."""
    loaded = load_plan(plan)
    return {
        "run_id": new_run_id(),
        "plan": loaded.to_dict(),
        "plan_digest": loaded.digest,
        "started_at": time.time(),
        "session_ttl": 3600.0,
        "status": "running",
    }


if __name__ == "__main__":
    print(json.dumps(start_input()))
