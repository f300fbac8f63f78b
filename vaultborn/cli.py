"""The ``vaultborn`` command line.

Exit codes: 0 done, 1 error, 2 usage, 3 waiting for a human (arrives with the setup graph).
A user mistake prints one line to stderr, never a traceback; ``VAULTBORN_DEBUG=1`` shows the
traceback of an unexpected error.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from vault.reference import parse_reference
from vaultborn import __version__
from vaultborn.cli_enroll import register_enroll_command
from vaultborn.cli_idp import idp_app
from vaultborn.cli_item import item_app
from vaultborn.cli_scale import register_scale_commands
from vaultborn.cli_setup import register_setup_commands
from vaultborn.cli_stores import register_store_commands
from vaultborn.cli_token import register_token_commands
from vaultborn.deps import Settings, open_vault
from vaultborn.doctor import run_checks
from vaultborn.errors import VaultbornError
from vaultborn.render import console, print_json

__all__ = ["app", "main"]

app = typer.Typer(
    name="vaultborn",
    help="Set up an agent's credentials with the vault as the trust anchor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(item_app, name="item")
app.add_typer(idp_app, name="idp")
register_token_commands(app)
register_store_commands(app)
register_enroll_command(app)
register_setup_commands(app)
register_scale_commands(app)

DEFAULT_RECIPE_TEXT = "letters,digits,symbols,32"
LAST_UNIX_TIME = 253402300799
"""9999-12-31T23:59:59Z, the last moment a TOTP code can be computed for."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vaultborn {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    vault_backend: Annotated[
        str | None,
        typer.Option(
            "--vault-backend",
            help="local (the embedded vault, default) or op (1Password CLI). "
            "Env: VAULTBORN_VAULT_BACKEND.",
        ),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Data directory. Env: VAULTBORN_HOME (default ~/.vaultborn)."),
    ] = None,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    ctx.obj = Settings.from_env(vault_backend=vault_backend, home=home)


@app.command()
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


@app.command()
def resolve(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="A secret reference, by names or ids.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the canonical, id-based form of a reference (no value is read)."""
    canonical = open_vault(ctx.obj).resolve(parse_reference(reference))
    if as_json:
        print_json({"reference": reference, "canonical": str(canonical)})
    else:
        typer.echo(str(canonical))


@app.command()
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


@app.command()
def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check that this machine is ready: Python, security floors, the vault, Chromium."""
    checks = run_checks(ctx.obj)
    if as_json:
        print_json([c.as_dict() for c in checks])
    else:
        marks = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
        for c in checks:
            console.print(f"{marks[c.status]} {c.name}: ", end="")
            console.print(c.detail, markup=False)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Give a bare ``--generate-password`` op's default recipe.

    op writes a recipe only with ``=`` (``--generate-password='digits,20'``); a bare flag means
    the default recipe. Typer cannot express an option with an optional value, so the bare
    form is rewritten before parsing.
    """
    out: list[str] = []
    for arg in argv:
        if arg == "--":
            out.extend(argv[len(out) :])
            break
        out.append(
            f"--generate-password={DEFAULT_RECIPE_TEXT}" if arg == "--generate-password" else arg
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = normalize_argv(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="vaultborn", standalone_mode=False)
    except VaultbornError as exc:
        _fail(str(exc))
        return exc.exit_code
    except typer.TyperException as exc:
        _fail(f"{_usage_message(exc)} (see '{_command_path(exc)} --help')")
        return int(getattr(exc, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except Exception as exc:  # a bug: say so without dumping values a traceback might hold
        if os.environ.get("VAULTBORN_DEBUG"):
            traceback.print_exc()
        _fail(
            f"internal error ({type(exc).__name__}); rerun with VAULTBORN_DEBUG=1 for details "
            "and report it"
        )
        return 1
    return result if isinstance(result, int) else 0


def _usage_message(exc: typer.TyperException) -> str:
    format_message = getattr(exc, "format_message", None)
    message = str(format_message() if callable(format_message) else exc)
    # A group called without its command has already printed its help; its message is empty.
    return message if message.strip() else "missing command"


def _command_path(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)
    return str(getattr(ctx, "command_path", "") or "vaultborn")


def _fail(message: str) -> None:
    sys.stderr.write(f"vaultborn: {' '.join(message.split())}\n")


if __name__ == "__main__":
    sys.exit(main())
