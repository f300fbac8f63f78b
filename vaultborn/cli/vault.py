"""The vault's values: ``read``, ``resolve`` and ``otp`` (``item`` is in ``cli.item``).

They load neither LangGraph, Playwright nor boto3: as quick to start as ``op``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vaultborn.runner.wiring import open_vault
from vaultborn.vault.reference import parse_reference

__all__ = ["register"]


PANEL = "Vault"


def register(app: typer.Typer) -> None:
    """Add ``read``, ``resolve`` and ``otp`` to ``app``."""
    app.command(rich_help_panel=PANEL)(read)
    app.command(rich_help_panel=PANEL)(resolve)
    app.command(rich_help_panel=PANEL)(otp)


LAST_UNIX_TIME = 253402300799
"""9999-12-31T23:59:59Z, the last moment a TOTP code can be computed for."""


def read(
    ctx: typer.Context,
    reference: Annotated[
        str, typer.Argument(help="op://vault/item/[section/]field[?attribute=otp]")
    ],
    no_newline: Annotated[
        bool, typer.Option("--no-newline", "-n", help="Do not print a newline after the value.")
    ] = False,
) -> None:
    """Print the value a secret reference points at (the one place a value is printed)."""
    value = open_vault(ctx.obj).read(parse_reference(reference))
    sys.stdout.write(value.reveal() + ("" if no_newline else "\n"))


def resolve(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="A secret reference, by names or ids.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the canonical, id-based form of a reference (no value is read)."""
    canonical = open_vault(ctx.obj).resolve(parse_reference(reference))
    if as_json:
        from vaultborn.render import print_json

        print_json({"reference": reference, "canonical": str(canonical)})
    else:
        typer.echo(str(canonical))


def otp(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="ITEM_OR_REF", help="Item title/id or op:// ref.")
    ],
    vault: Annotated[str | None, typer.Option("--vault", help="Vault name or id.")] = None,
    at: Annotated[
        float | None,
        typer.Option(
            "--at",
            metavar="UNIX_TIME",
            help="The code at this time.",
            min=0,
            max=LAST_UNIX_TIME,  # TOTP counts from the epoch; datetime ends with year 9999
        ),
    ] = None,
) -> None:
    """Print the one-time code of an item's OTP field, now or --at a given time."""
    store = open_vault(ctx.obj)
    if target.startswith("op://"):
        ref = parse_reference(target)
        canonical = store.resolve(ref.with_attribute("otp"))
        code = store.otp_code(canonical.vault, canonical.item, at=at)
    else:
        code = store.otp_code(vault, target, at=at)
    typer.echo(code.reveal())
