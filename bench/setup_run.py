"""Setup-run benchmark: a whole auto-approved setup through the graph, where its time goes, the
graph's overhead against a straight-line run of the same effects, and the vault calls it makes.

Run: ``.venv/bin/python bench/setup_run.py [--samples 3]``

Per sample, each in a fresh temporary VAULTBORN_HOME (local vault, embedded dev IdP, in-process
moto, headless Chromium): ``open_runtime`` builds the ``Deps`` of the embedded demo plan, then

- graph: ``runner.runs.advance`` runs the whole setup (session gate, propose → gate → effect
  per step, checkpoints, audit) with every approval given by ``--auto-approve``'s approver;
- straight: the same step effects (``nodes.steps.STEPS``), called in order with the arguments
  built from the state as the graph builds them, with no graph, checkpoint or audit.

The run database is opened as ``vaultborn setup`` opens it: its keys born in the local vault,
checkpoints sealed, the audit chain keyed with its witness file. The runs alternate which goes
first. The vault, the management client factory, the token source and the stores are wrapped in
proxies that time and count every public call; the step effects, the browser flows' waits for
the next TOTP time step, the audit appends and each effect's look-up of its approval in the
audit log (``audit-check``) are timed too. Time is booked
to the innermost component (a vault read inside a token request is vault time, not IdP time).
The browser share includes the dev IdP's server-side work behind the pages. The garbage
collector runs at the pace ``vaultborn setup`` gives it (``core.collector``): at CPython's
default pace a collection of the whole heap (0.2-0.5 s) lands in a run every few runs, in an
effect or between two, wherever it falls. Prints times, counts and ratios only: the machine is
shared, so there is no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import dataclasses
import functools
import inspect
import os
import statistics
import tempfile
import threading
import time
import types
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

import vaultborn.nodes.enrollment
import vaultborn.nodes.verification
from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.policy import Policy
from vaultborn.browser.runner import FlowOptions
from vaultborn.browser.session import BrowserSession
from vaultborn.core.collector import pace_for_a_command
from vaultborn.graphs.checkpoint import prepare_database
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.steps import STEPS, GatedStep, run_effect
from vaultborn.runner import runs
from vaultborn.runner.plan import load_plan
from vaultborn.runner.run_keys import KeysHome
from vaultborn.runner.runtime import RunOptions, open_runtime
from vaultborn.runner.state_db import state_db
from vaultborn.runner.wiring import Settings
from vaultborn.vault.local.backend import LocalVault

GOAL = 0.05
"""The issue's goal: orchestration overhead under 5 % of the straight-line run."""
COMPONENTS = (
    "browser", "totp-wait", "vault", "idp", "store", "effect-code", "audit-write", "audit-check",
)  # fmt: skip
BROWSER_STEPS = ("enroll_totp", "verify")


@dataclasses.dataclass
class _Frame:
    child: float = 0.0


class Tracker:
    """Exclusive time and call counts per component, and each vault call with its step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar(
            "frame", default=None
        )
        self.step: contextvars.ContextVar[str] = contextvars.ContextVar("step", default="-")
        self.reset()

    def reset(self) -> None:
        """Forget everything measured so far."""
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, Counter[str]] = defaultdict(Counter)
        self.vault_calls: list[tuple[str, str, str]] = []
        self.effect_seconds = 0.0
        self.closing_seconds = 0.0
        """Closing Chromium after the run: browser time that the straight-line run pays too."""
        self.sleeps: list[float] = []

    @contextmanager
    def timing(self, component: str, name: str, detail: str = "") -> Iterator[None]:
        """Book the block's time, less that of nested timed blocks, to ``component``."""
        parent, frame = self._frame.get(), _Frame()
        token = self._frame.set(frame)
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self._frame.reset(token)
            with self._lock:
                self.seconds[component] += elapsed - frame.child
                self.calls[component][name] += 1
                if component == "vault":
                    self.vault_calls.append((self.step.get(), name, detail))
                if parent is not None:
                    parent.child += elapsed

    def call(self, component: str, name: str, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        """``fn(*a, **kw)``, timed; a coroutine function's result is awaited inside the timing."""
        detail = _detail(a, kw) if component == "vault" else ""
        if inspect.iscoroutinefunction(fn):

            async def timed() -> Any:
                with self.timing(component, name, detail):
                    return await fn(*a, **kw)

            return timed()
        with self.timing(component, name, detail):
            return fn(*a, **kw)


def _detail(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """Names, references and flags of a vault call (never a value: ``Secret`` is skipped)."""
    parts = [repr(a) for a in args if isinstance(a, str) or a is None]
    parts += [f"{k}={v!r}" for k, v in kwargs.items() if isinstance(v, bool | str | float)]
    return ", ".join(parts)


class Timed:
    """Forwards attribute access to ``target``; its public methods are timed as ``component``."""

    def __init__(self, target: Any, component: str, tracker: Tracker) -> None:
        self._target, self._component, self._tracker = target, component, tracker

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if name.startswith("_") or not callable(attr):
            return attr
        return functools.partial(self._tracker.call, self._component, name, attr)

    def __enter__(self) -> Timed:
        self._tracker.call(self._component, "__enter__", self._target.__enter__)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tracker.call(self._component, "__exit__", self._target.__exit__, *exc_info)

    def reading_with(self, vault: Any) -> Timed:
        """A run's view of a token source (``Deps.for_run``), still timed."""
        return Timed(self._target.reading_with(vault), self._component, self._tracker)


def instrument_steps(tracker: Tracker) -> None:
    """Time every step effect (a browser step's own time is browser time) and the TOTP waits."""
    for name, step in list(STEPS.items()):
        component = "browser" if name in BROWSER_STEPS else "effect-code"
        STEPS[name] = dataclasses.replace(step, effect=_timed_effect(tracker, step, component))

    async def sleep(seconds: float) -> None:
        with tracker.timing("totp-wait", "sleep"):
            tracker.sleeps.append(seconds)
            await asyncio.sleep(seconds)

    options = functools.partial(FlowOptions, sleep=sleep)
    vaultborn.nodes.enrollment.FlowOptions = options  # type: ignore[misc,assignment]
    vaultborn.nodes.verification.FlowOptions = options  # type: ignore[misc,assignment]
    # The verification's call of the protected API is IdP time.
    get = functools.partial(tracker.call, "idp", "protected_api_get", httpx.get)
    vaultborn.nodes.verification.httpx = types.SimpleNamespace(get=get)  # type: ignore[assignment]


def _timed_effect(tracker: Tracker, step: GatedStep, component: str) -> Any:
    inner = step.effect

    async def effect(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
        token = tracker.step.set(step.name)
        started = time.perf_counter()
        try:
            with tracker.timing(component, step.name):
                return await run_effect(dataclasses.replace(step, effect=inner), args, deps)
        finally:
            tracker.effect_seconds += time.perf_counter() - started
            tracker.step.reset(token)

    return effect


def instrumented(deps: Deps, tracker: Tracker) -> Deps:
    """``deps`` with the management factory, token source and stores timed (vault: already)."""
    management, store_for = deps.management, deps.store_for

    def timed_management() -> Any:
        client = tracker.call("idp", "management()", management)
        return Timed(client, "idp", tracker)

    return dataclasses.replace(
        deps,
        management=timed_management,
        tokens=Timed(deps.tokens, "idp", tracker),  # type: ignore[arg-type]
        store_for=lambda target: Timed(store_for(target), "store", tracker),
    )


async def straight_line(deps: Deps, plan: dict[str, Any]) -> None:
    """The step effects in order (each repeat too), arguments built as the graph builds them."""
    state: dict[str, Any] = {"plan": plan}
    for step in STEPS.values():
        for _ in range(step.times(plan)):
            result = await run_effect(step, step.args(state), deps)
            if "human" in result:
                raise RuntimeError(f"{step.name} needs a person: {result['human']}")
            state |= step.recorded(state, result)


@dataclasses.dataclass
class Sample:
    kind: str
    total: float
    runtime_setup: float
    seconds: dict[str, float]
    effects: float
    """Time inside the step effects, and closing Chromium after them."""
    sleeps: list[float]
    vault: Counter[str]
    vault_calls: list[tuple[str, str, str]]
    calls: dict[str, Counter[str]]
    status: str


def one_run(kind: str, root: Path, tracker: Tracker) -> Sample:
    """A whole setup (``graph`` or ``straight``) in a fresh home."""
    home = root / f"{kind}-home"
    os.environ["VAULTBORN_HOME"] = str(home)
    plan = load_plan(None)
    db = state_db(Settings.from_env(), None, make_keys_in=KeysHome("local", plan.vault.name))
    prepare_database(db.url)
    raw = LocalVault.from_env(os.environ)
    audit = _timed_audit(db.audit_log(), tracker)
    opts = RunOptions(policy=Policy.default_policy(), audit=audit, auto_approver="bench")
    try:
        started = time.perf_counter()
        with open_runtime(Timed(raw, "vault", tracker), plan.to_dict(), home, opts) as deps:  # type: ignore[arg-type]
            setup = time.perf_counter() - started
            deps = instrumented(deps, tracker)
            tracker.reset()
            started = time.perf_counter()
            status = asyncio.run(_run_closing(kind, db, deps, plan, tracker))
            total = time.perf_counter() - started
    finally:
        audit.close()
        raw.close()
    return Sample(
        kind=kind,
        total=total,
        runtime_setup=setup,
        seconds=dict(tracker.seconds),
        effects=tracker.effect_seconds + tracker.closing_seconds,
        sleeps=list(tracker.sleeps),
        vault=Counter(tracker.calls["vault"]),
        vault_calls=list(tracker.vault_calls),
        calls={k: Counter(v) for k, v in tracker.calls.items()},
        status=status,
    )


def _timed_audit(audit: AuditLog, tracker: Tracker) -> AuditLog:
    """``audit`` with its appends (witness file included) and approval look-ups timed."""
    append, has_decision = audit.append, audit.has_decision
    audit.append = functools.partial(tracker.call, "audit-write", "append", append)  # type: ignore[method-assign]
    audit.has_decision = functools.partial(  # type: ignore[method-assign]
        tracker.call, "audit-check", "has_decision", has_decision
    )
    return audit


async def _run_closing(kind: str, db: runs.StateDb, deps: Deps, plan: Any,
                       tracker: Tracker) -> str:  # fmt: skip
    """One run on one event loop, closing the run's Chromium on it (browser time, not the
    graph's: the straight-line run closes it too)."""
    try:
        if kind == "graph":
            return await _graph(db, deps, plan)
        await straight_line(deps, plan.to_dict())
        return "done"
    finally:
        started = time.perf_counter()
        with tracker.timing("browser", "close"):
            await deps.browser.pool.close()
        tracker.closing_seconds += time.perf_counter() - started


async def _graph(db: runs.StateDb, deps: Deps, plan: Any) -> str:
    run_id = runs.new_run_id()
    first = {
        "run_id": run_id,
        "plan": plan.to_dict(),
        "plan_digest": plan.digest,
        "started_at": time.time(),
        "status": "running",
    }
    view = await runs.advance(db, deps, run_id, start=first)
    return f"{view.status}{f' ({view.reason})' if view.reason else ''}"


def expected_vault_calls(seeds: int) -> Counter[str]:
    """The hand-run chain of the issue, by vault method.

    create, reveal (the password, for the IdP user), set OTP, code (to confirm), one read per
    seed, one client-secret read (the agent's token).
    """
    return Counter(create_item=1, read=2 + seeds, set_otp=1, otp_code=1)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


def report(samples: list[Sample], seeds: int) -> None:
    """Print medians, the overhead ratio and the vault calls."""
    graph = [s for s in samples if s.kind == "graph"]
    straight = [s for s in samples if s.kind == "straight"]

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    def wait(s: Sample) -> float:
        return s.seconds.get("totp-wait", 0.0)

    print(f"samples: {len(graph)} (graph status: {', '.join(s.status for s in graph)})")
    setup = med([s.runtime_setup for s in samples])
    print(f"runtime setup (dev IdP, moto, demo secrets), median: {_ms(setup).strip()}")
    print("median time          graph     straight")
    totals = med([s.total for s in graph]), med([s.total for s in straight])
    print(f"  end to end    {_ms(totals[0])} {_ms(totals[1])}")
    for component in COMPONENTS:
        g = med([s.seconds.get(component, 0.0) for s in graph])
        t = med([s.seconds.get(component, 0.0) for s in straight])
        print(f"  {component:<13} {_ms(g)} {_ms(t)}")
    orch = [s.total - sum(s.seconds.values()) for s in graph]
    rest = [s.total - sum(s.seconds.values()) for s in straight]
    note = "(the rest: graph, checkpoints, audit)"
    print(f"  orchestration {_ms(med(orch))} {_ms(med(rest))}  {note}")
    waits = [len(s.sleeps) for s in samples]
    print(f"TOTP waits: {sum(waits)} over {len(samples)} runs (per run: {waits}); "
          f"median wait per run {_ms(med([wait(s) for s in samples])).strip()}")  # fmt: skip

    overhead = [(g.total - s.total) / s.total for g, s in zip(graph, straight, strict=True)]
    no_wait = [
        ((g.total - wait(g)) - (s.total - wait(s))) / (s.total - wait(s))
        for g, s in zip(graph, straight, strict=True)
    ]
    own = [(s.total - s.effects) / (s.effects - wait(s)) for s in graph]
    print(f"overhead (graph - straight) / straight, median: {med(overhead):+.1%} "
          f"(per sample: {', '.join(f'{x:+.1%}' for x in overhead)})")  # fmt: skip
    print(f"  same, TOTP waits taken out of both: {med(no_wait):+.1%} "
          f"(per sample: {', '.join(f'{x:+.1%}' for x in no_wait)})")  # fmt: skip
    print(f"orchestration-only time (graph total - time inside effects), median: "
          f"{_ms(med([s.total - s.effects for s in graph])).strip()} = {med(own):.1%} of the "
          "effects' time without waits")  # fmt: skip
    # The goal is the orchestration's own time against the effects' (waits excluded): the
    # graph-vs-straight difference above also carries the browser's run-to-run noise (±5 %).
    verdict = "meets" if med(own) < GOAL else "does not meet"
    print(f"goal: orchestration under {GOAL:.0%} of the effects' own time → {verdict} it")
    checks = [s.seconds.get("audit-check", 0.0) / (s.effects - wait(s)) for s in graph]
    looked = graph[0].calls.get("audit-check", Counter())["has_decision"]
    print(f"  of it, the effects' look-ups of their approval in the audit log: "
          f"{_ms(med([s.seconds.get('audit-check', 0.0) for s in graph])).strip()} for {looked} "
          f"effects = {med(checks):.2%} of the effects' time")  # fmt: skip

    print("calls per run (graph, first sample):")
    for component, counts in sorted(graph[0].calls.items()):
        print(f"  {component}: " + ", ".join(f"{k}×{v}" for k, v in sorted(counts.items())))
    expected, actual = expected_vault_calls(seeds), graph[0].vault
    straight_count = sum(straight[0].vault.values())
    print(f"vault calls per enrollment: {sum(actual.values())} (hand-run chain: "
          f"{sum(expected.values())}); straight-line run: {straight_count}")  # fmt: skip
    for method in sorted(set(expected) | set(actual)):
        diff = actual[method] - expected[method]
        print(f"  {method:<12} graph {actual[method]:2}  hand-run {expected[method]:2}  {diff:+d}")
    print("vault calls by step (graph, first sample):")
    for step, method, detail in graph[0].vault_calls:
        print(f"  {step:<12} {method}({detail})")


async def warm_up() -> None:
    """One Chromium launch, so the first measured run does not pay the cold start alone."""
    async with BrowserSession():
        pass


def main() -> None:
    """Parse arguments and run the benchmark in a temporary directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    pace_for_a_command()  # as the CLI's process runs
    tracker = Tracker()
    instrument_steps(tracker)
    asyncio.run(warm_up())
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.samples):
            order = ("graph", "straight") if index % 2 == 0 else ("straight", "graph")
            for kind in order:
                samples.append(one_run(kind, Path(tmp) / f"s{index}", tracker))
    report(samples, len(load_plan(None).to_dict().get("seed", [])))


if __name__ == "__main__":
    main()
