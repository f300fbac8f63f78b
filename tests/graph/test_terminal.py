"""In a terminal, ``vaultborn setup`` asks at each gate and goes on when the person says yes.

The CLI runs in a real pseudo-terminal (stdin and stdout are a tty), as a person would use it.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaultborn.browser.chromium import find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


def _talk(
    args: list[str], env: dict[str, str], replies: dict[str, str], timeout: float
) -> tuple[int, str]:
    """Run ``args`` on a pty, answering each prompt that ends with a key of ``replies``."""
    leader, follower = pty.openpty()
    child = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen, pending = "", ""
    deadline = time.monotonic() + timeout
    try:
        while child.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 4096).decode(errors="replace")
            except OSError:
                break
            seen += chunk
            pending += chunk
            for prompt, reply in replies.items():
                if prompt in pending:
                    os.write(leader, reply.encode())
                    pending = ""
        child.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if child.poll() is None:
            child.kill()
        os.close(leader)
    return child.returncode, seen


def _terminal_env(tmp_path: Path) -> dict[str, str]:
    """A plain terminal's environment, with its own home and data directory."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "VAULTBORN_HOME": str(tmp_path / "home"),
        "TERM": "dumb",
        "COLUMNS": "200",
    }


def test_setup_in_a_terminal_asks_at_each_gate(tmp_path: Path) -> None:
    env = _terminal_env(tmp_path)
    code, seen = _talk(
        [sys.executable, "-m", "vaultborn", "setup"],
        env,
        {"[a/y/n/q]: ": "y\n", "[y/n/q]: ": "y\n"},
        timeout=240,
    )
    assert code == 0, seen[-2000:]
    # The session alone (y), then each of the 4 effects at its own gate.
    assert seen.count("Approve? type a = all of it (session and plan)") == 1
    assert seen.count("Approve? type y = yes, n = no (reject), q = quit for now") == 4
    assert "asks to approve create_item" in seen
    assert ": done" in seen


def test_one_answer_at_the_terminal_approves_the_whole_plan(tmp_path: Path) -> None:
    env = _terminal_env(tmp_path)
    code, seen = _talk(
        [sys.executable, "-m", "vaultborn", "setup"],
        env,
        {"[a/y/n/q]: ": "a\n", "[y/n/q]: ": "q\n"},
        timeout=240,
    )
    assert code == 0, seen[-2000:]
    assert seen.count("Approve? type a = all of it (session and plan)") == 1
    assert "Approve? type y = yes" not in seen
    assert ": done" in seen
