"""A command loads only what it uses: ``vaultborn read`` is as quick to start as ``op read``.

Each case runs in a fresh interpreter (``sys.modules`` of this one already holds everything).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

HEAVY = (
    "langgraph", "langchain_core", "playwright", "boto3", "moto", "sqlalchemy", "httpx", "mcp",
    "onepassword",
)  # fmt: skip
LIGHT = ("pydantic", "rich")
"""Not heavy, but no business in a command that wraps a person's: 0.1 s between them."""

PROBE = f"""
import json, sys
from vaultborn.cli import main
code = main(sys.argv[1:])
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY + LIGHT!r} if m in sys.modules]}}))
"""


def _loaded(*argv: str) -> tuple[int, set[str]]:
    env = {"PATH": os.environ["PATH"], "VAULTBORN_HOME": os.environ["VAULTBORN_HOME"]}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return answer["code"], set(answer["loaded"])


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (("--version",), set()),
        (("read", "--help"), set()),
        (("otp", "--help"), set()),
        (("run", "--help"), set()),
        (("seed", "--help"), set()),
        (("token", "--help"), {"httpx"}),
        (("enroll", "--help"), {"playwright"}),
        (("mcp", "--help"), set()),
    ],
)
def test_a_command_imports_only_what_it_uses(argv: tuple[str, ...], allowed: set[str]) -> None:
    code, loaded = _loaded(*argv)
    loaded -= set(LIGHT)  # help is rich's work
    assert code == 0
    assert loaded <= allowed, f"vaultborn {' '.join(argv)} loaded {sorted(loaded - allowed)}"


def test_help_still_lists_every_command() -> None:
    from vaultborn.cli import build_app

    app = build_app()
    names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    groups = {g.name for g in app.registered_groups}
    assert {"read", "otp", "token", "run", "setup", "runs", "worker"} <= names
    assert {"item", "idp", "db", "audit"} <= groups


def test_looking_at_runs_loads_no_langgraph(cli: Any) -> None:
    """``runs`` and ``approvals`` read the views a move kept (``vaultborn.runner.view_cache``);
    ``audit verify`` reads the audit table only."""
    assert cli("setup", "--json").code == 3  # a run waits at its vault session
    looks = (("runs",), ("approvals",), ("runs", "--json"), ("approvals", "--json"))
    for argv in looks:
        code, loaded = _loaded(*argv)
        loaded -= set(LIGHT)  # the table is rich's
        assert code == 0
        assert not loaded, f"vaultborn {' '.join(argv)} loaded {sorted(loaded)}"
    code, loaded = _loaded("audit", "verify", "--json")
    assert code == 0
    assert not loaded & {"langgraph", "langchain_core", "playwright", "boto3", "moto"}, loaded


def test_reading_a_value_loads_no_heavy_library(cli: Any) -> None:
    """``read``, ``otp`` and ``run`` wrap people's commands: no pydantic (typer 0.29 checked
    every parameter through it) and no rich (help only)."""
    title = "Lazy — item"
    uri = "otpauth://totp/L:l?secret=JBSWY3DPEHPK3PXP&issuer=L"
    assert (
        cli("item", "create", "--vault", "ACL", "--title", title, "--generate-password").code == 0
    )
    assert cli("item", "edit", title, "--vault", "ACL", f"one-time password[otp]={uri}").code == 0
    ref = f"op://ACL/{title}/password"
    for argv in (
        ("read", ref),
        ("otp", title, "--vault", "ACL"),
        ("run", "--env", f"K={ref}", "--", "true"),
    ):
        code, loaded = _loaded(*argv)
        assert code == 0, argv
        assert not loaded, f"vaultborn {' '.join(argv)} loaded {sorted(loaded)}"
