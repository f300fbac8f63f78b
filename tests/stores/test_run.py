"""``vaultborn run``: values in the child's environment, masked in its output."""

from __future__ import annotations

import base64
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

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


def _vaultborn_run(child: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "vaultborn", "run", "--env", f"K={REF}", *_py(child)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _read_until(stream: IO[bytes], wanted: bytes, patience: float = 30) -> bytes:
    """What ``stream`` gives until it ends with ``wanted`` (or, as a guard, patience runs out)."""
    seen, deadline = b"", time.monotonic() + patience
    while not seen.endswith(wanted) and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if ready:
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
    return seen


def _wait_for(path: Path) -> str:
    """Child code that waits (at most a minute) until the test creates ``path``."""
    return (
        "import pathlib, time\n"
        f"go, deadline = pathlib.Path({str(path)!r}), time.monotonic() + 60\n"
        "while not go.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.02)\n"
    )


@pytest.mark.robustness("secret canaries: masked output of run")
def test_output_ending_with_the_start_of_a_value_is_not_held_back(cli: Run, tmp_path: Path) -> None:
    make_item(cli, VALUE)
    go = tmp_path / "go"
    child = (
        "import os, sys\n"
        "v = os.environ['K']\n"
        "sys.stdout.write('prompt> ' + v[0]); sys.stdout.flush()\n"
        + _wait_for(go)
        + "print(v[1:])\n"
    )
    proc = _vaultborn_run(child)
    assert proc.stdout is not None
    seen = _read_until(proc.stdout, b"prompt> " + VALUE[:1].encode())
    go.touch()
    rest, err = proc.communicate(timeout=60)
    assert seen == b"prompt> " + VALUE[:1].encode(), err  # out while the child still waits
    assert rest == MASK + b"\n"  # and the rest of the value, when it came, masked
    assert proc.returncode == 0


@pytest.mark.robustness("secret canaries: masked output of run")
def test_a_value_split_across_stdout_and_stderr_is_masked(cli: Run, tmp_path: Path) -> None:
    make_item(cli, VALUE)
    go = tmp_path / "go"
    child = (
        "import os, sys\n"
        "v = os.environ['K']\n"
        "sys.stdout.write(v[:3]); sys.stdout.flush()\n"
        + _wait_for(go)
        + "sys.stderr.write(v[3:] + '\\n'); sys.stderr.flush()\n"
    )
    proc = _vaultborn_run(child)
    assert proc.stdout is not None
    seen = _read_until(proc.stdout, VALUE[:3].encode())
    go.touch()
    rest, err = proc.communicate(timeout=60)
    assert seen + rest == VALUE[:3].encode()  # a start this short may show
    assert err == MASK + b"\n"  # but on a terminal the value never reads whole


@pytest.mark.robustness("secret canaries: masked output of run")
def test_encodings_of_a_value_are_masked(cli: Run) -> None:
    make_item(cli, VALUE)
    code = (
        "import base64, os, urllib.parse\n"
        "v = os.environ['K'].encode()\n"
        "print(base64.b64encode(b'user:' + v).decode())\n"
        "print(base64.urlsafe_b64encode(v).decode().rstrip('='))\n"
        "print(v.hex(), v.hex().upper())\n"
        "print('https://x.example/?k=' + urllib.parse.quote_plus(v))\n"
        "print(v[::-1].decode())\n"
    )
    result = cli("run", "--env", f"K={REF}", *_py(code))
    assert result.code == 0, result.err
    assert result.out.count(CONCEALED) == 6, result.out
    assert VALUE.encode().hex() not in result.out.lower()
    assert base64.b64encode(VALUE.encode())[:20].decode() not in result.out


@pytest.mark.robustness("fault: our stdout closed under us, or full")
def test_a_closed_stdout_ends_the_run_quietly_with_141(cli: Run, tmp_path: Path) -> None:
    make_item(cli, VALUE)
    pid_file = tmp_path / "child.pid"
    child = (
        "import os, signal\n"
        "signal.signal(signal.SIGPIPE, signal.SIG_DFL)\n"  # dies of it, as C programs do
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "while True:\n"
        "    print('line', os.environ['K'], flush=True)\n"
    )
    proc = _vaultborn_run(child)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does after its line
    _, err = proc.communicate(timeout=60)
    assert first == f"line {CONCEALED}\n".encode()
    assert err == b""  # no traceback, no "Exception ignored"
    assert proc.returncode == 141
    with pytest.raises(ProcessLookupError):  # it got SIGPIPE, and we waited for it
        os.kill(int(pid_file.read_text()), 0)


@pytest.mark.robustness("fault: our stdout closed under us, or full")
@pytest.mark.parametrize("args", [["item", "list", "--json"], ["read", REF], ["--version"]])
def test_other_commands_end_quietly_with_1_at_a_closed_stdout(cli: Run, args: list[str]) -> None:
    make_item(cli, VALUE)
    reader, writer = os.pipe()
    os.close(reader)  # gone before the first byte: every write is EPIPE
    try:
        run = subprocess.run(
            [sys.executable, "-m", "vaultborn", *args],
            stdout=writer, stderr=subprocess.PIPE, timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(writer)
    assert (run.returncode, run.stderr) == (1, b"")


@pytest.mark.robustness("fault: our stdout closed under us, or full")
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_stdout_is_one_line_not_a_traceback(cli: Run) -> None:
    make_item(cli, VALUE)
    with open("/dev/full", "wb") as full:
        run = subprocess.run(
            [sys.executable, "-m", "vaultborn", "run", "--env", f"K={REF}",
             *_py("import os; print(os.environ['K'])")],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr == (
        "vaultborn: cannot write the command's output to stdout: No space left on device\n"
    )


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


def test_an_env_file_named_like_an_assignment_is_not_echoed(cli: Run) -> None:
    # Found by the fuzz test: `--env-file --env=K=value`, the value typed where a path goes.
    result = cli("run", "--env-file", "--env=K=hunter2-pasted", "--", "true")
    assert result.code == 2
    assert result.err == (
        "vaultborn: env file with a name holding '=' (not shown) does not exist; "
        "NAME=op://… belongs in --env\n"
    )


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
