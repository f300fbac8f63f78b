"""The process environment as a runtime store: ``vaultborn run -- CMD``.

The child gets the resolved values in its environment. By default its stdout and stderr pass
through maskers (``stores.streams``), so a value the child prints, or an encoding of it, shows
as ``<concealed by vaultborn>``; with masking off the child inherits our terminal. SIGINT and
SIGTERM are forwarded to the child, and its exit status becomes ours (128+N when a signal N
killed it, as shells report it). When our stdout or stderr goes away (``| head -1``), the child
gets SIGPIPE at its next write there; we still wait for it, then exit with 141 (128+SIGPIPE),
the status a shell reports for ``cat`` or ``op run`` in that pipeline. Core dumps are off in
both processes (``core.hardening``): the child inherits a core limit of 0 it cannot raise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType

from vaultborn.core import hardening
from vaultborn.core.errors import UsageError, VaultbornError
from vaultborn.stores.streams import MaskedStreams, Sink, pump
from vaultborn.vault.secret import Secret

__all__ = ["BROKEN_PIPE_STATUS", "FORWARDED_SIGNALS", "Sink", "exit_status", "run_with_secrets"]

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
BROKEN_PIPE_STATUS = 128 + getattr(signal, "SIGPIPE", 13)
"""Our exit status when our stdout or stderr was closed under us: 141, as for death by SIGPIPE."""


def exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it: 128+N for death by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def run_with_secrets(
    argv: Sequence[str],
    injected: Mapping[str, Secret],
    *,
    stdout: Sink,
    stderr: Sink,
    masking: bool = True,
    base_env: Mapping[str, str] = os.environ,
) -> int:
    """Run ``argv`` with ``injected`` added to its environment; returns its exit status.

    Args:
        argv: The command and its arguments.
        injected: Variable name → value.
        stdout: Receives the child's masked stdout (unused without masking).
        stderr: Receives the child's masked stderr (unused without masking).
        masking: Mask every injected value in the child's output.
        base_env: The environment the child starts from.
    """
    # The child's environment holds the values by design: neither it nor we may dump a core.
    hardening.disable_core_dumps()
    env = dict(base_env)
    env.update({name: secret.reveal() for name, secret in injected.items()})
    values = [secret.reveal().encode() for secret in injected.values()]
    pipe = subprocess.PIPE if masking else None
    try:
        child = subprocess.Popen(list(argv), env=env, stdout=pipe, stderr=pipe)  # noqa: S603
    except FileNotFoundError:
        raise UsageError(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise UsageError(f"command is not executable: {argv[0]}") from None
    streams = MaskedStreams([stdout, stderr], values)
    pumps = []
    if masking:
        for origin, stream in enumerate((child.stdout, child.stderr)):
            assert stream is not None  # noqa: S101 (PIPE was asked for)
            thread = threading.Thread(target=pump, args=(stream, origin, streams), daemon=True)
            thread.start()
            pumps.append(thread)
    with _forwarding(child):
        returncode = child.wait()
    for thread in pumps:
        thread.join()
    return _status(exit_status(returncode), streams.errors)


def _status(child_status: int, errors: Mapping[int, OSError]) -> int:
    """Ours: the child's, unless our stdout or stderr was closed under us."""
    if not errors:
        return child_status
    if all(isinstance(exc, BrokenPipeError) for exc in errors.values()):
        return BROKEN_PIPE_STATUS
    origin, exc = next((o, e) for o, e in errors.items() if not isinstance(e, BrokenPipeError))
    name = ("stdout", "stderr")[origin]
    raise VaultbornError(f"cannot write the command's output to {name}: {exc.strerror or exc}")


@contextmanager
def _forwarding(child: subprocess.Popen[bytes]) -> Iterator[None]:
    """Forward SIGINT/SIGTERM to ``child`` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
