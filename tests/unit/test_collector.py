"""The CLI paces the garbage collector for its own process; importing vaultborn does not."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from vaultborn.cli import main
from vaultborn.core.collector import COMMAND_PACE


def test_a_command_sets_the_pace(capsys: pytest.CaptureFixture[str]) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        assert main(["--version"]) == 0
        assert gc.get_threshold() == COMMAND_PACE
    finally:
        gc.set_threshold(*before)
    assert capsys.readouterr().out.strip()


def test_importing_vaultborn_keeps_the_programs_own_pace() -> None:
    code = (
        "import gc; gc.set_threshold(123, 4, 5)\n"
        "import vaultborn, vaultborn.cli, vaultborn.runner.runs, vaultborn.notebook\n"
        "print(gc.get_threshold())"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "(123, 4, 5)"
