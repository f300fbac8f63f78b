"""Real third-party web applications with TOTP enrollment, started by the tests on loopback.

Two sites, each its own Python process serving on ``127.0.0.1`` (port 0, so any free port):

- ``"allauth"``: Django + django-allauth (account + mfa), stock templates
  (``tests/thirdparty/apps/allauth_site``).
- ``"flask_security"``: Flask + Flask-Security-Too, stock templates
  (``tests/thirdparty/apps/flask_security_site``).

``start_site(kind, tmp_dir)`` starts one and returns a :class:`RunningSite` (a context manager;
``stop()`` kills and reaps the process). The server's stderr (one line per request, and any
traceback) goes to ``<tmp_dir>/<kind>.stderr``, named in every failure message. Fixtures:
``allauth_site`` and ``flask_security_site`` (session-scoped: one server per test run) and
``start_site_factory`` (function-scoped; sites with non-default options, stopped after the
test). Import the ones you use explicitly: ``from tests.thirdparty.webapps import
allauth_site  # noqa: F401``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class SiteKind:
    """Where a site's pages are, relative to its base URL."""

    name: str
    module: str
    signup: str
    login: str
    logout: str
    enroll: str
    home: str
    login_code: str
    reauthenticate: str
    recovery_codes: str
    reauth_flag: str


SITES: dict[str, SiteKind] = {
    "allauth": SiteKind(
        name="allauth",
        module="tests.thirdparty.apps.allauth_site",
        signup="accounts/signup/",
        login="accounts/login/",
        logout="accounts/logout/",
        enroll="accounts/2fa/totp/activate/",
        home="",
        login_code="accounts/2fa/authenticate/",
        reauthenticate="accounts/reauthenticate/",
        recovery_codes="accounts/2fa/recovery-codes/",
        reauth_flag="--reauthentication-timeout",
    ),
    "flask_security": SiteKind(
        name="flask_security",
        module="tests.thirdparty.apps.flask_security_site",
        signup="register",
        login="login",
        logout="logout",
        enroll="tf-setup",
        home="",
        login_code="tf-validate",
        reauthenticate="verify",
        recovery_codes="mf-recovery-codes",
        reauth_flag="--freshness-seconds",
    ),
}


class SiteStartError(RuntimeError):
    """The site's process exited, or printed no URL in time; the message has its stderr."""


@dataclass
class RunningSite:
    """A site's process, serving on ``base_url`` (ends in ``/``) until :meth:`stop`."""

    kind: SiteKind
    base_url: str
    process: subprocess.Popen[bytes]
    stderr_path: Path
    data_dir: Path
    startup_seconds: float
    _files: list[IO[Any]] = field(default_factory=list, repr=False)

    def url(self, path: str) -> str:
        """``path`` (relative, no leading ``/``) under the base URL."""
        return self.base_url + path.lstrip("/")

    @property
    def signup_url(self) -> str:
        return self.url(self.kind.signup)

    @property
    def login_url(self) -> str:
        return self.url(self.kind.login)

    @property
    def logout_url(self) -> str:
        return self.url(self.kind.logout)

    @property
    def enroll_url(self) -> str:
        return self.url(self.kind.enroll)

    @property
    def home_url(self) -> str:
        return self.url(self.kind.home)

    @property
    def login_code_url(self) -> str:
        return self.url(self.kind.login_code)

    @property
    def reauthenticate_url(self) -> str:
        return self.url(self.kind.reauthenticate)

    @property
    def recovery_codes_url(self) -> str:
        return self.url(self.kind.recovery_codes)

    def stderr(self) -> str:
        """What the server wrote to stderr so far (request log, tracebacks)."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def diagnostics(self, tail: int = 40) -> str:
        """The last lines of the server's stderr, for assertion messages."""
        lines = self.stderr().splitlines()[-tail:]
        return f"{self.kind.name} site stderr ({self.stderr_path}):\n" + "\n".join(lines)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; always reaps the process. Idempotent."""
        _terminate(self.process)
        for handle in self._files:
            handle.close()
        self._files.clear()

    def __enter__(self) -> RunningSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_site(
    kind: str,
    tmp_dir: Path,
    *,
    reauth_window: int | None = None,
    totp_tolerance: int | None = None,
    rate_limits: bool = False,
    timeout: float = START_TIMEOUT,
) -> RunningSite:
    """Start site ``kind`` with its data (SQLite, logs) under ``tmp_dir``; wait for its URL.

    ``reauth_window`` (seconds) sets how long a password entry counts as recent for enrollment:
    allauth's ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` (default 300; a login never counts, only a
    re-entry on the "Confirm Access" page) or Flask-Security's ``SECURITY_FRESHNESS`` (default
    24 h; the login counts; must not be 0 there, -1 means never ask). ``totp_tolerance``
    (allauth only) is ``MFA_TOTP_TOLERANCE``: steps either side of now a code may come from
    (stock 0).
    ``rate_limits`` keeps
    allauth's rate limits (off by default: one server signs up every test's users from
    127.0.0.1, and allauth allows 20 sign-ups a minute per IP). Raises :class:`SiteStartError`
    if the process exits or prints no URL within ``timeout`` seconds.
    """
    site = SITES[kind]
    tmp_dir = Path(tmp_dir)
    data_dir = tmp_dir / f"{kind}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = tmp_dir / f"{kind}.stdout", tmp_dir / f"{kind}.stderr"
    args = [sys.executable, "-m", site.module, "--data-dir", str(data_dir), "--exit-on-stdin-eof"]
    if reauth_window is not None:
        args += [site.reauth_flag, str(reauth_window)]
    if (rate_limits or totp_tolerance is not None) and kind != "allauth":
        raise ValueError("rate_limits and totp_tolerance are allauth settings")
    if totp_tolerance is not None:
        args += ["--totp-tolerance", str(totp_tolerance)]
    if rate_limits:
        args.append("--rate-limits")
    stdout = stdout_path.open("wb")
    stderr = stderr_path.open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        args,
        cwd=REPO_ROOT,
        env=_site_env(tmp_dir),
        stdin=subprocess.PIPE,  # closed by stop(), or by the OS if this process dies
        stdout=stdout,
        stderr=stderr,
    )
    files: list[IO[Any]] = [stdout, stderr]
    try:
        announced = _wait_for_url(process, stdout_path, stderr_path, kind, timeout)
    except BaseException:
        _terminate(process)
        for handle in files:
            handle.close()
        raise
    return RunningSite(
        kind=site,
        base_url=announced["base_url"],
        process=process,
        stderr_path=stderr_path,
        data_dir=data_dir,
        startup_seconds=time.monotonic() - started,
        _files=files,
    )


def _site_env(tmp_dir: Path) -> dict[str, str]:
    """The site's whole environment: nothing inherited but the search path."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        "HOME": str(tmp_dir),
        "TMPDIR": str(tmp_dir),
    }


def _wait_for_url(
    process: subprocess.Popen[bytes],
    stdout_path: Path,
    stderr_path: Path,
    kind: str,
    timeout: float,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        first = stdout_path.read_bytes().split(b"\n", 1)
        if len(first) == 2:
            try:
                announced: dict[str, Any] = json.loads(first[0])
            except ValueError as error:
                raise SiteStartError(
                    f"{kind} site printed {first[0][:200]!r}, not its URL as JSON"
                    + _stderr_tail(stderr_path)
                ) from error
            return announced
        if process.poll() is not None:
            raise SiteStartError(
                f"{kind} site exited with code {process.returncode} before printing its URL"
                + _stderr_tail(stderr_path)
            )
        if time.monotonic() > deadline:
            raise SiteStartError(
                f"{kind} site printed no URL within {timeout:.0f} s" + _stderr_tail(stderr_path)
            )
        time.sleep(0.02)


def _stderr_tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return f"; its stderr ({path}):\n" + "\n".join(text)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None and not process.stdin.closed:
        process.stdin.close()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _session_site(
    kind: str, factory: pytest.TempPathFactory, **options: Any
) -> Iterator[RunningSite]:
    with start_site(kind, factory.mktemp(f"{kind}-site"), **options) as site:
        yield site


@pytest.fixture(scope="session")
def allauth_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSite]:
    """The Django + django-allauth site, one process for the whole test run.

    One deviation from allauth's defaults: ``MFA_TOTP_TOLERANCE = 1``, so a test that enrolls
    and logs in again at once can use the next step's code (``totp.at(time.time() + 30)``)
    instead of waiting up to 30 s; allauth refuses a code it has accepted before either way.
    ``start_site("allauth", dir)`` gives the stock tolerance 0.
    """
    yield from _session_site("allauth", tmp_path_factory, totp_tolerance=1)


@pytest.fixture(scope="session")
def flask_security_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSite]:
    """The Flask-Security-Too site, one process for the whole test run."""
    yield from _session_site("flask_security", tmp_path_factory)


StartSite = Callable[..., RunningSite]


@pytest.fixture
def start_site_factory(tmp_path: Path) -> Iterator[StartSite]:
    """``start_site_factory(kind, **options)``: a private site, stopped after the test."""
    started: list[RunningSite] = []

    def start(kind: str, **options: Any) -> RunningSite:
        site = start_site(kind, tmp_path / f"site{len(started)}", **options)
        started.append(site)
        return site

    yield start
    for site in started:
        site.stop()
