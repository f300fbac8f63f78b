"""TOTP enrollment of the IdP user, the secret kept in the break-glass item's OTP field.

``browser``: a Guardian ticket opened in Chromium, captured through "can't scan", confirmed
with a vault code (``browser.enroll``). ``api``: a seed drawn here, stored in the vault first,
then registered through the Management API. Both start by asking the IdP: a confirmed TOTP
with the seed in the vault means a crash came after the effect, and nothing is done again.

An application's own TOTP page (``idp.kind = "oidc"``, ``break_glass.enroll_url``) has no API
to ask: the flow logs in there with the item's username and password, and the page itself
tells what is done (a login that asks for a code means the seed in the vault is enrolled).

A browser flow that fails transiently (Chromium died, a page hung) is run again on the same
ticket, after asking the IdP again: the ticket's pending secret is the one already in the
vault, so the seed is not written again and no second pending authenticator is left behind.
Only when that fails too does the error go to the node's retry policy (which draws a new
ticket).

A new ticket is drawn only after the TOTP authenticators that earlier tickets left unconfirmed
are removed: a flow that died after the page showed its secret (a crash, a kill, the retry
policy's turn) left one at the IdP, seed included, that nobody will confirm. With it goes its
ticket where the IdP allows (the dev IdP uses it up; Auth0 has no call that revokes a Guardian
ticket, which then lapses by itself).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from typing import Any

from vaultborn.browser.enroll import VaultPassword, VaultTotpTarget, enroll_totp
from vaultborn.browser.errors import BrowserCrashed, NeedsHuman, PageTimeout
from vaultborn.browser.runner import Credentials, FlowOptions
from vaultborn.core.errors import ConfigurationError
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.errors import IdPAuthenticationFailed, IdPForbidden, IdPNotFound
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.state import EnrollmentRecord, HandOff, ItemRecord, PlanData, UserRecord
from vaultborn.vault.model import FieldType
from vaultborn.vault.otp import OtpParameters, build_otpauth_uri
from vaultborn.vault.secret import Secret

__all__ = ["FLOWS_PER_TICKET", "enroll_args", "enroll_totp_step"]

_log = logging.getLogger(__name__)

FLOWS_PER_TICKET = 2
"""Browser flows run on one enrollment ticket before a transient failure leaves the node."""


def enroll_args(plan: PlanData, item: ItemRecord, user: UserRecord) -> dict[str, Any]:
    """The arguments of the ``enroll_totp`` action (an application's page and login, if any)."""
    args: dict[str, Any] = {
        "strategy": plan["break_glass"]["enrollment"],
        "user_id": user["user_id"],
        "vault": item["vault_id"],
        "item": item["item_id"],
    }
    enroll_url = plan["break_glass"].get("enroll_url")
    if enroll_url:
        args.update(enroll_url=enroll_url, password=item["password_ref"])
    return args


async def enroll_totp_step(args: dict[str, Any], deps: Deps) -> EnrollmentRecord | HandOff:
    """Enroll once; returns the ``enrollment`` state, or ``{"human": …}`` when a person must act.

    Raises:
        ConfigurationError: The IdP has a confirmed TOTP whose seed the vault does not hold.
    """
    target = VaultTotpTarget(
        deps.vault,
        args["vault"],
        args["item"],
        on_stored=lambda: deps.fault("enroll_totp:captured"),
    )
    in_app = bool(args.get("enroll_url"))
    credentials = None
    if in_app:
        ticket_url = args["enroll_url"]
        credentials = Credentials(
            username=args["user_id"], password=VaultPassword(deps.vault, args["password"]).read
        )
    else:
        # The IdP and vault clients block: off the event loop, which other runs share.
        done, ticket_url = await asyncio.to_thread(_without_browser, args, deps, target)
        if done is not None:
            return done
    options = FlowOptions(
        credentials=credentials,
        on_human=deps.browser.on_human,
        timeout=deps.browser.timeout,
        steps=deps.browser.steps,
        clock=deps.clock,
    )
    flows = 0
    while True:
        flows += 1
        try:
            async with deps.browser.pool.context() as context:
                page = await context.new_page()
                deps.fault("enroll_totp:before")
                report = await enroll_totp(page, target, url=ticket_url, options=options)
                deps.fault("enroll_totp:after")
        except NeedsHuman as needed:
            return {"human": {"url": needed.url, "instructions": needed.instructions}}
        except (BrowserCrashed, PageTimeout) as failed:
            if flows >= FLOWS_PER_TICKET:
                raise
            _log.warning("enrollment flow %d failed (%s); again on the same ticket", flows, failed)
            if not in_app and await asyncio.to_thread(_confirmed_now, args, deps, target):
                # The code arrived; only its answer was lost.
                return {"status": "confirmed", "strategy": "browser", "source": "existing"}
        else:
            result: EnrollmentRecord = {
                "status": "confirmed",
                "strategy": "browser",
                "source": report.source or "existing",
                "outcome": report.outcome,
            }
            if report.recovery_codes:
                result["recovery_codes_kept"] = report.recovery_codes
            if report.code_steps:  # so a drill in another process does not send them again
                result["code_steps"] = list(report.code_steps)
            return result


def _without_browser(
    args: dict[str, Any], deps: Deps, target: VaultTotpTarget
) -> tuple[EnrollmentRecord | None, str]:
    """Done already, or enrolled through the API: the result; else a ticket for the browser."""
    with deps.management() as mgmt:
        methods = mgmt.authentication_methods(args["user_id"])
        if _confirmed(methods, args, target):
            return {"status": "confirmed", "strategy": args["strategy"], "source": "existing"}, ""
        if args["strategy"] == "api":
            seed = Secret(base64.b32encode(secrets.token_bytes(20)).decode(), label="TOTP seed")
            target.vault.set_otp(target.vault_name, target.item, _uri(seed, args))
            deps.fault("enroll_totp:before")
            mgmt.add_totp_authentication_method(args["user_id"], seed)
            deps.fault("enroll_totp:after")
            return {"status": "confirmed", "strategy": "api", "source": "vault"}, ""
        _remove_pending(mgmt, args["user_id"], methods)
        return None, str(mgmt.create_enrollment_ticket(args["user_id"])["ticket_url"])


def _remove_pending(
    mgmt: Auth0ManagementClient, user_id: str, methods: list[dict[str, Any]]
) -> None:
    """Remove the user's unconfirmed TOTP authenticators (left by earlier tickets' flows).

    One the IdP will not let go (no ``delete:authentication_methods`` for this client) is left,
    with a warning: the enrollment goes on without it.
    """
    for m in methods:
        if m.get("type") != "totp" or m.get("confirmed") or not isinstance(m.get("id"), str):
            continue
        try:
            mgmt.delete_authentication_method(user_id, m["id"])
        except IdPNotFound:
            continue  # gone already (another try removed it)
        except (IdPForbidden, IdPAuthenticationFailed) as refused:
            _log.warning(
                "a pending TOTP authenticator of %s stays at the IdP: %s", user_id, refused
            )


def _confirmed_now(args: dict[str, Any], deps: Deps, target: VaultTotpTarget) -> bool:
    with deps.management() as mgmt:
        return _confirmed(mgmt.authentication_methods(args["user_id"]), args, target)


def _confirmed(
    methods: list[dict[str, Any]], args: dict[str, Any], target: VaultTotpTarget
) -> bool:
    """Whether the user has a confirmed TOTP (its seed must be in the vault).

    Raises:
        ConfigurationError: The IdP has a confirmed TOTP whose seed the vault does not hold.
    """
    confirmed = [m for m in methods if m.get("type") == "totp" and m.get("confirmed")]
    if confirmed and not _vault_has_otp(target):
        raise ConfigurationError(
            f"user {args['user_id']} has a confirmed TOTP authenticator whose seed is "
            "not in the vault; reset the user's MFA, then resume"
        )
    return bool(confirmed)


def _vault_has_otp(target: VaultTotpTarget) -> bool:
    item = target.vault.get_item(target.vault_name, target.item)
    return any(f.type is FieldType.OTP for f in item.fields)


def _uri(seed: Secret, args: dict[str, Any]) -> Secret:
    return build_otpauth_uri(OtpParameters(seed=seed, issuer="vaultborn", account=args["user_id"]))
