"""The vault's values: ``read``, ``resolve``, ``otp`` and ``inject`` (``item`` is in ``cli.item``).

They load neither LangGraph, Playwright nor boto3: as quick to start as ``op``. Values are
printed where a person asks for them: ``read``, ``otp``, ``inject``, and ``item get`` with
``--reveal``, ``--otp`` or a concealed field in ``--fields --reveal``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from vaultborn.cli.options import finite
from vaultborn.core.errors import UsageError
from vaultborn.runner.wiring import open_vault
from vaultborn.vault.reference import parse_reference
from vaultborn.vault.template import render

__all__ = ["register"]


PANEL = "Vault"


def register(app: typer.Typer) -> None:
    """Add ``read``, ``resolve``, ``otp`` and ``inject`` to ``app``."""
    app.command(rich_help_panel=PANEL)(read)
    app.command(rich_help_panel=PANEL)(otp)
    app.command(rich_help_panel=PANEL)(inject)
    app.command(rich_help_panel=PANEL)(resolve)


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
    """Print the value a secret reference points at.

    One of the commands that print values, because you ask: read, otp, inject, and item get
    with --reveal, --otp or --fields.
    """
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
            callback=finite,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: the code and its item.")
    ] = False,
) -> None:
    """Print the one-time code of an item's OTP field, now or --at a given time."""
    store = open_vault(ctx.obj)
    if target.startswith("op://"):
        ref = parse_reference(target)
        canonical = store.resolve(ref.with_attribute("otp"))
        code = store.otp_code(canonical.vault, canonical.item, at=at)
    else:
        code = store.otp_code(vault, target, at=at)
    if as_json:
        from vaultborn.render import print_json

        print_json({"item": target, "code": code.reveal()})
        return
    typer.echo(code.reveal())


def inject(
    ctx: typer.Context,
    in_file: Annotated[
        Path | None,
        typer.Option(
            "--in-file", "-i", metavar="FILE", help="The template (default: standard input)."
        ),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out-file",
            "-o",
            metavar="FILE",
            help="Write here, mode 0600 (default: standard output).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Replace --out-file if it exists.")
    ] = False,
) -> None:
    """Fill a template's {{ op://vault/item/field }} references with their values (as op inject).

    Every reference is checked before any value is read. The result holds secret values: a
    warning on stderr says so, and --out-file is created with mode 0600.
    """
    template = in_file.read_text(encoding="utf-8") if in_file else sys.stdin.read()
    if out_file is not None and out_file.exists() and not force:
        raise UsageError(f"{out_file} exists; add --force to replace it")
    rendered = render(template, open_vault(ctx.obj).read)
    where = str(out_file) if out_file else "standard output"
    sys.stderr.write(
        f"vaultborn: warning: {where} now holds secret values from the vault; keep it out of "
        "logs and version control, and delete it when done\n"
    )
    if out_file is None:
        sys.stdout.write(rendered.reveal())
        return
    _write_private(out_file, rendered.reveal().encode("utf-8"))


def _write_private(path: Path, data: bytes) -> None:
    """Write ``path`` with mode 0600 from its creation (never readable by others meanwhile)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)
