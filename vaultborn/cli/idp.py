"""``vaultborn idp serve|rotate-keys``: run the embedded Auth0-compatible dev IdP.

``serve`` prints the base URL on one line (``--json``: one JSON object), writes it to
``--url-file`` once the server accepts connections, and runs until SIGINT or SIGTERM, then
stops cleanly (exit 0). Client secrets come from the environment (``secret_env``) or from the
vault (``secret_ref = "op://…"``, read at start through the selected vault backend); they are
stored only as salted hashes.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from vaultborn.core.errors import ConfigurationError
from vaultborn.runner.wiring import Settings, open_vault
from vaultborn.vault.protocol import Vault
from vaultborn.vault.secret import Secret

if TYPE_CHECKING:
    from vaultborn.idp.devserver.server import RunningDevIdP

__all__ = ["idp_app"]

idp_app = typer.Typer(
    help="The embedded Auth0-compatible dev IdP (loopback, no account anywhere).",
    no_args_is_help=True,
)

DbOpt = Annotated[
    Path | None,
    typer.Option("--db", metavar="PATH", help="SQLite file (default $VAULTBORN_HOME/devidp.db)."),
]


def _home(settings: Settings) -> Path:
    return Path(settings.env().get("VAULTBORN_HOME") or "~/.vaultborn").expanduser()


def _vault_reader(settings: Settings) -> Callable[[str], Secret]:
    opened: list[Vault] = []

    def read(ref: str) -> Secret:
        # Open the vault only if a client names a secret_ref: an env-only tenant needs none.
        if not opened:
            opened.append(open_vault(settings))
        return opened[0].read(ref)

    return read


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs (installed before serving)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@idp_app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port; 0 picks a free one.", min=0, max=65535)
    ] = 0,
    db: DbOpt = None,
    url_file: Annotated[
        Path | None,
        typer.Option("--url-file", metavar="F", help="Write the base URL here once serving."),
    ] = None,
    tenant: Annotated[
        Path | None,
        typer.Option(
            "--tenant",
            metavar="FILE",
            help="Tenant TOML (default: the demo tenant, clients 'mgmt' and 'agent' with "
            "secrets from MGMT_SECRET and AGENT_SECRET).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Serve the dev IdP until SIGINT or SIGTERM; print its base URL."""
    # The server stack (uvicorn, Starlette, keys) loads only for this command.
    from vaultborn.idp.devserver.server import start_dev_idp
    from vaultborn.idp.devserver.tenant import demo_tenant
    from vaultborn.idp.devserver.tenant_file import load_tenant

    settings: Settings = ctx.obj
    spec = demo_tenant() if tenant is None else load_tenant(tenant)
    with _stop_signals() as stop:
        running = start_dev_idp(
            spec,
            db=db or _home(settings) / "devidp.db",
            host=host,
            port=port,
            env=os.environ,
            resolve_secret=_vault_reader(settings),
        )
        try:
            _announce(running, url_file, as_json)
            while not stop.wait(0.5):
                if not running.alive:
                    raise ConfigurationError("the dev IdP stopped unexpectedly")
        finally:
            running.stop()
            if url_file is not None:
                url_file.unlink(missing_ok=True)


def _announce(running: RunningDevIdP, url_file: Path | None, as_json: bool) -> None:
    if url_file is not None:
        _write_atomically(url_file, running.base_url + "\n")
    if as_json:
        line = json.dumps(
            {
                "base_url": running.base_url,
                "issuer": running.issuer,
                "management_audience": running.management_audience,
                "port": running.port,
            }
        )
    else:
        line = running.base_url
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@idp_app.command("rotate-keys")
def rotate_keys(
    ctx: typer.Context,
    db: DbOpt = None,
    grace: Annotated[
        int,
        typer.Option(
            "--grace",
            help="Seconds retired keys stay in the database (use the tenant's key_grace_seconds).",
            min=0,
        ),
    ] = 86400,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rotate the dev IdP's signing key (running servers on that file pick it up)."""
    from vaultborn.idp.devserver.store import Store

    path = db or _home(ctx.obj) / "devidp.db"
    if not path.exists():
        raise ConfigurationError(f"no dev IdP database at {path}")
    store = Store.open(path)
    try:
        kid = store.keys.rotate(time.time(), grace)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps({"kid": kid}) + "\n")
    else:
        typer.echo(kid)


def register(app: typer.Typer) -> None:
    """Add ``idp`` to the main ``vaultborn`` app."""
    app.add_typer(idp_app, name="idp", rich_help_panel="Servers")
