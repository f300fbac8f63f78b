"""A wait for the next TOTP step says how long it takes, and the CLI's runs use it."""

from __future__ import annotations

import asyncio
import io
from contextlib import ExitStack
from pathlib import Path

from vaultborn.cli.driving import Choices, run_options
from vaultborn.countdown import countdown
from vaultborn.runner.wiring import Settings


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO, seconds: float) -> list[float]:
    slept: list[float] = []
    now = [100.0]

    async def sleep(step: float) -> None:
        slept.append(step)
        now[0] += step

    asyncio.run(countdown(stream, sleep=sleep, clock=lambda: now[0])(seconds))
    return slept


def test_in_a_terminal_the_seconds_left_are_counted_down() -> None:
    shown = _Terminal()
    assert _run(shown, 2.5) == [1.0, 1.0, 0.5]
    text = shown.getvalue()
    assert "\rwaiting for the next TOTP time step:  3 s" in text
    assert "\rwaiting for the next TOTP time step:  1 s" in text
    assert text.endswith("\r")  # the line is wiped when the wait is over


def test_elsewhere_the_wait_is_one_line() -> None:
    shown = io.StringIO()
    assert _run(shown, 12.2) == [12.2]
    assert shown.getvalue() == "vaultborn: waiting for the next TOTP time step: 13 s\n"


def test_a_reporting_run_counts_its_waits_down_and_a_json_one_does_not(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with ExitStack() as stack:
        reporting = run_options(settings, Choices(report=True), stack)
        quiet = run_options(settings, Choices(report=False), stack)
    assert reporting.browser.wait is not asyncio.sleep
    assert quiet.browser.wait is asyncio.sleep
