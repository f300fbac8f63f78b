"""TOTP enrollment of the IdP user, the secret kept in the break-glass item's OTP field.

``browser``: a Guardian ticket opened in Chromium, captured through "can't scan", confirmed
with a vault code (``browser.enroll``). ``api``: a seed drawn here, stored in the vault first,
then registered through the Management API. Both start by asking the IdP: a confirmed TOTP
with the seed in the vault means a crash came after the effect, and nothing is done again.

A rotation (``nodes.totp_rotation``) enrolls the same way beside the authenticators it
replaces (``args["replaces"]``, their ids): those do not count as done, and its ticket allows a
second enrollment (``allow_multiple_enrollments``).

An application's own TOTP page (``idp.kind = "oidc"``, ``break_glass.enroll_url``) has no API
to ask: the flow logs in there with the item's username and password, and the page itself
tells what is done (a login that asks for a code means the seed in the vault is enrolled).

A browser flow that fails transiently (Chromium died, a page hung) is run again on the same
ticket, after asking the IdP again: the ticket's pending secret is the one already in the
vault, so the seed is not written again and no second pending authenticator is left behind.
Only when that fails too does the error go to the node's retry policy (which draws a new
ticket).

A ticket drawn once no pending authenticator is left shows a secret made for it alone: it is
stored without reading the item first (``nodes.ticket_target``), and the confirming code comes
from the URI just written. An application's own page may show a pending secret again after a
crash, so there the item is read and compared before the seed is written.

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
from collections.abc import Callable
from typing import Any

from vaultborn.browser.enroll import VaultPassword, VaultTotpTarget, enroll_totp
from vaultborn.browser.errors import BrowserCrashed, NeedsHuman, PageTimeout
from vaultborn.browser.runner import Credentials, FlowOptions
from vaultborn.core.errors import ConfigurationError
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.errors import IdPAuthenticationFailed, IdPForbidden, IdPNotFound
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.idp_user import password_ref
from vaultborn.nodes.state import EnrollmentRecord, HandOff, PlanData
from vaultborn.nodes.ticket_target import NewTicketTarget
from vaultborn.vault.model import FieldType
from vaultborn.vault.otp import OtpParameters, build_otpauth_uri
from vaultborn.vault.secret import Secret

__all__ = ["FLOWS_PER_TICKET", "browser_flow_key", "enroll_args", "enroll_totp_step"]

_log = logging.getLogger(__name__)

FLOWS_PER_TICKET = 2
"""Browser flows run on one enrollment ticket before a transient failure leaves the node."""


def browser_flow_key(args: dict[str, Any]) -> str:
    """Names the browser page the enrollment hands on to the login drill: user and item."""
    return "\x1f".join((args["email"], args["vault"] or "", args["item"]))


def enroll_args(plan: PlanData) -> dict[str, Any]:
    """The arguments of the ``enroll_totp`` action (an application's page and login, if any).

    The user by e-mail and the item by the plan's names: what the plan already says, so the
    plan's digest of this action is the run's (the IdP's user id is looked up when enrolling).
    """
    args: dict[str, Any] = {
        "strategy": plan["break_glass"]["enrollment"],
        "email": plan["break_glass"]["email"],
        "vault": plan["vault"]["name"],
        "item": plan["break_glass"]["item"],
    }
    enroll_url = plan["break_glass"].get("enroll_url")
    if enroll_url:
        args.update(enroll_url=enroll_url, password=password_ref(plan))
    return args


async def enroll_totp_step(
    args: dict[str, Any], deps: Deps, *, on_ticket: Callable[[], None] | None = None
) -> EnrollmentRecord | HandOff:
    """Enroll once; returns the ``enrollment`` state, or ``{"human": …}`` when a person must act.

    ``on_ticket`` runs (in a thread) once a ticket is drawn, before any page shows a seed.

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
            username=args["email"], password=VaultPassword(deps.vault, args["password"]).read
        )
    else:
        # The IdP and vault clients block: off the event loop, which other runs share.
        done, ticket_url, new_secret = await asyncio.to_thread(
            _without_browser, args, deps, target, on_ticket
        )
        if done is not None:
            return done
        if new_secret:
            target = NewTicketTarget(target.vault, target.vault_name, target.item, target.on_stored)
    options = FlowOptions(
        credentials=credentials,
        on_human=deps.browser.on_human,
        timeout=deps.browser.timeout,
        steps=deps.browser.steps,
        clock=deps.clock,
        sleep=deps.browser.wait,
    )
    flows = 0
    while True:
        flows += 1
        try:
            # The page goes on to the login drill, which needs a renderer too.
            async with deps.browser.pool.page(hand_on=browser_flow_key(args)) as lent:
                deps.fault("enroll_totp:before")
                report = await enroll_totp(lent.page, target, url=ticket_url, options=options)
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
    args: dict[str, Any],
    deps: Deps,
    target: VaultTotpTarget,
    on_ticket: Callable[[], None] | None = None,
) -> tuple[EnrollmentRecord | None, str, bool]:
    """Done already, or enrolled through the API: the result; else a ticket for the browser.

    With the ticket: whether its secret is new (no pending authenticator was left at the IdP,
    so the ticket's page shows a secret no earlier flow can have stored in the vault).
    """
    with deps.management() as mgmt:
        user_id = _user_id(mgmt, args["email"])
        methods = mgmt.authentication_methods(user_id)
        if _confirmed(_besides(methods, args), user_id, target):
            existing: EnrollmentRecord = {
                "status": "confirmed",
                "strategy": args["strategy"],
                "source": "existing",
            }
            return existing, "", False
        if args["strategy"] == "api":
            seed = Secret(base64.b32encode(secrets.token_bytes(20)).decode(), label="TOTP seed")
            target.vault.set_otp(target.vault_name, target.item, _uri(seed, args))
            deps.fault("enroll_totp:before")
            mgmt.add_totp_authentication_method(user_id, seed)
            deps.fault("enroll_totp:after")
            return {"status": "confirmed", "strategy": "api", "source": "vault"}, "", False
        left = _remove_pending(mgmt, user_id, methods)
        # A rotation enrolls beside the authenticators it replaces (removed once it is proven).
        ticket = mgmt.create_enrollment_ticket(user_id, allow_multiple=bool(args.get("replaces")))
        if on_ticket is not None:
            on_ticket()
        return None, str(ticket["ticket_url"]), left == 0


def _user_id(mgmt: Auth0ManagementClient, email: str) -> str:
    """The IdP's id of the user with ``email`` (the ``create_user`` step made it).

    Raises:
        IdPNotFound: There is no such user (deleted since the step made it).
    """
    found = mgmt.users_by_email(email)
    if not found:
        raise IdPNotFound(f"the IdP has no user {email}; was it deleted since?", status=404)
    return found[0]["user_id"]


def _remove_pending(
    mgmt: Auth0ManagementClient, user_id: str, methods: list[dict[str, Any]]
) -> int:
    """Remove the user's unconfirmed TOTP authenticators (left by earlier tickets' flows).

    One the IdP will not let go (no ``delete:authentication_methods`` for this client) is left,
    with a warning: the enrollment goes on without it. Returns how many pending ones are left
    (or could not be told apart: one without an id).
    """
    left = 0
    for m in methods:
        if m.get("type") != "totp" or m.get("confirmed"):
            continue
        if not isinstance(m.get("id"), str):
            left += 1
            continue
        try:
            mgmt.delete_authentication_method(user_id, m["id"])
        except IdPNotFound:
            continue  # gone already (another try removed it)
        except (IdPForbidden, IdPAuthenticationFailed) as refused:
            left += 1
            _log.warning(
                "a pending TOTP authenticator of %s stays at the IdP: %s", user_id, refused
            )
    return left


def _confirmed_now(args: dict[str, Any], deps: Deps, target: VaultTotpTarget) -> bool:
    with deps.management() as mgmt:
        user_id = _user_id(mgmt, args["email"])
        return _confirmed(_besides(mgmt.authentication_methods(user_id), args), user_id, target)


def _besides(methods: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    """``methods`` but the authenticators a rotation replaces (``args["replaces"]``: ids)."""
    replaced = set(args.get("replaces") or ())
    return [m for m in methods if m.get("id") not in replaced]


def _confirmed(methods: list[dict[str, Any]], user_id: str, target: VaultTotpTarget) -> bool:
    """Whether the user has a confirmed TOTP (its seed must be in the vault).

    Raises:
        ConfigurationError: The IdP has a confirmed TOTP whose seed the vault does not hold.
    """
    confirmed = [m for m in methods if m.get("type") == "totp" and m.get("confirmed")]
    if confirmed and not _vault_has_otp(target):
        raise ConfigurationError(
            f"user {user_id} has a confirmed TOTP authenticator whose seed is "
            "not in the vault; reset the user's MFA, then resume"
        )
    return bool(confirmed)


def _vault_has_otp(target: VaultTotpTarget) -> bool:
    item = target.vault.get_item(target.vault_name, target.item)
    return any(f.type is FieldType.OTP for f in item.fields)


def _uri(seed: Secret, args: dict[str, Any]) -> Secret:
    return build_otpauth_uri(OtpParameters(seed=seed, issuer="vaultborn", account=args["email"]))
