"""Chromium crashes and hanging pages during whole setups: retried, or stopped and resumed.

A ``FaultProxy`` fronts the dev IdP for the run and for the browser (the ticket URL and the
login page point at it). A fault on an enrollment or login request either SIGKILLs the run's
Chromium browser process at that moment (``on_fire``) and drops the request, or holds the
request unanswered (``hang``; ``hang-after`` once the IdP has acted on it).

Each run must end ``done`` within the same drive, or stop with a one-line reason and then
converge on ``resume``. A failed enrollment flow runs again on the same ticket (a relaunched
Chromium if the old one died), after asking the IdP whether the code arrived; verify's login
drill is retried by its node. Afterwards the IdP has one user with one TOTP authenticator,
confirmed, and the vault item one OTP field whose seed was written once: the revisited
ticket shows the pending secret the vault already holds, so even a capture that was never
confirmed is not replaced. (Only when every flow on a ticket fails does the node's retry
draw a new ticket, and with it a new seed — after the IdP said none was confirmed.)
No secret the vault holds rests in any file of the run (the dev IdP's own database aside),
in what a killed browser's profile left behind, or in the log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError

from tests.faults.clikit import EMAIL, IDP_OWN_FILES, secrets_in_vault
from tests.faults.proxy import Fault, FaultProxy
from tests.graph.kit import Harness, browser_pids, descendants, embedded_run
from vaultborn.browser.chromium import find_chromium
from vaultborn.browser.errors import BrowserCrashed, NeedsHuman, PageTimeout, crash_or
from vaultborn.core.errors import TransientError
from vaultborn.nodes.deps import BrowserChoice
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import FieldType
from vaultborn.vault.otp import parse_otpauth_uri
from vaultborn.vault.secret import Secret

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("fault: Chromium crash and hanging pages"),
]

RUN_ID = "run-browser-faults"
TICKET = r"^/guardian/enroll$"


@dataclass
class Chromium:
    """Kills the run's Chromium browser process when a fault fires (on the proxy's thread)."""

    killed: list[int] = field(default_factory=list)
    profiles: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    others: frozenset[int] = field(default_factory=lambda: frozenset(browser_pids()))
    """Browsers alive before the run (the session's shared Chromium of tests/browser): spared."""

    def kill(self) -> None:
        """SIGKILL the one browser process, then wait until its helper processes are gone.

        The wait keeps the fault deterministic: the request is dropped only once no Chromium
        process (its network service resends a request whose connection was reset) is left.
        """
        pids = [pid for pid in browser_pids() if pid not in self.others]
        if len(pids) != 1:
            self.problems.append(f"expected one Chromium browser process, found {pids}")
        for pid in pids:
            tree = {pid, *descendants(pid)}
            self.profiles.extend(_profile_dirs(pid))
            os.kill(pid, signal.SIGKILL)
            self.killed.append(pid)
            deadline = time.monotonic() + 10
            while _running(tree) and time.monotonic() < deadline:
                time.sleep(0.02)
            if _running(tree):
                self.problems.append("Chromium's processes outlived the browser process")


@dataclass(frozen=True)
class Case:
    """One fault: the request it catches, what it does, and what the run had done by then.

    Attributes:
        fault: The proxy's fault (``on_fire`` is added by the test).
        kills: Chromium is SIGKILLed when the fault fires.
        seeds_before: Seeds written to the vault when the fault first fired.
        timeout: The browser's page timeout during the faulty drive.
        fails_first: The first drive stops with this error (after the retries); then the
            faults are cleared and a resume with the default timeout must converge.
        reason: A regex matching that stop's one-line message.
    """

    fault: Fault
    kills: bool = False
    seeds_before: int = 0
    timeout: float = 15.0
    fails_first: type[Exception] | None = None
    reason: str = ""


CASES = {
    "killed on the ticket page, before the capture": Case(
        Fault("GET", TICKET, "reset-before", query="screen=code"), kills=True
    ),
    "killed after the seed is stored, before the code is confirmed": Case(
        Fault("POST", TICKET, "reset-before"), kills=True, seeds_before=1
    ),
    "killed as verify's login drill opens the login page": Case(
        Fault("GET", r"^/login$", "reset-before"), kills=True, seeds_before=1
    ),
    "the code was confirmed, its answer never comes": Case(
        Fault("POST", TICKET, "hang-after"), seeds_before=1, timeout=3.0
    ),
    "the ticket page never loads, on every try": Case(
        Fault("GET", TICKET, "hang", times=1000),
        timeout=1.0,
        fails_first=PageTimeout,
        reason=r"^http://127\.0\.0\.1:\d+/guardian/enroll did not load within 1 s$",
    ),
}


@contextmanager
def fronted_run(tmp_path: Path, timeout: float) -> Iterator[tuple[Harness, FaultProxy]]:
    """An embedded run behind a ``FaultProxy`` that the browser goes through too."""
    proxy: FaultProxy | None = None

    def front(base_url: str) -> str:
        nonlocal proxy
        proxy = FaultProxy(base_url, rewrite_answers=True).__enter__()
        return proxy.base_url

    try:
        with embedded_run(tmp_path, front=front, browser=BrowserChoice(timeout=timeout)) as run:
            assert proxy is not None
            yield run, proxy
    finally:
        if proxy is not None:
            proxy.__exit__(None, None, None)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_setup_survives_the_browser_fault(
    tmp_path: Path,
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    chromium = Chromium()
    seeds: list[str] = []  # fingerprints of the seeds written to the vault, in order
    seeds_at_fault: list[int] = []

    def on_fire() -> None:
        seeds_at_fault.append(len(seeds))
        if case.kills:
            chromium.kill()

    with fronted_run(tmp_path, case.timeout) as (run, proxy):
        set_otp = run.vault.set_otp

        def spy(vault: str | None, item: str, uri: str | Secret) -> object:
            seeds.append(_fingerprint(parse_otpauth_uri(uri).seed))
            return set_otp(vault, item, uri)

        monkeypatch.setattr(run.vault, "set_otp", spy)
        proxy.faults.append(dataclasses.replace(case.fault, on_fire=on_fire))

        if case.fails_first is None:
            (view,) = run.drive(RUN_ID)
        else:
            with pytest.raises(case.fails_first) as stopped:
                run.drive(RUN_ID)
            reason = str(stopped.value)
            assert re.match(case.reason, reason), reason
            assert run.view(RUN_ID).status == "failed"
            proxy.faults.clear()
            run.deps = dataclasses.replace(run.deps, browser=BrowserChoice())  # a new process
            view = run.resume(RUN_ID)

        assert view.status == "done", view.reason
        assert seeds_at_fault[:1] == [case.seeds_before], "the fault fired at another moment"
        assert not chromium.problems, chromium.problems
        if case.kills:
            assert chromium.killed, "no Chromium was killed"
            assert run.deps.browser.pool.launches == 2, "the dead browser was not replaced"
        with run.management() as mgmt:
            users = mgmt.users_by_email(EMAIL)
            assert len(users) == 1
            methods = mgmt.authentication_methods(users[0]["user_id"])
        assert [(m["type"], m["confirmed"]) for m in methods] == [("totp", True)]
        item = view.values["item"]
        fields = run.vault.get_item(item["vault_id"], item["item_id"], reveal=True).fields
        otp = [f for f in fields if f.type is FieldType.OTP]
        assert len(otp) == 1 and isinstance(otp[0].value, Secret)
        assert len(set(seeds)) == 1, f"the seed was replaced: {len(set(seeds))} seeds written"
        assert seeds[-1] == _fingerprint(parse_otpauth_uri(otp[0].value).seed)

    try:
        _assert_no_secret_at_rest(tmp_path, chromium.profiles, caplog.text)
    finally:
        for profile in chromium.profiles:  # what Playwright's clean-up raced with is ours
            shutil.rmtree(profile, ignore_errors=True)


def test_a_dead_browser_turns_any_failure_into_a_retried_crash() -> None:
    ticket = "http://127.0.0.1:1/guardian/enroll?ticket=T0pS3cretTicketId"
    timeout = PageTimeout("http://127.0.0.1:1/guardian/enroll did not load within 2 s")
    needed = NeedsHuman("http://127.0.0.1:1/guardian/enroll", "show the secret")
    raw = PlaywrightError(f"Page.goto: net::ERR_ABORTED at {ticket}\nCall log:\n  {ticket}")

    for alive_error in (timeout, needed, raw):
        assert crash_or(alive_error, alive=True) is alive_error
    for error in (timeout, needed, raw):
        crashed = crash_or(error, alive=False)
        assert isinstance(crashed, BrowserCrashed) and isinstance(crashed, TransientError)
        assert "\n" not in str(crashed) and "ticket=" not in str(crashed)
    crashed = BrowserCrashed("Chromium exited")
    assert crash_or(crashed, alive=False) is crashed
    assert str(crash_or(raw, alive=False)) == (
        "Chromium exited during the browser step "
        "(Page.goto: net::ERR_ABORTED at http://127.0.0.1:1/guardian/enroll)"
    )


def _fingerprint(seed: Secret) -> str:
    return hashlib.sha256(seed.reveal().encode()).hexdigest()


def _running(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (orphans leave our process tree, so ask each one)."""
    running = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                    running.add(pid)
        except (OSError, IndexError):
            continue
    return running


def _profile_dirs(pid: int) -> list[Path]:
    """The ``--user-data-dir`` of a Chromium process, read before it is killed."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().split(b"\0")
    except OSError:
        return []
    prefix = b"--user-data-dir="
    return [Path(a[len(prefix) :].decode()) for a in args if a.startswith(prefix)]


def _assert_no_secret_at_rest(tmp_path: Path, profiles: list[Path], log: str) -> None:
    """No vault secret in the run's files (the IdP's own aside), a killed profile, the log.

    Playwright removes a profile when its browser exits, but Chromium's helper processes may
    still write to it after a SIGKILL, so part of a killed browser's profile can stay behind.
    """
    values = secrets_in_vault(LocalVault(tmp_path / "home"))
    assert values, "the vault holds no secrets: the scan would prove nothing"
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith(IDP_OWN_FILES)]
    assert "state.db" in {p.name for p in files}
    files += [p for profile in profiles for p in profile.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        for value in values:
            assert value.encode() not in data, f"a vault secret rests in {path}"
    for value in values:
        assert value not in log, "a vault secret was logged"
