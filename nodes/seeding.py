"""Seeding runtime stores one way: the vault's current value becomes the target's current one."""

from __future__ import annotations

from typing import Any

from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import PlanData
from vaultborn.stores.seed import SeedReceiptData, seed

__all__ = ["seed_args", "seed_target"]


def seed_args(plan: PlanData, index: int) -> dict[str, Any]:
    """The arguments of the ``seed`` action for the plan's ``index``-th target."""
    entry = plan["seed"][index]
    return {"from": entry["from"], "to": entry["to"]}


def seed_target(args: dict[str, Any], deps: Deps) -> SeedReceiptData:
    """Seed one target (the store's idempotency key makes a repeat a no-op); the receipt."""
    deps.fault("seed:before")
    receipt = seed(deps.vault, args["from"], deps.store_for(args["to"]), args["to"])
    deps.fault("seed:after")
    return receipt.as_dict()
