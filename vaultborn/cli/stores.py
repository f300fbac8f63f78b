"""``vaultborn seed`` and ``vaultborn run``: runtime stores seeded one way from the vault.

``seed`` copies one value into AWS Secrets Manager and prints a receipt (ids and versions,
never the value). ``run`` starts a command with values in its environment and masks them in
its output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from vaultborn.core.errors import UsageError
from vaultborn.render import console, print_json
from vaultborn.runner.state_db import home_of
from vaultborn.runner.wiring import open_vault
from vaultborn.stores.envfile import parse_env_assignment, parse_env_file
from vaultborn.stores.process import Sink, run_with_secrets
from vaultborn.stores.registry import open_stores, parse_target, target_forms
from vaultborn.stores.seed import seed
from vaultborn.vault.reference import SecretReference, parse_reference

__all__ = ["register_store_commands"]


def seed_command(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(metavar="REF", help="op:// reference to seed.")],
    target: Annotated[
        str,
        typer.Argument(
            metavar="TARGET",
            help=f"Where to: {target_forms()}.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the receipt as JSON.")] = False,
) -> None:
    """Copy a vault value into a runtime store, one way; print a receipt, never the value.

    The target's scheme picks the store: AWS Secrets Manager (aws-secretsmanager://) or an SSM
    Parameter Store SecureString (aws-ssm://; the path is the parameter's name, e.g.
    aws-ssm://eu-west-1/prod/app/api-key is /prod/app/api-key). Seeding the same vault version
    again changes nothing; a new vault version becomes the store's current version. AWS
    configuration is read as usual (AWS_ENDPOINT_URL, profiles); with none at all, an embedded
    emulator on 127.0.0.1 serves, its contents kept (sealed) in the data directory.
    """
    canonical_target = parse_target(target)
    ref = parse_reference(reference)
    vault = open_vault(ctx.obj)
    with open_stores(notice=_notice, data_dir=home_of(ctx.obj)) as stores:
        receipt = seed(vault, ref, stores.store_for(canonical_target), canonical_target)
    if as_json:
        print_json(receipt.as_dict())
        return
    console.print(f"{receipt.outcome} {receipt.target}", markup=False)
    for label, value in (
        ("version id", receipt.version_id),
        ("source", receipt.source),
        ("source version", str(receipt.source_version)),
    ):
        console.print(f"  {label + ':':<16}{value}", markup=False)


def run_command(
    ctx: typer.Context,
    command: Annotated[
        list[str], typer.Argument(metavar="-- CMD...", help="The command, after '--'.")
    ],
    env: Annotated[
        list[str] | None,
        typer.Option("--env", metavar="NAME=REF", help="Put the value of REF in NAME (repeat)."),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", metavar="FILE", help="NAME=op://… lines; --env wins."),
    ] = None,
    no_masking: Annotated[
        bool, typer.Option("--no-masking", help="Do not mask the values in CMD's output.")
    ] = False,
) -> None:
    """Run CMD with vault values in its environment, masked in its stdout and stderr.

    A value is masked as it is and, from 8 bytes on, also in hex, base64 and percent-encoding
    and reversed. SIGINT and SIGTERM go to CMD; the exit code is CMD's (128+N if signal N killed
    it), or 141 when our stdout or stderr is closed under us (CMD then gets SIGPIPE).
    """
    refs: dict[str, SecretReference] = parse_env_file(env_file) if env_file else {}
    for text in env or ():
        name, ref = parse_env_assignment(text)
        refs[name] = ref
    if not refs:
        raise UsageError("nothing to inject: give --env NAME=REF or --env-file FILE")
    vault = open_vault(ctx.obj)
    injected = {name: vault.read(ref) for name, ref in refs.items()}
    code = run_with_secrets(
        command,
        injected,
        stdout=_binary_sink(sys.stdout),
        stderr=_binary_sink(sys.stderr),
        masking=not no_masking,
    )
    raise typer.Exit(code)


def _notice(line: str) -> None:
    sys.stderr.write(f"vaultborn: {line}\n")


def _binary_sink(stream: TextIO) -> Sink:
    stream.flush()
    buffer = getattr(stream, "buffer", None)

    def write(data: bytes) -> None:
        if buffer is None:
            stream.write(data.decode("utf-8", "replace"))
            stream.flush()
        else:
            buffer.write(data)
            buffer.flush()

    return write


def register_store_commands(app: typer.Typer) -> None:
    """Add ``seed`` and ``run`` to the main ``vaultborn`` app."""
    app.command("seed", rich_help_panel="Agent side")(seed_command)
    app.command("run", rich_help_panel="Agent side")(run_command)
