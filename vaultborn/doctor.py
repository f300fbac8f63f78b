"""``vaultborn doctor``: is this machine ready? Each check is one line: ok, warn or fail."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from vaultborn.core.errors import VaultbornError
from vaultborn.doctor_files import file_mode_findings
from vaultborn.runner.checks import Check
from vaultborn.runner.wiring import Settings, open_vault

__all__ = ["Check", "run_checks"]

# Security floors from reference/langgraph.md §1.10; older versions have known CVEs.
SECURITY_FLOORS = {
    "langgraph": (1, 0, 10),
    "langgraph-checkpoint": (4, 0, 0),
    "langgraph-checkpoint-sqlite": (3, 0, 1),
}


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order they are printed; a failing check never stops the others."""
    checks: list[Check] = []
    for produce in (_python, _dependencies, _vault, _files, _run_database, _run_keys, _chromium):
        try:
            checks.extend(produce(settings))
        except VaultbornError as exc:
            checks.append(Check(produce.__name__.strip("_"), "fail", str(exc)))
    return checks


def _python(settings: Settings) -> Iterator[Check]:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    yield Check("python", "ok" if ok else "fail", f"{version} at {sys.executable}")


def _dependencies(settings: Settings) -> Iterator[Check]:
    for name, floor in SECURITY_FLOORS.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            yield Check(name, "fail", "not installed")
            continue
        parts = tuple(int(p) for p in installed.split(".")[:3] if p.isascii() and p.isdigit())
        ok = parts >= floor
        floor_text = ".".join(map(str, floor))
        yield Check(
            name,
            "ok" if ok else "fail",
            installed if ok else f"{installed} is below the security floor {floor_text}",
        )


_BACKEND_NOTES = {
    "local": "the embedded vault, no account needed",
    "op": "1Password through its CLI, one op process per call",
    "op-sdk": "1Password through its Python SDK, one client per process",
}


def _vault(settings: Settings) -> Iterator[Check]:
    """Which backend, what chose it and what it is; then the backend's own checks."""
    vault = open_vault(settings)
    backend = settings.vault_backend
    why = f"chosen by {settings.backend_source}; {_BACKEND_NOTES[backend]}"
    yield Check("vault backend", "ok", f"{backend} ({why})")
    try:
        for health in vault.health():
            yield Check(health.name, "ok" if health.ok else "fail", health.detail)
    finally:
        close = getattr(vault, "close", None)  # the local vault and the SDK client hold resources
        if callable(close):
            close()


def _files(settings: Settings) -> Iterator[Check]:
    env = settings.env()
    home = Path(env.get("VAULTBORN_HOME") or Path.home() / ".vaultborn")
    for status, detail in file_mode_findings(home):
        yield Check("data directory", status, detail)


def _run_database(settings: Settings) -> Iterator[Check]:
    """The run database: a SQLite file (not created here), or a reachable, migrated PostgreSQL."""
    from vaultborn.core.database import DATABASE_ENV, DatabaseUrl
    from vaultborn.graphs.checkpoint import open_checkpointer

    env = settings.env()
    home = Path(env.get("VAULTBORN_HOME") or Path.home() / ".vaultborn")
    url = DatabaseUrl.parse(env.get(DATABASE_ENV) or f"sqlite:///{home / 'state.db'}")
    if url.kind == "sqlite":
        path = url.path
        state = "exists" if path.exists() else "created on first run"
        yield Check("run database", "ok", f"SQLite {path} ({state})")
        return
    try:
        with open_checkpointer(url):
            pass
    except VaultbornError as error:
        yield Check("run database", "fail", str(error))
        return
    yield Check("run database", "ok", f"{url} (reachable, migrated)")


def _run_keys(settings: Settings) -> Iterator[Check]:
    """Whether the checkpoints are sealed and the audit chain keyed (an older database: not)."""
    from vaultborn.runner.state_db import state_db

    db = state_db(settings, None)
    sealed = db.key is not None
    yield Check("checkpoints", "ok" if sealed or db.keys is None else "warn", db.sealing)
    if db.keys is None:
        yield Check("audit chain", "ok", "not keyed yet: the first setup makes the run keys")
        return
    record = db.keys.record
    yield Check(
        "audit chain",
        "ok",
        f"keyed with the run keys {record.reference} ({record.backend} vault); its head is "
        f"kept in {db.witness} and in that item",
    )


def _chromium(settings: Settings) -> Iterator[Check]:
    from vaultborn.browser.chromium import ENV_VAR, find_chromium, find_headless_shell

    env = settings.env()
    found = find_chromium(env)
    if found is None:
        yield Check(
            "chromium",
            "warn",
            "not found: run ./dev demo, install chromium, "
            "or set VAULTBORN_CHROMIUM to a Chromium binary",
        )
        return
    version = found.version or "version unknown"
    yield Check("chromium", "ok", f"{found.path} ({found.source}; {version})")
    if env.get(ENV_VAR):
        return  # the user's choice serves headless runs too
    shell = find_headless_shell(env)
    if shell is None:
        yield Check(
            "headless shell",
            "warn",
            "not found: headless runs use the full browser, about twice the CPU per "
            "enrollment; install chromium-headless-shell",
        )
        return
    shown = shell.version or "version unknown"
    yield Check(
        "headless shell", "ok", f"{shell.path} ({shell.source}; {shown}): headless runs use it"
    )
