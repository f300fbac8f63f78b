"""The gated steps of the setup: what each one is asked as, and what it does once approved.

A ``GatedStep`` turns the state into the action's arguments (references and plain values
only: the digest a person approves covers exactly what the effect will do) and runs the
effect. ``gate_key`` tells apart the repeats of one step (one seed per target).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, cast

from vaultborn.nodes.deps import Deps
from vaultborn.nodes.enrollment import enroll_args, enroll_totp_step
from vaultborn.nodes.idp_user import create_idp_user, user_args
from vaultborn.nodes.seeding import seed_args, seed_target
from vaultborn.nodes.step_vault import StepVault
from vaultborn.nodes.vault_item import create_break_glass_item, item_args
from vaultborn.nodes.verification import remember_enrollment_codes, verify_chain

__all__ = ["STEPS", "GatedStep", "next_seed_index", "run_effect"]

Effect = Callable[[dict[str, Any], Deps], dict[str, Any] | Awaitable[dict[str, Any]]]


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
        prepare: Readies this process's ``Deps`` from the state before the effect (in memory
            only: nothing a person approves, nothing the digest covers).
    """

    name: str
    effects: tuple[str, ...]
    state_key: str
    args: Callable[[dict[str, Any]], dict[str, Any]]
    summary: Callable[[dict[str, Any]], str]
    effect: Effect
    prepare: Callable[[dict[str, Any], Deps], None] | None = None

    def gate_key(self, state: dict[str, Any]) -> str:
        """The key of this step's approval (``seed[i]`` for seeds)."""
        if self.name == "seed":
            return f"seed[{next_seed_index(state)}]"
        return self.name


def next_seed_index(state: dict[str, Any]) -> int:
    """The first target of the plan not seeded yet (``len(targets)`` when all are)."""
    done = state.get("seeds", {})
    targets = [s["to"] for s in state["plan"].get("seed", [])]
    return next((i for i, t in enumerate(targets) if t not in done), len(targets))


async def run_effect(step: GatedStep, args: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Run ``step``'s effect: awaited if async, else in a worker thread.

    A plain effect blocks (vault, IdP and store calls); on the event loop it would stall every
    other run sharing the loop (``setup --plan-dir``, ``worker``). The effect sees the vault
    through a ``StepVault``: an item it needs several values of is read once.
    """
    deps = replace(deps, vault=StepVault(deps.vault, clock=deps.clock))
    if inspect.iscoroutinefunction(step.effect):
        result: dict[str, Any] = await step.effect(args, deps)
        return result
    return cast(dict[str, Any], await asyncio.to_thread(step.effect, args, deps))


def _verify_args(state: dict[str, Any]) -> dict[str, Any]:
    agent, item, user = state["plan"]["agent"], state["item"], state["user"]
    return {
        "client_id": agent["client_id"],
        "secret": agent["secret"],
        "audience": agent["audience"],
        "email": user["email"],
        "vault": item["vault_id"],
        "item": item["item_id"],
        "password": item["password_ref"],
        # Part of what is approved: the agent's token goes to this API, the password to
        # this login page.
        "protected_api": agent.get("protected_api") or "",
        "login_url": state["plan"]["break_glass"].get("login_url") or "",
        **({"scope": agent["scope"]} if agent.get("scope") else {}),
    }


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
        args=lambda s: user_args(s["plan"], s["item"]),
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
        args=lambda s: enroll_args(s["plan"], s["item"], s["user"]),
        summary=lambda a: (
            f"Enroll TOTP for {a['user_id']} ({a['strategy']}"
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
    ),
    "verify": GatedStep(
        name="verify",
        effects=(),
        state_key="verify",
        args=_verify_args,
        summary=lambda a: (
            f"Verify: token for {a['client_id']} → protected API, and a break-glass login drill"
        ),
        effect=verify_chain,
        prepare=remember_enrollment_codes,
    ),
}
