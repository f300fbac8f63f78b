"""The IdP user: its action, and its idempotent creation (look up by e-mail, then create)."""

from __future__ import annotations

from typing import Any

from idp.errors import IdPConflict
from nodes.deps import Deps

__all__ = ["create_idp_user", "user_args"]


def user_args(plan: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """The arguments of the ``create_user`` action: the password by reference only."""
    return {
        "email": plan["break_glass"]["email"],
        "connection": plan["idp"]["connection"],
        "password": item["password_ref"],
    }


def create_idp_user(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """The user with ``args["email"]``, created with the vault's password if missing.

    The password is read from the vault into memory for the one request that needs it.
    """
    with deps.management() as mgmt:
        existing = mgmt.users_by_email(args["email"])
        if existing:
            return {"user_id": existing[0]["user_id"], "email": args["email"], "created": False}
        password = deps.vault.read(args["password"])
        deps.fault("create_user:before")
        try:
            user = mgmt.create_user(args["email"], password, args["connection"])
        except IdPConflict:  # created meanwhile (another process, or an answer lost to a crash)
            found = mgmt.users_by_email(args["email"])
            if not found:
                raise
            return {"user_id": found[0]["user_id"], "email": args["email"], "created": False}
        deps.fault("create_user:after")
    return {"user_id": user["user_id"], "email": args["email"], "created": True}
