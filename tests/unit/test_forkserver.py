"""The test fork server gives what ``exec`` gives: the harness proven against the real thing.

Each case runs one command both ways, through the server and with ``python -m vaultborn``, and
compares what a test can see: the exit status, the output, the environment, the working
directory, the standard input, a kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import forkserver
from tests.forkserver import run_vaultborn
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault


def _execd(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return run_vaultborn(args, forked=False, **kwargs)  # type: ignore[arg-type]


def _forked(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return run_vaultborn(args, forked=True, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "VAULTBORN_HOME": str(home)}  # fmt: skip


def _both(*args: str, **kwargs: object) -> tuple[subprocess.CompletedProcess[str], ...]:
    forked, execd = _forked(*args, **kwargs), _execd(*args, **kwargs)
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        execd.returncode, execd.stdout, execd.stderr,
    )  # fmt: skip
    return forked, execd


def test_output_and_status_are_the_same(env: dict[str, str]) -> None:
    forked, _ = _both("--version", env=env)
    assert forked.returncode == 0 and forked.stdout.startswith("vaultborn ")
    failed, _ = _both("read", "op://ACL/missing/password", env=env)
    assert failed.returncode == 1 and failed.stderr.startswith("vaultborn: ")
    usage, _ = _both("read", env=env)
    assert usage.returncode == 2
    listed, _ = _both("runs", "--json", env=env)
    assert listed.returncode == 0 and listed.stdout == "[]\n"


@pytest.fixture
def item(env: dict[str, str]) -> str:
    """A reference to a password in the local vault of ``env``'s home."""
    vault = LocalVault(Path(env["VAULTBORN_HOME"]))
    spec = ItemSpec(title="k", assignments=(parse_assignment("password=v4lue-0123456789"),))
    vault.create_item("ACL", spec)
    vault.close()
    return "op://ACL/k/password"


def test_the_child_has_only_the_environment_cwd_and_stdin_it_was_given(
    env: dict[str, str], item: str, tmp_path: Path
) -> None:
    os.environ["VB_FORK_LEAK"] = "from the test process"  # not given: must not be seen
    try:
        # vaultborn.core sets LangGraph's strict msgpack at import: the child shows it as a
        # process that imported vaultborn would, in its own environment.
        script = (
            'pwd; echo "leak=${VB_FORK_LEAK-unset} home=$VAULTBORN_HOME k=$K"; cat;'
            'echo "strict=${LANGGRAPH_STRICT_MSGPACK-unset}"'
        )
        forked, _ = _both(
            "run", "--env", f"K={item}", "--", "sh", "-c", script,
            env=env, cwd=tmp_path, input="from stdin\n",
        )  # fmt: skip
    finally:
        del os.environ["VB_FORK_LEAK"]
    assert forked.returncode == 0, forked.stderr
    lines = forked.stdout.splitlines()
    assert lines[0] == str(tmp_path)
    assert lines[1].startswith(f"leak=unset home={env['VAULTBORN_HOME']} k=")
    assert "v4lue" not in forked.stdout  # masked by ``run``: the child had the value
    assert lines[2] == "from stdin"
    assert lines[3] == "strict=true"


def _started(
    env: dict[str, str], item: str, *, forked: bool
) -> tuple[subprocess.Popen[bytes], int]:
    """``vaultborn run`` of a shell that says its parent's pid (vaultborn's) and sleeps."""
    command = forkserver.vaultborn_command(forked=forked)
    process = subprocess.Popen(
        [*command, "run", "--env", f"K={item}", "--", "sh", "-c", "echo $PPID; exec sleep 60"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    with process.stdout:
        return process, int(process.stdout.readline())


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "exec"])
def test_a_signal_to_the_command_ends_it_with_that_signal(
    env: dict[str, str], item: str, forked: bool
) -> None:
    process, vaultborn = _started(env, item, forked=forked)
    assert (vaultborn == process.pid) is not forked  # forked: the stand-in's child of the server
    process.send_signal(signal.SIGUSR1)  # one ``run`` does not handle: it ends the process
    assert process.wait(timeout=30) == -signal.SIGUSR1
    _gone(vaultborn)


def test_killing_the_stand_in_kills_the_command(env: dict[str, str], item: str) -> None:
    process, vaultborn = _started(env, item, forked=True)
    process.kill()
    assert process.wait(timeout=30) == -signal.SIGKILL
    _gone(vaultborn)  # as ``kill -9`` of an exec'd vaultborn would leave it: not running


def _gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists():
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        if status == "Z":  # dead, not reaped yet by its parent
            return
        assert time.monotonic() < deadline, f"pid {pid} still runs"
        time.sleep(0.05)


def test_a_command_past_its_timeout_is_killed(env: dict[str, str], item: str) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        _forked("run", "--env", f"K={item}", "--", "sleep", "10", env=env, timeout=2)
