"""The ``vaultborn`` command line.

Exit codes: 0 done, 1 error, 2 usage, 3 waiting for a human (arrives with the setup graph).
A user mistake prints one line to stderr, never a traceback; ``VAULTBORN_DEBUG=1`` shows the
traceback of an unexpected error. Core dumps are off from the first line (``core.hardening``).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any

import typer

from vaultborn import __version__
from vaultborn.cli.help import polish
from vaultborn.core import hardening
from vaultborn.core.collector import pace_for_a_command
from vaultborn.core.errors import VaultbornError
from vaultborn.runner.wiring import Settings

__all__ = ["build_app", "main"]

# Where each command lives, by what a person does (the help's panels follow the same split). A
# command loads only its own module (``vaultborn read`` never imports LangGraph, Playwright or
# boto3); ``--help`` and unknown commands load them all.
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vaultborn.cli.run:register", ("setup", "plan", "resume", "worker")),
    ("vaultborn.cli.lifecycle:register", ("rotate", "revoke", "drift", "schedule")),
    ("vaultborn.cli.enroll:register_enroll_command", ("enroll",)),
    ("vaultborn.cli.decide:register", ("approve", "reject", "edit", "cancel")),
    ("vaultborn.cli.inbox:register", ("inbox",)),
    ("vaultborn.cli.look:register_look_commands", ("approvals", "runs", "doctor")),
    ("vaultborn.cli.inspect:register", ("show",)),
    ("vaultborn.cli.audit:register", ("audit",)),
    ("vaultborn.cli.vault:register", ("read", "otp", "inject", "resolve")),
    ("vaultborn.cli.item:register", ("item",)),
    ("vaultborn.cli.stores:register_store_commands", ("seed", "run")),
    ("vaultborn.cli.agent:register_token_commands", ("token", "call")),
    ("vaultborn.cli.idp:register", ("idp",)),
    ("vaultborn.cli.mcp:register_mcp_command", ("mcp",)),
    ("vaultborn.cli.db:register", ("db",)),
)
_GLOBAL_WITH_VALUE = ("--vault-backend", "--home")


def build_app(command: str | None = None) -> typer.Typer:
    """The ``vaultborn`` app with every command, or only with what ``command`` needs.

    ``""`` builds the app with no command (``--version``).
    """
    app = typer.Typer(
        name="vaultborn",
        help="Set up an agent's credentials with the vault as the trust anchor.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(_root)
    for target, names in _GROUPS:
        if command is None or command in names:
            module, _, function = target.partition(":")
            register: Callable[[typer.Typer], None] = getattr(import_module(module), function)
            register(app)
    return app


def _command_of(args: Sequence[str]) -> str | None:
    """The command word of ``args`` when it is one vaultborn knows, else None (load all).

    ``""`` where no command is needed (``--version``).
    """
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word in _GLOBAL_WITH_VALUE:
            if rest:
                rest.pop(0)
            continue
        if word == "--version":
            return ""  # the version needs no command at all
        if word.startswith("-"):
            continue
        known = any(word in names for _, names in _GROUPS)
        return word if known else None
    return None


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole app, for tools that introspect it
        return build_app()
    raise AttributeError(f"module 'vaultborn.cli' has no attribute {name!r}")


DEFAULT_RECIPE_TEXT = "letters,digits,symbols,32"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vaultborn {__version__}")
        raise typer.Exit


def _root(
    ctx: typer.Context,
    vault_backend: Annotated[
        str | None,
        typer.Option(
            "--vault-backend",
            help="local (the embedded vault, default), op (1Password CLI) or op-sdk "
            "(1Password SDK). Env: VAULTBORN_VAULT_BACKEND.",
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


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Give a bare ``--generate-password`` op's default recipe; take op's ``--format json``.

    op writes a recipe only with ``=`` (``--generate-password='digits,20'``); a bare flag means
    the default recipe. Typer cannot express an option with an optional value, so the bare
    form is rewritten before parsing. ``--format json`` (or ``=json``) is op's spelling of
    ``--json`` and ``--format human`` its default, except where a command has a ``--format``
    of its own (``item public-key``). Nothing after ``--`` is touched.
    """
    args = list(argv)
    end = args.index("--") if "--" in args else len(args)
    own_format = "public-key" in args[:end]
    out: list[str] = []
    i = 0
    while i < end:
        arg = args[i]
        given = args[i + 1] if arg == "--format" and i + 1 < end else None
        value = arg.removeprefix("--format=") if arg.startswith("--format=") else given
        if not own_format and value in ("json", "human"):
            out += ["--json"] if value == "json" else []
            i += 2 if given is not None else 1
            continue
        out.append(
            f"--generate-password={DEFAULT_RECIPE_TEXT}" if arg == "--generate-password" else arg
        )
        i += 1
    return out + args[end:]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    hardening.disable_core_dumps()  # before any command reads a value that a crash could dump
    pace_for_a_command()  # before the command's imports: they make most of what lives on
    args = normalize_argv(sys.argv[1:] if argv is None else argv)
    try:
        command = typer.main.get_command(build_app(_command_of(args)))
        polish(command)  # metavars, examples, the order of a setup
        result = command.main(args=args, prog_name="vaultborn", standalone_mode=False)
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
