"""Verification of the chain: agent → M2M token → protected API, and the break-glass drill."""

from __future__ import annotations

import asyncio
from typing import Any, NotRequired

import httpx
from typing_extensions import TypedDict

from vaultborn.browser.enroll import VaultPassword, VaultTotpTarget, login_drill
from vaultborn.browser.runner import FlowOptions, FlowReport
from vaultborn.core.tls import tls_context
from vaultborn.idp.errors import IdPError, InvalidToken
from vaultborn.idp.verify import unverified_claims
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.enrollment import browser_flow_key
from vaultborn.nodes.state import SetupState, VerifyRecord
from vaultborn.vault.secret import Secret

__all__ = [
    "agent_token_checks",
    "drill_login",
    "mark_code_steps",
    "proves_a_login",
    "remember_enrollment_codes",
    "verify_chain",
]


async def verify_chain(args: dict[str, Any], deps: Deps) -> VerifyRecord:
    """Check the agent's token, then log in as the break-glass user with vault secrets.

    The token goes to the protected API (the plan's, else the embedded demo API); with a
    tenant of your own and no API named, it is checked against the IdP's JWKS instead.

    Raises:
        IdPError: The token was refused, the API did not accept it, or it failed the JWKS
            check.
    """
    # Token, API and JWKS calls block: off the event loop, which other runs share.
    checks = await asyncio.to_thread(_token_checks, args, deps)
    login_url = args.get("login_url") or (
        deps.idp_base_url + "login" if deps.login_url is None else deps.login_url
    )
    if not login_url:
        return {**checks, "login_drill": "skipped: no break_glass.login_url in the plan"}
    if not args.get("login_drill", True):
        return {**checks, "login_drill": "skipped: the approved action has none"}
    report = await drill_login(args, deps, login_url, fault="verify:before")
    return {**checks, "login_drill": report.outcome, "login_drill_codes": report.codes_sent}


async def drill_login(
    args: dict[str, Any], deps: Deps, login_url: str, *, fault: str | None = None
) -> FlowReport:
    """Log in at ``login_url`` as ``args["email"]`` with the vault's password and a code.

    The drill runs in the page the enrollment handed on (wiped: a renderer saved), and counts
    there only if it went through the login form and a code (``proves_a_login``); else it
    runs again in a context of its own. ``fault`` is the test hook's name before each try.

    Raises:
        LoginRefused: The password was refused.
        CodeRefused: The code was refused, also in the next time step.
        BrowserError: Any other of the flow's errors.
    """
    options = FlowOptions(
        on_human=deps.browser.on_human,
        timeout=deps.browser.timeout,
        steps=deps.browser.steps,
        clock=deps.clock,
        sleep=deps.browser.wait,
    )

    async def drill(take: str | None) -> tuple[FlowReport, bool]:
        async with deps.browser.pool.page(take=take) as lent:
            if fault is not None:
                deps.fault(fault)
            report = await login_drill(
                lent.page,
                login_url,
                VaultTotpTarget(deps.vault, args["vault"], args["item"]),
                username=args["email"],
                password=VaultPassword(deps.vault, args["password"]),
                options=options,
            )
        return report, lent.reused

    report, reused = await drill(browser_flow_key(args))
    if reused and not proves_a_login(report):
        report, _ = await drill(None)
    return report


def proves_a_login(report: FlowReport) -> bool:
    """Whether a drill typed the password into a login form and a code, and got in."""
    return (
        report.outcome in ("success-screen", "left-login")
        and report.codes_sent > 0
        and any(screen.endswith(":login") for screen in report.screens)
    )


def remember_enrollment_codes(state: SetupState, deps: Deps) -> None:
    """Tell this process's flows which time steps the enrollment's codes used.

    The drill may run in another process than the enrollment (a resume, the next ``approve``):
    knowing the steps, it sends a code for a step not used yet at once instead of sending a
    used one, being refused and waiting for the next step.
    """
    enrollment = state.get("enrollment")
    mark_code_steps(state, deps, enrollment.get("code_steps") if enrollment else None)


def mark_code_steps(state: SetupState, deps: Deps, steps: list[int] | None) -> None:
    """Mark ``steps`` used for the plan's break-glass item in this process's drill."""
    if not steps:
        return
    # Named as the enrollment and the drill name the item: by the plan's vault and item names
    # (their actions' arguments), so the marks land where the drill looks.
    plan = state["plan"]
    key = VaultTotpTarget(deps.vault, plan["vault"]["name"], plan["break_glass"]["item"]).key
    for step in steps:
        deps.browser.steps.mark(key, int(step))


# Closed (no key but these): unpacked into a VerifyRecord, whose other optional keys they must
# not be able to carry.
class _TokenCheck(TypedDict, closed=True):
    token_check: str
    api_status: NotRequired[int]


class _TokenChecks(TypedDict, closed=True):
    token_subject: str
    token_audience: str | list[str] | None
    token_check: str
    api_status: NotRequired[int]


def agent_token_checks(args: dict[str, Any], deps: Deps) -> _TokenChecks:
    """A new token for the agent with exactly the vault's secret, checked as ``verify`` does.

    ``args``: ``client_id``, ``secret``, ``audience``, ``scope`` and ``protected_api``. The
    cached token is dropped first: a check of the secret must reach the IdP.

    Raises:
        IdPError: The token was refused, or the API or the JWKS check did not accept it.
    """
    deps.tokens.invalidate(args["client_id"], args["audience"])
    return _token_checks(args, deps)


def _token_checks(args: dict[str, Any], deps: Deps) -> _TokenChecks:
    # fallback=False: a verification proves the vault's value itself, not the previous one a
    # rotation may keep beside it.
    token = deps.tokens.token(
        args["client_id"],
        args["secret"],
        args["audience"],
        scope=args.get("scope") or None,
        fallback=False,
    )
    claims = unverified_claims(token.reveal())
    return {
        "token_subject": str(claims.get("sub", "")),
        "token_audience": claims.get("aud"),
        **_check_token(token, args, deps),
    }


def _check_token(token: Secret, args: dict[str, Any], deps: Deps) -> _TokenCheck:
    """The protected API's answer to the token, or — with none configured — the JWKS check."""
    api = args.get("protected_api") or deps.protected_api
    if not api:
        provider = deps.tokens.provider
        try:
            provider.verifier(args["audience"], clock=deps.clock).verify(token)
        except InvalidToken as refused:
            raise IdPError(f"the agent's token fails the IdP's own JWKS check: {refused}") from None
        return {"token_check": f"signature and claims against {provider.metadata().jwks_uri}"}
    response = httpx.get(
        api, headers={"Authorization": f"Bearer {token.reveal()}"}, timeout=10, verify=tls_context()
    )
    if response.status_code != 200:
        raise IdPError(
            f"the protected API {api} answered {response.status_code} to the agent's token"
        )
    return {"api_status": response.status_code, "token_check": f"accepted by {api}"}
