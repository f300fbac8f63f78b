"""The gated steps of the setup, in order.

This is the one list that the graph, the plan check, the policy's action names and the agent's
tools are all derived from.

A ``GatedStep`` turns the state into the action's arguments (references and plain values
only: the digest a person approves covers exactly what the effect will do) and runs the
effect. A step done once per entry of a list in the plan (``seed``: once per store target)
says so with ``Repeats``; ``gate_key`` tells its repeats apart, ``recorded`` files each result
under its entry, and ``left`` says whether the step still has work in a run.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from typing_extensions import TypeIs

from vaultborn.nodes.deps import Deps
from vaultborn.nodes.enrollment import enroll_args, enroll_totp_step
from vaultborn.nodes.idp_user import create_idp_user, password_ref, user_args
from vaultborn.nodes.seeding import seed_args, seed_target
from vaultborn.nodes.state import HandOff, PlanData, SetupState, StepRecord
from vaultborn.nodes.step_vault import StepVault
from vaultborn.nodes.vault_item import create_break_glass_item, item_args
from vaultborn.nodes.verification import remember_enrollment_codes, verify_chain

__all__ = [
    "ORDER",
    "STEPS",
    "Effect",
    "GatedStep",
    "Repeats",
    "StateKey",
    "StepOutcome",
    "hands_off",
    "next_seed_index",
    "run_effect",
]

StepOutcome = StepRecord | HandOff
"""What an effect returns: the record it files, or a hand-off to a person."""
Effect = Callable[[dict[str, Any], Deps], StepOutcome | Awaitable[StepOutcome]]
"""An effect: the approved action's arguments (its JSON, a person's edits included) → outcome."""


def hands_off(outcome: StepOutcome) -> TypeIs[HandOff]:
    """Whether the effect handed off to a person instead of finishing."""
    return "human" in outcome


StateKey = Literal[
    "item", "user", "enrollment", "seeds", "verify",
    # the lifecycle's (nodes.lifecycle_state):
    "totp_before", "rotated", "new_secrets", "pushed", "verified", "removed", "retired",
    "user_revoked", "client_revoked", "stores_deleted", "archived", "drift",
]  # fmt: skip
"""The state's keys that hold a step's records."""


@dataclass(frozen=True)
class Repeats:
    """A step done once per entry of a plan list, its results kept by the entry's key.

    Attributes:
        plan_list: The plan's list (``seed``).
        key: The entry's field that names it (``to``: the target URI).
        result_key: The result's field holding that name (``target``).
    """

    plan_list: Literal["seed"]
    key: Literal["from", "to"]
    result_key: Literal["target"]

    def entries(self, state: SetupState) -> list[str]:
        """The names of the plan's entries, in order."""
        return [entry[self.key] for entry in state["plan"].get(self.plan_list, [])]

    def next_index(self, state: SetupState, state_key: StateKey) -> int:
        """The first entry with no result yet (``len(entries)`` when all have one)."""
        # A lifecycle run's state (nodes.lifecycle_state) extends SetupState with its own keys.
        filed: Mapping[str, Any] = state
        done = filed.get(state_key) or {}
        names = self.entries(state)
        return next((i for i, name in enumerate(names) if name not in done), len(names))


@dataclass(frozen=True)
class GatedStep:
    """One step that a person approves before it runs.

    Attributes:
        name: The action's name (and the policy's key).
        effects: The external side effects (empty: a read-only step).
        state_key: Where the effect's result goes in the state.
        args: The action's arguments from the state.
        summary: One line for the person, from the arguments.
        effect: Does it (idempotently), returning the result.
        prepare: Readies this process's ``Deps`` from the state before the effect (nothing a
            person approves, nothing the digest covers); it runs in a worker thread.
        repeats: Set for a step done once per entry of a plan list.
    """

    name: str
    effects: tuple[str, ...]
    state_key: StateKey
    args: Callable[[SetupState], dict[str, Any]]
    summary: Callable[[dict[str, Any]], str]
    effect: Effect
    prepare: Callable[[SetupState, Deps], None] | None = None
    repeats: Repeats | None = None

    def gate_key(self, state: SetupState) -> str:
        """The key of this step's approval: its name, ``seed[i]`` for a repeat."""
        if self.repeats is None:
            return self.name
        return f"{self.name}[{self.repeats.next_index(state, self.state_key)}]"

    def times(self, plan: PlanData) -> int:
        """How many times a run of ``plan`` does this step."""
        return 1 if self.repeats is None else len(plan.get(self.repeats.plan_list, []))

    def left(self, state: SetupState) -> bool:
        """Whether the run still has this step (or a repeat of it) to do."""
        if self.repeats is None:
            return self.state_key not in state
        return self.repeats.next_index(state, self.state_key) < self.times(state["plan"])

    def recorded(self, state: SetupState, result: StepRecord) -> SetupState:
        """The state update that keeps ``result`` (a repeat's under its entry's name)."""
        # Plain data here: the key is the step's own (data), and mypy checks the keys of a
        # TypedDict written as literals only. STEPS pairs each key with the effect whose record
        # it holds; a unit test holds a real run's records to SetupState's.
        update: dict[str, object]
        if self.repeats is None:
            update = {self.state_key: result}
        else:
            filed: Mapping[str, Any] = result
            earlier: Mapping[str, Any] = state
            done = dict(earlier.get(self.state_key) or {})
            done[filed[self.repeats.result_key]] = result
            update = {self.state_key: done}
        return cast(SetupState, update)


_SEEDS = Repeats(plan_list="seed", key="to", result_key="target")


def next_seed_index(state: SetupState) -> int:
    """The first target of the plan not seeded yet (``len(targets)`` when all are)."""
    return _SEEDS.next_index(state, "seeds")


async def run_effect(step: GatedStep, args: dict[str, Any], deps: Deps) -> StepOutcome:
    """Run ``step``'s effect: awaited if async, else in a worker thread.

    A plain effect blocks (vault, IdP and store calls); on the event loop it would stall every
    other run sharing the loop (``setup --plan-dir``, ``worker``). The effect sees the vault
    through a ``StepVault``: an item it needs several values of is read once.
    """
    deps = replace(deps, vault=StepVault(deps.vault, clock=deps.clock, move=deps.move))
    if inspect.iscoroutinefunction(step.effect):
        result: StepOutcome = await step.effect(args, deps)
        return result
    done = await asyncio.to_thread(step.effect, args, deps)
    if inspect.isawaitable(done):  # pragma: no cover - a plain effect returns its outcome
        return await done
    return done


def _verify_args(state: SetupState) -> dict[str, Any]:
    plan = state["plan"]
    agent, bg = plan["agent"], plan["break_glass"]
    login_url = bg.get("login_url") or ""
    return {
        "client_id": agent["client_id"],
        "secret": agent["secret"],
        "audience": agent["audience"],
        "email": bg["email"],
        "vault": plan["vault"]["name"],
        "item": bg["item"],
        "password": password_ref(plan),
        # Part of what is approved: the agent's token goes to this API, the password to
        # this login page.
        "protected_api": agent.get("protected_api") or "",
        "login_url": login_url,
        # The embedded dev IdP has a login page of its own; a tenant of yours is drilled only
        # on the page its plan names.
        "login_drill": bool(login_url) or not plan["idp"].get("domain"),
        **({"scope": agent["scope"]} if agent.get("scope") else {}),
    }


def _verify_summary(a: dict[str, Any]) -> str:
    api = a["protected_api"] or "the protected API"
    if a.get("login_url"):
        drill = f", and a break-glass login drill at {a['login_url']}"
    elif a.get("login_drill"):
        drill = ", and a break-glass login drill on the IdP's login page"
    else:
        drill = "; no login drill (the plan names no break_glass.login_url)"
    return f"Verify: token for {a['client_id']} → {api}{drill}"


STEPS: dict[str, GatedStep] = {
    "create_item": GatedStep(
        name="create_item",
        effects=("vault.create_item",),
        state_key="item",
        args=lambda s: item_args(s["plan"]),
        summary=lambda a: (
            f"Create the break-glass item {a['title']!r} in vault {a['vault']!r} "
            f"(password generated in the vault: {a['password_recipe']})"
        ),
        effect=create_break_glass_item,
    ),
    "create_user": GatedStep(
        name="create_user",
        effects=("idp.create_user",),
        state_key="user",
        args=lambda s: user_args(s["plan"]),
        summary=lambda a: (
            f"Sign up {a['email']} at {a['signup_url']} with the password {a['password']}"
            if "signup_url" in a
            else f"Create the IdP user {a['email']} in {a['connection']} with the password "
            f"{a['password']}"
        ),
        effect=create_idp_user,
    ),
    "enroll_totp": GatedStep(
        name="enroll_totp",
        effects=("idp.enroll_totp", "vault.set_otp"),
        state_key="enrollment",
        args=lambda s: enroll_args(s["plan"]),
        summary=lambda a: (
            f"Enroll TOTP for {a['email']} ({a['strategy']}"
            + (
                f" at {a['enroll_url']}, logged in with {a['password']}"
                if "enroll_url" in a
                else ""
            )
            + "); the secret goes only into the vault item's OTP field"
        ),
        effect=enroll_totp_step,
    ),
    "seed": GatedStep(
        name="seed",
        effects=("store.put",),
        state_key="seeds",
        args=lambda s: seed_args(s["plan"], next_seed_index(s)),
        summary=lambda a: f"Seed {a['to']} from {a['from']} (one way: vault → store)",
        effect=seed_target,
        repeats=_SEEDS,
    ),
    "verify": GatedStep(
        name="verify",
        effects=(),
        state_key="verify",
        args=_verify_args,
        summary=_verify_summary,
        effect=verify_chain,
        prepare=remember_enrollment_codes,
    ),
}

ORDER: tuple[str, ...] = tuple(STEPS)
"""The steps' names, in the order a run takes them."""
