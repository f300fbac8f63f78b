"""The IdP user: its action, and its idempotent creation.

Auth0 (``idp.kind = "auth0"``): look the e-mail up through the Management API, create the
user with the vault's password if it is missing. An OpenID Provider has no standard user API
(``idp.kind = "oidc"``): the user signs up on the application's sign-up page in Chromium with
the vault's password; a page that says the account exists means an earlier run (or a crash
after the form was sent) made it, and the enrollment's login then proves the password.
"""

from __future__ import annotations

import asyncio
from typing import Any

from vaultborn.browser.enroll import VaultPassword, sign_up
from vaultborn.browser.runner import Credentials, FlowOptions
from vaultborn.idp.errors import IdPConflict
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import PlanData, UserRecord

__all__ = ["create_idp_user", "password_ref", "user_args"]


def password_ref(plan: PlanData) -> str:
    """The break-glass password's reference by the plan's names (vault and item title).

    Actions name the item by the plan's names, not by the ids the vault gives it when it is
    made: so ``vaultborn plan`` computes the very actions (and digests) the run will ask about.
    The item step refuses a second item of that title, so the name means one item.
    """
    return f"op://{plan['vault']['name']}/{plan['break_glass']['item']}/password"


def user_args(plan: PlanData) -> dict[str, Any]:
    """The arguments of the ``create_user`` action: the password by reference only."""
    bg = plan["break_glass"]
    if plan["idp"].get("kind", "auth0") == "oidc":
        return {
            "email": bg["email"],
            "signup_url": bg["signup_url"],
            "password": password_ref(plan),
        }
    return {
        "email": bg["email"],
        "connection": plan["idp"]["connection"],
        "password": password_ref(plan),
    }


async def create_idp_user(args: dict[str, Any], deps: Deps) -> UserRecord:
    """The user with ``args["email"]``, created with the vault's password if missing.

    The password is read from the vault into memory for the one request (or form) that
    needs it.
    """
    if "signup_url" in args:
        return await _sign_up(args, deps)
    # The IdP and vault clients block: off the event loop, which other runs share.
    return await asyncio.to_thread(_by_management_api, args, deps)


def _by_management_api(args: dict[str, Any], deps: Deps) -> UserRecord:
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


async def _sign_up(args: dict[str, Any], deps: Deps) -> UserRecord:
    credentials = Credentials(
        username=args["email"], password=VaultPassword(deps.vault, args["password"]).read
    )
    options = FlowOptions(timeout=deps.browser.timeout, clock=deps.clock)
    async with deps.browser.pool.context() as context:
        page = await context.new_page()
        deps.fault("create_user:before")
        report = await sign_up(page, args["signup_url"], credentials, options=options)
        deps.fault("create_user:after")
    # The application's account is named by the e-mail: there is no id to read back.
    return {
        "user_id": args["email"],
        "email": args["email"],
        "created": report.outcome == "signed-up",
    }
