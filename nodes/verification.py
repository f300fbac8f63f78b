"""Verification of the chain: agent → M2M token → protected API, and the break-glass drill."""

from __future__ import annotations

from typing import Any

import httpx

from browser.enroll import VaultPassword, VaultTotpTarget, login_drill
from browser.runner import FlowOptions
from idp.errors import IdPError
from idp.verify import unverified_claims
from nodes.deps import Deps

__all__ = ["verify_chain"]


async def verify_chain(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Call the protected API with the agent's token, then log in as the break-glass user.

    Raises:
        IdPError: The token was refused or the API did not accept it.
    """
    token = deps.tokens.token(args["client_id"], args["secret"], args["audience"])
    claims = unverified_claims(token.reveal())
    response = httpx.get(
        deps.protected_api,
        headers={"Authorization": f"Bearer {token.reveal()}"},
        timeout=10,
    )
    if response.status_code != 200:
        raise IdPError(
            f"the protected API {deps.protected_api} answered {response.status_code} to the "
            "agent's token"
        )
    result: dict[str, Any] = {
        "api_status": response.status_code,
        "token_subject": str(claims.get("sub", "")),
        "token_audience": claims.get("aud"),
    }
    options = FlowOptions(
        on_human=deps.browser.on_human, timeout=deps.browser.timeout, clock=deps.clock
    )
    async with deps.browser.pool.context() as context:
        page = await context.new_page()
        report = await login_drill(
            page,
            deps.idp_base_url + "login",
            VaultTotpTarget(deps.vault, args["vault"], args["item"]),
            username=args["email"],
            password=VaultPassword(deps.vault, args["password"]),
            options=options,
        )
    result["login_drill"] = report.outcome
    return result
