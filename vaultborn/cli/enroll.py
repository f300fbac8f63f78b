"""``vaultborn enroll``: capture an IdP's TOTP enrollment into a vault item and confirm it.

The command behind the setup graph's browser step, for one enrollment by hand: open the
enrollment URL in Chromium (an Auth0 ticket, or an application's TOTP page), log in with the
item's username and password where the page asks (re-authentication included), follow the
"can't scan" fallback, store the secret in the item's OTP field, confirm with a code from the
vault, and keep any recovery codes the page then lists in the item. Nothing secret is printed.
"""

from __future__ import annotations

import asyncio
import math
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from vaultborn.browser.drivers import DRIVER_NAMES, driver_named
from vaultborn.browser.enroll import (
    RECOVERY_CODES_FIELD,
    VaultTotpTarget,
    enroll_totp,
    item_credentials,
)
from vaultborn.browser.errors import LoginRefused, NeedsHuman
from vaultborn.browser.flow import Move
from vaultborn.browser.handoff import terminal_handoff
from vaultborn.browser.runner import FlowOptions, FlowReport
from vaultborn.browser.screens import Screen
from vaultborn.browser.session import BrowserSession
from vaultborn.core.errors import UsageError
from vaultborn.render import console, print_json, progress
from vaultborn.runner.wiring import open_vault

__all__ = ["register_enroll_command"]

MAX_TIMEOUT = 3600.0
"""Seconds; the longest wait for one page load or reaction that --timeout accepts."""


def register_enroll_command(app: typer.Typer) -> None:
    """Add ``enroll`` to ``app``."""
    app.command(rich_help_panel="Set up")(enroll)


def enroll(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Argument(
            metavar="URL", help="The enrollment page (an Auth0 ticket_url, a Keycloak page …)."
        ),
    ],
    item: Annotated[
        str, typer.Option("--item", metavar="ITEM", help="The vault item (title or id).")
    ],
    vault: Annotated[
        str | None, typer.Option("--vault", help="The item's vault (name or id).")
    ] = None,
    username: Annotated[
        str | None,
        typer.Option(
            "--username",
            metavar="NAME",
            help="Log in as NAME (default: the item's username field; the password is always "
            "the item's).",
        ),
    ] = None,
    driver: Annotated[
        str,
        typer.Option("--driver", help=f"Which IdP's screens to expect: {', '.join(DRIVER_NAMES)}."),
    ] = "auto",
    headed: Annotated[
        bool,
        typer.Option(
            "--headed", help="Show the browser; a person can then act where the agent must not."
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Per page load or reaction.")
    ] = 15.0,
    debug_dir: Annotated[
        Path | None,
        typer.Option(
            "--debug-dir",
            help="Write a Playwright trace here (0700; it may hold the secret: delete it after).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Capture a TOTP enrollment into a vault item's OTP field and confirm it with a vault code."""
    _check_usage(url, timeout)
    chosen = driver_named(driver)  # usage mistakes first, before the vault or a browser
    store = open_vault(ctx.obj)
    # Fails fast, before a browser starts, if the item is missing; the password stays unread.
    credentials = item_credentials(store, vault, item, username=username)
    target = VaultTotpTarget(store, vault, item)
    on_human = terminal_handoff(sys.stdin, sys.stderr) if headed and sys.stdin.isatty() else None
    options = FlowOptions(
        driver=chosen,
        credentials=credentials,
        on_human=on_human,
        on_screen=None if as_json else _show_progress,
        timeout=timeout,
    )
    try:
        report = asyncio.run(_run(url, target, options, headed=headed, debug_dir=debug_dir))
    except LoginRefused as refused:
        raise LoginRefused(
            f"{refused} — logging in as {credentials.username if credentials else '?'} with "
            f"the password of item {item!r}; is the item's password the account's?"
        ) from None
    found = store.get_item(vault, item)
    receipt: dict[str, Any] = {
        "item": {"id": found.id, "title": found.title, "vault": found.vault.name},
        "outcome": report.outcome,
        "captured_by": report.source,
        "codes_sent": report.codes_sent,
        "recovery_codes_kept": report.recovery_codes,
        "handoffs": report.handoffs,
        "screens": list(report.screens),
    }
    if as_json:
        print_json(receipt)
        return
    how = {"uri": "otpauth URI", "manual": "manual-entry key", "qr": "QR code", None: "-"}
    kept = (
        f"; {report.recovery_codes} recovery codes kept in its {RECOVERY_CODES_FIELD!r} field"
        if report.recovery_codes
        else ""
    )
    console.print(
        f"enrolled: {found.title} ({found.vault.name}) — secret from the "
        f"{how[report.source]}, confirmed with a vault code ({report.outcome}){kept}",
        markup=False,
    )


def _check_usage(url: str, timeout: float) -> None:
    """Refuse what would start a browser in vain: a non-web URL, or a timeout that never ends.

    Playwright reads a timeout of 0 as "wait forever"; NaN and infinities are no better.
    """
    try:
        parts = urlsplit(url.strip())
        # .port raises ValueError for a port that is not a number in 0-65535; 0 is no port.
        web = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        web = web and parts.port != 0
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        web = False
    if not web:
        raise UsageError("the enrollment URL must be an http:// or https:// address")
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise UsageError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")


async def _run(
    url: str, target: VaultTotpTarget, options: FlowOptions, *, headed: bool, debug_dir: Path | None
) -> FlowReport:
    session = BrowserSession(headed=headed, debug_dir=debug_dir)
    async with session, session.new_context() as context:
        page = await context.new_page()
        try:
            return await enroll_totp(page, target, url=url, options=options)
        except NeedsHuman as needed:
            if headed:
                raise
            raise NeedsHuman(
                needed.url,
                f"{needed.instructions} (run again with --headed in a terminal to do it yourself)",
            ) from None


def _show_progress(screen: Screen, move: Move) -> None:
    step = type(move).__name__.lower()
    progress.print(f"· {screen.kind} screen ({screen.driver}): {step}", markup=False, style="dim")
