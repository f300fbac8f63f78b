"""``vaultborn inbox``: the approval inbox in a browser, on loopback.

It prints one link, with a fresh access token: open it on this machine to see what waits
across runs and answer it. The inbox answers as ``vaultborn approve`` does (digests, expiry,
audit); a run it approves moves on in this process. Ctrl-C stops it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from vaultborn.cli.driving import Choices, HeadedOpt, PolicyOpt, current_user, run_options
from vaultborn.cli.options import DbOpt, finite
from vaultborn.core.errors import UsageError
from vaultborn.runner.wiring import Settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``inbox`` to ``app``."""
    app.command("inbox", rich_help_panel="Decide")(inbox_command)


def inbox_command(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="The port on 127.0.0.1 (0: a free one).")] = 0,
    url_file: Annotated[
        Path | None,
        typer.Option("--url-file", help="Also write the link (token included) here, 0600."),
    ] = None,
    poll: Annotated[
        float,
        typer.Option(
            "--poll", min=0.2, max=60, callback=finite, help="Seconds between the pages' looks."
        ),
    ] = 2.0,
    policy: PolicyOpt = None,
    headed: HeadedOpt = False,
    db: DbOpt = None,
) -> None:
    """Serve the approval inbox: what waits across runs, answered from a browser."""
    from vaultborn.graphs.checkpoint import prepare_database
    from vaultborn.inbox import InboxConfig, start_inbox
    from vaultborn.runner.inbox_link import clear_link, write_link
    from vaultborn.runner.state_db import home_of, state_db

    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, got {port}")
    settings: Settings = ctx.obj
    run_db = state_db(settings, db)
    prepare_database(run_db.url)
    with run_db.open():  # an unreachable or unmigrated database says so at once
        pass
    choices = Choices(None, policy, False, headed, False, db)
    config = InboxConfig(
        db=run_db,
        settings=settings,
        options=lambda stack: run_options(settings, choices, stack),
        approver=current_user(),
        poll=poll,
    )
    home = home_of(settings)
    with start_inbox(config, port=port) as inbox:
        write_link(home, inbox.base_url)
        try:
            if url_file is not None:
                _write_private(url_file, inbox.url)
            _say(f"serving the approval inbox at {inbox.url}")
            _say("the link holds its access token: open it here, share it with nobody")
            inbox.wait()
        except KeyboardInterrupt:
            pass
        finally:
            clear_link(home)
            if url_file is not None:
                url_file.unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None


def _say(line: str) -> None:
    sys.stderr.write(f"vaultborn inbox: {line}\n")
    sys.stderr.flush()
