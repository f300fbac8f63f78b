"""Run the CLI in-process and capture its exit code and output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from vaultborn.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli("item", "list")`` → Result(code, stdout, stderr)."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
