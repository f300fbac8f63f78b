"""``vaultborn run``: values in the child's environment, masked in its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.stores.conftest import REF, make_item
from vaultborn.core.files import MAX_FILE_BYTES
from vaultborn.stores.masking import MASK

VALUE = "s3cr3t-Value-0123456789"
CONCEALED = MASK.decode()


def _py(code: str) -> list[str]:
    return ["--", sys.executable, "-c", code]


def test_the_child_sees_the_value_and_its_output_is_masked(cli: Run) -> None:
    make_item(cli, VALUE)
    code = "import os,sys; v=os.environ['API_KEY']; print('key='+v); print(len(v), file=sys.stderr)"
    result = cli("run", "--env", f"API_KEY={REF}", *_py(code))
    assert result.code == 0, result.err
    assert result.out == f"key={CONCEALED}\n"
    assert result.err == f"{len(VALUE)}\n"  # the child really had it


def test_a_value_split_across_two_flushes_is_still_masked(cli: Run) -> None:
    make_item(cli, VALUE)
    code = (
        "import os,sys,time; v=os.environ['K'].encode(); o=sys.stdout.buffer\n"
        "o.write(b'<'+v[:7]); o.flush(); time.sleep(0.3); o.write(v[7:]+b'>'); o.flush()"
    )
    result = cli("run", "--env", f"K={REF}", *_py(code))
    assert result.code == 0, result.err
    assert result.out == f"<{CONCEALED}>"


def test_no_masking_lets_the_child_write_to_our_stdout_directly(cli: Run) -> None:
    make_item(cli, VALUE)
    run = subprocess.run(
        [sys.executable, "-m", "vaultborn", "run", "--no-masking", "--env", f"K={REF}",
         *_py("import os; print(os.environ['K'])")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == VALUE + "\n"


@pytest.mark.parametrize(
    ("script", "code"),
    [("raise SystemExit(7)", 7), ("import os; os.kill(os.getpid(), 9)", 137)],
)
def test_exit_codes_pass_through(cli: Run, script: str, code: int) -> None:
    make_item(cli, VALUE)
    assert cli("run", "--env", f"K={REF}", *_py(script)).code == code


def test_sigterm_is_forwarded_to_the_child(cli: Run, tmp_path: Path) -> None:
    make_item(cli, VALUE)
    ready = tmp_path / "ready"
    child = (
        "import pathlib,signal,sys,time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('got TERM', flush=True), sys.exit(42)))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaultborn", "run", "--env", f"K={REF}", *_py(child)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 42, err
    assert out == "got TERM\n"


def test_a_missing_command_is_a_one_line_error(cli: Run) -> None:
    make_item(cli, VALUE)
    result = cli("run", "--env", f"K={REF}", "--", "/nonexistent/tool")
    assert result.code == 2 and result.err == "vaultborn: command not found: /nonexistent/tool\n"


def test_env_file_references_are_injected_and_env_flags_win(cli: Run, tmp_path: Path) -> None:
    make_item(cli, VALUE)
    env_file = tmp_path / "app.env"
    env_file.write_text(f'# refs only\n\nexport A={REF}\nB="{REF}"\n')
    code = "import os; print(os.environ['A'] == os.environ['B'], os.environ['B'][:3])"
    result = cli("run", "--env-file", str(env_file), *_py(code))
    assert result.code == 0, result.err
    assert result.out == f"True {VALUE[:3]}\n"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("A=hunter2-pasted\n", "app.env:1: the value of A is not an op:// reference"),
        ("# c\n\nA op://ACL/x/y\n", "app.env:3: expected NAME=op://vault/item/field (no '=')"),
        ("1A=op://ACL/x/y\n", "app.env:1: '1A' is not a valid environment variable name"),
        ("A=op://ACL/x\n", "app.env:1: A: secret reference 'op://ACL/x' has 2 part(s)"),
        ("A=op://ACL/x/y\nA=op://ACL/x/z\n", "app.env:2: A is already set on an earlier line"),
    ],
)
def test_env_file_mistakes_name_file_and_line_never_the_value(
    cli: Run, tmp_path: Path, content: str, says: str
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text(content)
    result = cli("run", "--env-file", str(env_file), "--", "true")
    assert result.code == 2, result
    assert result.err.startswith("vaultborn: ") and result.err.count("\n") == 1, result.err
    assert says in result.err and "hunter2" not in result.err


@pytest.mark.robustness("hostile input: devices and huge files named as plan, env or tenant files")
@pytest.mark.parametrize(
    ("name", "reason"),
    [("/dev/zero", "not a regular file"), ("big.env", "larger than the 1 MiB limit")],
)
def test_an_env_file_is_read_with_a_bound(cli: Run, tmp_path: Path, name: str, reason: str) -> None:
    (tmp_path / "big.env").write_bytes(b"# a comment\n" * (MAX_FILE_BYTES // 12 + 1))
    path = tmp_path / name
    result = cli("run", "--env-file", str(path), "--", "true")
    assert result.code == 2
    assert result.err == f"vaultborn: env file {path} cannot be read ({reason})\n"


def test_env_flag_with_a_value_is_refused_without_echoing_it(cli: Run) -> None:
    result = cli("run", "--env", "K=hunter2-pasted", "--", "true")
    assert result.code == 2
    assert result.err == "vaultborn: --env: the value of K is not an op:// reference " \
        "(only references belong here, never values)\n"  # fmt: skip


def test_nothing_to_inject_and_missing_env_file(cli: Run, tmp_path: Path) -> None:
    assert "nothing to inject" in cli("run", "--", "true").err
    missing = cli("run", "--env-file", str(tmp_path / "nope.env"), "--", "true")
    assert missing.code == 2 and "does not exist" in missing.err


def _cores_land_in_the_cwd() -> bool:
    try:
        pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return False
    return bool(pattern) and not pattern.startswith("|") and "/" not in pattern


@pytest.mark.robustness("at rest: core dumps")
@pytest.mark.skipif(not _cores_land_in_the_cwd(), reason="cores go to a handler, not the cwd")
@pytest.mark.parametrize(
    ("crash", "code"),
    [
        ("import os, signal; os.kill(os.getppid(), signal.SIGABRT)", -signal.SIGABRT),
        ("import os; os.abort()", 128 + signal.SIGABRT),
    ],
    ids=["vaultborn-crashes", "its-command-crashes"],
)
def test_a_crash_leaves_no_core_file(cli: Run, tmp_path: Path, crash: str, code: int) -> None:
    import resource

    if resource.getrlimit(resource.RLIMIT_CORE)[1] == 0:
        pytest.skip("core dumps are off for this test process already (hard limit 0)")
    make_item(cli, VALUE)
    work = tmp_path / "cwd"
    work.mkdir()
    # vaultborn starts with core dumps on, as from a shell after `ulimit -c unlimited`; the value
    # is in its memory and in its command's environment when one of them crashes.
    cores_on = (
        "import os, resource, sys\n"
        "_, hard = resource.getrlimit(resource.RLIMIT_CORE)\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))\n"
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", cores_on, "-m", "vaultborn", "run", "--env", f"K={REF}",
         *_py(crash)],
        cwd=work, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == code, run.stderr
    assert sorted(p.name for p in work.iterdir()) == []
