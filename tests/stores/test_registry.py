"""The store registry picks a backend by scheme and names the known ones otherwise.

A backend of the test's own (``memory://``) shows what adding a store takes: one class and one
``register`` call, after which ``seed``, the plan and the plan checks take its targets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.scale.plans import demo_plan_text
from tests.stores.conftest import REF, make_item
from vaultborn.runner.plan import parse_plan
from vaultborn.runner.plan_check import check_plan
from vaultborn.stores import registry
from vaultborn.stores.errors import InvalidTarget
from vaultborn.stores.protocol import (
    Deleted,
    DeleteOutcome,
    Outcome,
    Provenance,
    PutResult,
    StoreState,
)
from vaultborn.stores.registry import (
    Backend,
    Readiness,
    StoreContext,
    known_schemes,
    open_stores,
    parse_target,
    register,
)
from vaultborn.stores.target import AWS_SCHEME
from vaultborn.vault.local import LocalVault
from vaultborn.vault.secret import Secret


def test_a_known_scheme_is_parsed_by_its_backend() -> None:
    assert parse_target(f"{AWS_SCHEME}://us-east-1/prod/api-key") == (
        f"{AWS_SCHEME}://us-east-1/prod/api-key"
    )


def test_the_backend_parser_stays_strict() -> None:
    with pytest.raises(InvalidTarget, match="not an AWS region"):
        parse_target(f"{AWS_SCHEME}://nowhere/prod/api-key")


@pytest.mark.parametrize("text", ["gh-actions://org/repo/KEY", "prod/api-key", ""])
def test_an_unknown_scheme_is_one_line_listing_the_known_ones(text: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target(text)
    message = str(caught.value)
    assert "\n" not in message
    assert all(f"{s}://" in message for s in known_schemes())


# -- a backend of the test's own: one class and one registration -------------------------------

MEMORY: dict[str, tuple[str, str]] = {}
"""name → (value, idempotency key): what the test backend holds."""


class MemoryStore:
    """A store of this test's own, registered under ``memory://NAME``."""

    scheme = "memory"

    def put(self, target: str, secret: Secret, provenance: Provenance, key: str) -> PutResult:
        name = _memory_target(target)
        outcome = (
            Outcome.UNCHANGED
            if MEMORY.get(name, ("", ""))[1] == key
            else Outcome.UPDATED
            if name in MEMORY
            else Outcome.CREATED
        )
        MEMORY[name] = (secret.reveal(), key)
        return PutResult(key, outcome)

    def describe(self, target: str) -> StoreState:
        name = _memory_target(target)
        return StoreState(target, name in MEMORY, MEMORY.get(name, (None, None))[1])

    def versions(self, target: str) -> int:
        return int(_memory_target(target) in MEMORY)

    def delete(self, target: str, *, recovery_days: int = 30) -> Deleted:
        gone = MEMORY.pop(_memory_target(target), None)
        return Deleted(target, DeleteOutcome.DELETED if gone else DeleteOutcome.ABSENT)


def _memory_target(text: str) -> str:
    name = text.removeprefix("memory://")
    if not name.isidentifier():
        raise InvalidTarget(f"store target {text!r}: memory:// takes a Python identifier")
    return name


@pytest.fixture
def memory_backend(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``memory://`` registered for the test; returns the notices its opening made."""
    opened: list[str] = []

    def open_memory(ctx: StoreContext) -> MemoryStore:
        opened.append("memory")
        return MemoryStore()

    def readiness(env: Mapping[str, str], home: Path) -> Readiness:
        return Readiness("memory", "ok", "this process's memory")

    known_schemes()  # the built-ins first, so the test's entry goes beside them
    monkeypatch.setattr(registry, "_BACKENDS", dict(registry._BACKENDS))
    MEMORY.clear()
    register(Backend("memory", lambda t: f"memory://{_memory_target(t)}", open_memory, readiness))
    return opened


def test_a_registered_backend_serves_seed_from_the_cli(cli: Run, memory_backend: list[str]) -> None:
    make_item(cli, "kept-in-memory-0123456789")
    first = cli("seed", REF, "memory://api_key", "--json")
    second = cli("seed", REF, "memory://api_key", "--json")
    assert first.code == 0 and second.code == 0, (first, second)
    assert [json.loads(r.out)["outcome"] for r in (first, second)] == ["created", "unchanged"]
    assert MEMORY["api_key"][0] == "kept-in-memory-0123456789"
    assert "embedded" not in first.err + second.err  # no AWS was opened for it
    bad = cli("seed", REF, "memory://not-an-identifier")
    assert bad.code == 2 and "memory:// takes a Python identifier" in bad.err


def test_a_plan_takes_the_registered_scheme_and_checks_its_system(
    memory_backend: list[str], tmp_path: Path
) -> None:
    text = demo_plan_text(1).replace(
        "aws-secretsmanager://us-east-1/vaultborn-fleet/agent-01", "memory://fleet_01"
    )
    plan = parse_plan(text, "p.toml")
    assert [s.target for s in plan.seeds] == ["memory://fleet_01"]
    vault = LocalVault(tmp_path / "home")
    try:
        checks = {c.name: c for c in check_plan(plan, vault, {}, tmp_path)}
    finally:
        vault.close()
    assert checks["memory"].status == "ok" and "aws" not in checks


def test_stores_open_on_first_use_and_aws_once_for_both_of_its_stores(
    memory_backend: list[str], tmp_path: Path, fresh_moto: str
) -> None:
    notices: list[str] = []
    with open_stores(notices.append, env={}, home=tmp_path) as stores:
        assert notices == [] and memory_backend == []
        memory = stores.store_for("memory://x")
        assert stores.store_for("memory://y") is memory and memory_backend == ["memory"]
        assert notices == []  # nothing of AWS started yet
        sm = stores.store_for("aws-secretsmanager://eu-west-1/x")
        ssm = stores.store_for("aws-ssm://eu-west-1/x")
        assert (sm.scheme, ssm.scheme) == ("aws-secretsmanager", "aws-ssm")
        assert len(notices) == 1 and "embedded AWS emulator (moto)" in notices[0]
        assert not ssm.describe("aws-ssm://eu-west-1/x").exists


def test_an_installed_plug_in_registers_through_its_entry_point(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A package adds a store by naming a module in the ``vaultborn.stores`` entry points;
    one whose module fails to import leaves the others working and is named in the error."""
    (tmp_path / "vb_plugin_store.py").write_text(
        "from vaultborn.stores.registry import Backend, Readiness, register\n"
        "register(Backend('plugged', str, lambda ctx: None, "
        "lambda env, home: Readiness('plugged', 'ok', '')))\n"
    )
    (tmp_path / "vb_broken_store.py").write_text("raise RuntimeError('the plug-in is broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [
        EntryPoint("plugged", "vb_plugin_store", registry.ENTRY_POINTS),
        EntryPoint("broken", "vb_broken_store:register", registry.ENTRY_POINTS),
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: points)
    known_schemes()  # the built-ins are registered (once per process, when first imported)
    monkeypatch.setattr(registry, "_BACKENDS", dict(registry._BACKENDS))
    monkeypatch.setattr(registry, "_BROKEN", [])
    monkeypatch.setattr(registry, "_loaded", False)

    assert registry.backend_for("plugged://x").scheme == "plugged"
    assert {"aws-secretsmanager", "aws-ssm", "plugged"} <= set(known_schemes())
    with pytest.raises(InvalidTarget) as caught:
        registry.backend_for("vault-like://x")
    assert "store plug-ins that did not load: broken (vb_broken_store: RuntimeError)" in str(
        caught.value
    )
