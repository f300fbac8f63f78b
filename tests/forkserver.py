"""``vaultborn`` processes for the tests, forked from a server that loaded the libraries once.

A ``vaultborn`` command that drives a run spends about 2 s of CPU importing LangGraph,
LangChain's tracers, SQLAlchemy, Playwright and boto3 before it does anything, and the suite
starts hundreds of them. This server imports those libraries once per pytest worker and forks a
child per command. The child is a new process as far as the test can tell: it gets exactly the
environment, working directory and standard streams it was started with, runs ``python -m
vaultborn``'s main, runs the exit handlers, and ends with the command's exit status. It can
crash, be killed or leave Chromium behind as a process started by ``exec`` would.

Tests start it through an executable ``vaultborn`` (``vaultborn_command``, or first on a shell's
PATH: ``vaultborn_bin_dir``), a stand-in of a few milliseconds (``tests/forkshim.py``) that
hands the server its streams, forwards signals, and ends as the command ended. What stays
shared with the server: the modules it loaded, vaultborn's included, and the interpreter's hash
seed. vaultborn's modules read nothing of the environment, the working directory or the
streams at import; the one thing an import does to the process, LangGraph's strict msgpack
switch in the environment, each child does again in its own. Importing vaultborn afresh in
every child cost each about 0.4 s of CPU (0.37 s of it ``dataclasses`` writing methods with
``exec`` on Python 3.11), about 120 s per suite.

Tests that need a real ``exec`` (the pty tests, what a command imports, start-up time) start
their processes themselves. ``VAULTBORN_TEST_FORKSERVER=0`` turns the server off: every command
is then ``python -m vaultborn``, which the suite must pass too.

Protocol (one connection per command, on a Unix socket): the stand-in sends a length-prefixed
JSON request (argv, environment, working directory) with its stdin, stdout and stderr as
passed descriptors; the server answers ``pid N`` once the child runs and ``exit S`` when it
ended (``S`` as ``subprocess`` reports it: negative for a signal). A connection closed before
that (the stand-in was killed) kills the child.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["ENABLED", "ENV_SWITCH", "run_vaultborn", "vaultborn_bin_dir", "vaultborn_command"]

ENV_SWITCH = "VAULTBORN_TEST_FORKSERVER"
"""``0`` runs every command with ``exec`` instead of the server."""

PRELOAD = (
    "vaultborn.cli",
    "vaultborn.cli.driving",
    "vaultborn.runner.runs",
    "vaultborn.runner.drive",
    "vaultborn.runner.runtime",
    "vaultborn.runner.worker",
    "vaultborn.graphs.lifecycle",
    "vaultborn.browser.pool",
    "vaultborn.stores.aws",
    "vaultborn.stores.ssm",
    "vaultborn.idp.devserver.server",
    "playwright.async_api",
    "boto3",
    "botocore.session",
    "moto.moto_server.werkzeug_app",
    "werkzeug.serving",
)
"""Imported by the server, vaultborn's modules with the libraries, so no child imports them."""

_MAX_REQUEST = 1 << 20


ENABLED = os.environ.get(ENV_SWITCH, "1") != "0"
"""Whether commands go through the server: read once, at import, since every test then runs
with a scrubbed environment (``tests.conftest.clean_environ``)."""


# -- the client ------------------------------------------------------------------------------------
class _Server:
    """The server of this test process, started on first use and stopped at its exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    def bin_dir(self) -> Path:
        """A folder holding only an executable ``vaultborn`` that goes through the server."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            assert self._dir is not None
            return self._dir / "bin"

    def _start(self) -> None:
        if self._process is None:
            atexit.register(self.stop)
        else:  # it died: start another, in a folder of its own
            self.stop()
        self._dir = Path(tempfile.mkdtemp(prefix="vb-fork-"))
        path = self._dir / "s"
        ready_r, ready_w = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, __file__, str(path), str(ready_w)],
            pass_fds=(ready_w,),
            stdin=subprocess.DEVNULL,
        )
        os.close(ready_w)
        with os.fdopen(ready_r, "rb") as ready:
            if ready.read(1) != b"1":
                raise RuntimeError("the test fork server did not start (see its stderr)")
        shim = self._dir / "bin" / "vaultborn"
        shim.parent.mkdir()
        shim.write_text(
            f"#!{sys.executable} -SE\n"  # one word: Linux hands the rest over as one argument
            f"import sys; sys.path[0] = {str(_HERE)!r}; import forkshim\n"
            f"sys.exit(forkshim.main({str(path)!r}, sys.argv[1:]))\n"
        )
        shim.chmod(0o755)

    def stop(self) -> None:
        """Stop the server (its running commands go on) and remove its folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


_SERVER = _Server()
_HERE = Path(__file__).resolve().parent


def vaultborn_command(*, forked: bool = ENABLED) -> list[str]:
    """The command line of ``vaultborn``: the server's, or ``python -m vaultborn`` when off."""
    if not forked:
        return [sys.executable, "-m", "vaultborn"]
    return [str(_SERVER.bin_dir() / "vaultborn")]


def vaultborn_bin_dir() -> Path | None:
    """A folder to put first on a shell's PATH so ``vaultborn`` goes through the server (None:
    the server is off)."""
    return _SERVER.bin_dir() if ENABLED else None


def run_vaultborn(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
    forked: bool = ENABLED,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` of ``vaultborn ARGS``, output captured as text.

    ``input`` None: stdin is ``/dev/null``. ``forked`` False: ``python -m vaultborn``.
    """
    return subprocess.run(
        [*vaultborn_command(forked=forked), *args],
        env=dict(env), cwd=cwd, input=input, capture_output=True, text=True,
        stdin=None if input is not None else subprocess.DEVNULL,
        timeout=timeout, check=False,
    )  # fmt: skip


# -- the server ------------------------------------------------------------------------------------
def _serve(path: str, ready_fd: int) -> None:
    for name in PRELOAD:  # vaultborn's first: importing it sets LangGraph's strict msgpack
        __import__(name)
    if threading.active_count() != 1:  # a fork copies only the calling thread
        raise RuntimeError(f"threads after preloading: {threading.enumerate()}")
    # The libraries' objects out of the collector's sight: a child's collections would touch,
    # and so copy, every page of them.
    gc.collect()
    gc.freeze()

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    parent = os.getppid()
    os.write(ready_fd, b"1")
    os.close(ready_fd)

    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while os.getppid() == parent:
        for key, _ in selector.select(timeout=1.0):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                pid = _fork_one(conn, (listener.fileno(), wake_r, wake_w))
                if pid is not None:
                    children[pid] = conn
                    selector.register(conn, selectors.EVENT_READ, pid)
            elif key.fileobj == wake_r:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 512):
                        pass
            else:  # the shim said nothing more: it is gone (killed), so its command goes too
                selector.unregister(key.fileobj)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(key.data, signal.SIGKILL)
        _reap(children, selector)


def _reap(children: dict[int, socket.socket], selector: selectors.BaseSelector) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is None:
            continue
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(conn)
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
        conn.close()


def _fork_one(conn: socket.socket, server_fds: tuple[int, ...]) -> int | None:
    """Fork a child for the request on ``conn``; its pid (None: the request was broken)."""
    conn.settimeout(10)
    try:
        message, fds, _, _ = socket.recv_fds(conn, _MAX_REQUEST + 4, 3)
        while len(message) < 4 or len(message) < 4 + int.from_bytes(message[:4], "big"):
            more = conn.recv(_MAX_REQUEST)
            if not more:
                raise ConnectionError("short request")
            message += more
        request = json.loads(message[4:])
    except (OSError, ValueError):
        conn.close()
        return None
    conn.settimeout(None)
    if len(fds) != 3:
        conn.close()
        return None
    pid = os.fork()
    if pid == 0:
        conn.close()
        _child(request, fds, server_fds)  # never returns
    for fd in fds:
        os.close(fd)
    conn.sendall(f"pid {pid}\n".encode())
    return pid


def _child(request: dict[str, Any], fds: list[int], server_fds: tuple[int, ...]) -> None:
    """Become ``python -m vaultborn ARGV`` in ``request``'s environment; exit with its status."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in server_fds:
            os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        _fresh_stdio()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")  # what importing vaultborn does
        _fresh_process_state()
        sys.argv = list(request["argv"])
        sys.path[0] = os.getcwd()  # as ``python -m`` puts it
        code = _run_main()
    except BaseException:
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _fresh_stdio() -> None:
    """New text streams on descriptors 0-2, as an interpreter starting on them makes."""
    import io

    def stream(fd: int, mode: str, errors: str, *, lines: bool) -> io.TextIOWrapper:
        raw = open(fd, mode + "b", closefd=False)  # noqa: SIM115 - the process's own stream
        return io.TextIOWrapper(raw, encoding="utf-8", errors=errors, line_buffering=lines)

    sys.stdin = stream(0, "r", "strict", lines=False)
    sys.stdout = stream(1, "w", "strict", lines=os.isatty(1))
    sys.stderr = stream(2, "w", "backslashreplace", lines=True)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr


def _fresh_process_state() -> None:
    """What would differ from a new interpreter: the clock's zone, ``random``'s seed."""
    import time

    time.tzset()
    if "random" in sys.modules:
        sys.modules["random"].seed()


def _run_main() -> int:
    """``runpy`` of ``vaultborn.__main__``, its exit handlers, and the status Python exits with."""
    import runpy

    try:
        runpy.run_module("vaultborn", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        code = _exit_status(done.code)
    except KeyboardInterrupt:
        _finish()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Python's own exit after a Ctrl-C
        os.kill(os.getpid(), signal.SIGINT)
        return 130
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    _finish()
    return code


def _exit_status(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _finish() -> None:
    """The interpreter's shutdown that ``os._exit`` skips: threads joined, then ``atexit``."""
    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
