"""The help as a person reads it: no Python types for metavars, an example on every command (one
that parses), commands in the order of a setup, and no false claims.

The top-level help is also kept as a snapshot (``tests/cli/snapshots/help.txt``): a change to
it shows up in review. Rewrite it with
``COLUMNS=100 TERM=dumb .venv/bin/vaultborn --help > tests/cli/snapshots/help.txt``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from vaultborn.cli import build_app, main
from vaultborn.cli.help import EXAMPLES, ORDER, polish

SNAPSHOTS = Path(__file__).parent / "snapshots"
PYTHON_TYPES = re.compile(r"<(bool|str|int|float|path|list\[[^\]]*\]|[a-z]+ range)>")


def _command() -> Any:
    command = typer.main.get_command(build_app())
    polish(command)
    return command


def _leaves(command: Any, path: str = "") -> list[str]:
    if hasattr(command, "commands"):
        return [
            leaf
            for name, sub in command.commands.items()
            for leaf in _leaves(sub, f"{path} {name}".strip())
        ]
    return [path]


def _help(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    assert main([*words, "--help"]) == 0
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")


LEAVES = _leaves(_command())


@pytest.mark.parametrize("path", LEAVES)
def test_every_command_names_values_and_ends_with_an_example(
    capsys: pytest.CaptureFixture[str], path: str
) -> None:
    shown = _help(capsys, *path.split())
    assert not PYTHON_TYPES.findall(shown), PYTHON_TYPES.findall(shown)
    assert f"Example: vaultborn {path}" in " ".join(shown.split())


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_every_example_is_a_command_line_the_cli_takes(path: str) -> None:
    words = shlex.split(EXAMPLES[path])
    assert words[0] == "vaultborn" and words[1 : 1 + len(path.split())] == path.split()
    from vaultborn.cli import normalize_argv

    command = _command()
    command.make_context("vaultborn", normalize_argv(words[1:]), resilient_parsing=False)


def test_every_command_has_an_example_and_a_place() -> None:
    assert sorted(EXAMPLES) == sorted(LEAVES)
    assert set(ORDER) == set(_command().commands)


def test_the_top_level_help_lists_commands_in_the_order_of_a_setup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shown = _help(capsys)
    places = [shown.index(f"│ {name} ") for name in ORDER]
    assert places == sorted(places)
    panels = ["Set up", "Decide", "Look", "Vault", "Agent side", "Servers"]
    assert [shown.index(f"─ {p} ─") for p in panels] == sorted(
        shown.index(f"─ {p} ─") for p in panels
    )
    assert shown == (SNAPSHOTS / "help.txt").read_text(encoding="utf-8")


def test_read_does_not_claim_to_be_the_only_command_that_prints_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shown = " ".join(_help(capsys, "read").split())
    assert "the one place" not in shown
    assert "read, otp, inject, and item get with --reveal, --otp or --fields" in shown


def test_help_shows_bracketed_examples_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    shown = " ".join(_help(capsys, "item", "create").split())
    assert "[section.]field[[type]]=value" in shown
    assert "password[otp]=otpauth://…" in shown


@pytest.mark.parametrize(
    "text",
    ["a [otp] b", "x\\[bold]y", "end\\", "end\\\\", "[/x] [#f00] [@click]", "[A] [1]", ""],
)
def test_help_escapes_markup_as_rich_does(text: str) -> None:
    from rich.markup import escape

    from vaultborn.cli.help import _escape

    assert _escape(text) == escape(text)
