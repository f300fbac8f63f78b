"""Running the 1Password CLI: a subprocess with a timeout, stdin for values, typed errors.

``op`` reports every failure as exit status 1 and one ``[ERROR]`` line on stderr
(reference/credentials.md §1.1), so failures are classified by their text (``vault.op.errors``).
An ``op`` waiting for a biometric prompt blocks forever, so every call has a timeout, after
which the whole process group is killed. Values travel on stdin only; argv never holds one.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from vaultborn.core.errors import ConfigurationError
from vaultborn.vault.errors import AuthorizationTimeout, VaultConflict, VaultUnavailable
from vaultborn.vault.op.errors import classify
from vaultborn.vault.secret import Secret

__all__ = ["MIN_VERSION", "OpRunner", "parse_version"]

T = TypeVar("T")
MIN_VERSION = (2, 23, 0)
# Terraform's op client: the first attempt plus up to 3 retries on a 409, backoff with jitter.
CONFLICT_RETRIES = 3
BACKOFF_BASE = 0.25
# Shorter values are too likely to occur in ids and flags by chance.
_MIN_GUARDED_LENGTH = 6
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_INSTALL_HINT = (
    "install the 1Password CLI (https://developer.1password.com/docs/cli/get-started/) "
    "or set VAULTBORN_OP_BIN to its path"
)


def parse_version(text: str) -> tuple[int, int, int]:
    """The ``major.minor.patch`` that ``op --version`` printed, or ``ConfigurationError``."""
    match = _VERSION.search(text)
    if match is None:
        shown = text.strip()[:40]
        raise ConfigurationError(f"could not read a version from `op --version` ({shown!r})")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


class OpRunner:
    """Runs ``op`` commands and turns their failures into vaultborn errors.

    Args:
        op_bin: The ``op`` executable, a name looked up on ``PATH`` or a path.
        timeout: Seconds to wait for one command before giving up (an unanswered
            authorization prompt blocks ``op`` forever).
        account: Passed as ``--account`` to every command (desktop app sign-in).
        env: The environment for ``op``; None means this process's environment at call time.
        sleep: Waits between conflict retries (injected in tests).
    """

    def __init__(
        self,
        op_bin: str = "op",
        *,
        timeout: float = 30.0,
        account: str | None = None,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0:
            raise ConfigurationError(f"the op timeout must be positive, got {timeout}")
        self.op_bin = op_bin
        self.timeout = timeout
        self.account = account
        self._env = dict(env) if env is not None else None
        self._sleep = sleep
        self._version: tuple[int, int, int] | None = None

    # -- environment --------------------------------------------------------------------------
    def child_env(self) -> dict[str, str]:
        """The environment ``op`` runs with (sign-in variables pass through unchanged)."""
        env = dict(os.environ if self._env is None else self._env)
        # Plain output for `read` and `item get --otp`; JSON is asked for with --format json.
        env.pop("OP_FORMAT", None)
        if self.account:
            env.setdefault("OP_BIOMETRIC_UNLOCK_ENABLED", "true")
        return env

    def path(self) -> str | None:
        """Where ``op_bin`` resolves to, or None if it does not."""
        return shutil.which(self.op_bin, path=self.child_env().get("PATH"))

    def version(self) -> tuple[int, int, int]:
        """``op --version``, asked once; raises ``ConfigurationError`` below 2.23.0."""
        if self._version is None:
            found = parse_version(self._exec(["--version"], None, ()))
            if found < MIN_VERSION:
                shown = ".".join(map(str, found))
                raise ConfigurationError(
                    f"op {shown} is too old; vaultborn needs 2.23.0 or newer "
                    "(JSON on stdin for item edit)"
                )
            self._version = found
        return self._version

    # -- running ------------------------------------------------------------------------------
    def run(
        self, args: Sequence[str], *, stdin: str | None = None, forbid: Iterable[Secret] = ()
    ) -> str:
        """Run ``op ARGS`` and return its stdout.

        Args:
            args: The command and flags. Never values: those go on ``stdin``.
            stdin: Text for op's standard input (item JSON, which may hold secrets).
            forbid: Secrets that must not appear in ``args``; also scrubbed from errors.

        Raises:
            ValueError: If an argument is not a plain ``str`` or contains a forbidden value.
            VaultError: A typed subclass for what op reported (see ``vault.op.errors``).
            ConfigurationError: ``op`` is missing, too old, or its sign-in is misconfigured.
        """
        guarded = [s for s in forbid if len(s) >= _MIN_GUARDED_LENGTH]
        for arg in args:
            if type(arg) is not str:
                raise ValueError("op arguments must be plain str; values go on stdin")
            if any(s.reveal() in arg for s in guarded):
                raise ValueError("refusing to put a secret value in op's argv; send it on stdin")
        self.version()
        argv = [*args, "--account", self.account] if self.account else list(args)
        return self._exec(argv, stdin, guarded)

    def run_json(
        self, args: Sequence[str], *, stdin: str | None = None, forbid: Iterable[Secret] = ()
    ) -> Any:
        """``run`` and parse stdout as JSON; garbage raises ``VaultUnavailable``."""
        out = self.run(args, stdin=stdin, forbid=forbid)
        try:
            return json.loads(out)
        except ValueError:
            # The output itself may hold values, so it is never quoted in the message.
            raise VaultUnavailable(
                f"`op {' '.join(args[:2])}` printed something that is not JSON"
            ) from None

    def retry_conflicts(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying on ``VaultConflict`` (HTTP 409) with backoff and jitter."""
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return action()
            except VaultConflict:
                if attempt == CONFLICT_RETRIES:
                    raise
                self._sleep(BACKOFF_BASE * 2**attempt * (1 + random.random()))  # noqa: S311
        raise AssertionError("unreachable")  # pragma: no cover

    def _exec(self, argv: list[str], stdin: str | None, guarded: Sequence[Secret]) -> str:
        try:
            # A new session: on timeout the whole group dies, and op can never grab the
            # terminal for a password prompt that nobody would see.
            proc = subprocess.Popen(  # noqa: S603 (argv list, no shell)
                [self.op_bin, *argv],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.child_env(),
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ConfigurationError(f"op not found ({self.op_bin!r}): {_INSTALL_HINT}") from None
        except OSError as exc:
            raise ConfigurationError(
                f"cannot run op ({self.op_bin!r}: {exc.strerror}): {_INSTALL_HINT}"
            ) from None
        data = stdin.encode() if stdin is not None else None
        try:
            out, err = proc.communicate(data, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise AuthorizationTimeout(
                f"op did not answer within {self.timeout:g} s; "
                "a 1Password authorization prompt may be waiting"
            ) from None
        stderr = err.decode(errors="replace")
        if proc.returncode != 0:
            raise classify(stderr, proc.returncode, redact=guarded)
        try:
            return out.decode()
        except UnicodeDecodeError:
            raise VaultUnavailable(f"`op {' '.join(argv[:2])}` printed invalid UTF-8") from None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover (a grandchild escaped the group)
        proc.kill()
        proc.wait()
