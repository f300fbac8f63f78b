"""``run_flow()``: observe the page, decide, act, and again, until the flow finishes or stops.

Secrets pass through here only as ``Secret`` values on their way from the vault into a form
field (a code, a password) or from the page into the vault (the captured seed); the report,
the log lines and every error carry screen names and URLs without query strings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from vaultborn.browser.capture import CapturedTotp, CaptureSource, capture_totp
from vaultborn.browser.drivers import Driver, pick_driver
from vaultborn.browser.errors import (
    BrowserError,
    CaptureFailed,
    ConflictingSecrets,
    NeedsHuman,
    PageTimeout,
    crash_or,
    one_line,
)
from vaultborn.browser.flow import (
    Capture,
    ChooseMethod,
    EnterCode,
    Finish,
    Goal,
    HandOff,
    KeepRecoveryCodes,
    LogIn,
    Move,
    Progress,
    Reopen,
    SignUp,
    Stop,
    decide,
)
from vaultborn.browser.recovery import read_recovery_codes
from vaultborn.browser.screens import Screen, ScreenKind
from vaultborn.browser.snapshot import page_location, take_snapshot
from vaultborn.browser.totp_steps import StepLedger, UsedSteps, choose_step
from vaultborn.vault.secret import Secret

__all__ = [
    "MAX_HANDOFFS",
    "MAX_STEPS",
    "Credentials",
    "FlowOptions",
    "FlowReport",
    "HumanHandler",
    "TotpTarget",
    "run_flow",
]

_log = logging.getLogger(__name__)

MAX_STEPS = 20
"""Observations per flow before it gives up as making no progress."""
MAX_HANDOFFS = 3
"""Times a person is asked to act before the flow stops with ``NeedsHuman``."""

HumanHandler = Callable[[NeedsHuman], Awaitable[None]]
"""Lets a person act on the page (in a headed window) and returns when they are done."""


class TotpTarget(Protocol):
    """Where a captured TOTP secret goes, and where codes come from (the vault)."""

    @property
    def key(self) -> str:
        """Names the seed in the process's ledger of time steps used (no secret)."""
        ...

    def store(self, captured: CapturedTotp) -> None:
        """Keep the captured configuration (idempotent for the same secret)."""
        ...

    def code(self, at: float) -> Secret:
        """The code valid at unix time ``at``, from the stored configuration."""
        ...

    def has_seed(self) -> bool:
        """Whether a seed is stored already (an earlier run's), before this flow captures."""
        ...

    def store_recovery_codes(self, codes: Secret) -> None:
        """Keep the recovery codes the page listed after enrollment (one per line)."""
        ...


@dataclass(frozen=True)
class Credentials:
    """What login and sign-up screens are filled with; the password is read when typed."""

    username: str
    password: Callable[[], Secret]


@dataclass(frozen=True)
class FlowOptions:
    """How a flow runs.

    Attributes:
        driver: A fixed driver; None picks one per page.
        credentials: For login screens; None hands them to a person.
        on_human: Lets a person act; None raises ``NeedsHuman`` instead.
        on_screen: Called with each screen and the move chosen on it (progress display).
        on_wait: Called with the seconds a code waits for its time step, before the wait.
        steps: The time steps already used, shared by the flows of one seed (a new one: none).
        start_url: The flow's first page, opened again when a login lands elsewhere.
        timeout: Seconds for a page to load or react.
        period: The TOTP period when no secret was captured in this flow (login drills).
        clock: UNIX time now (the codes' time).
        sleep: Waits (for the next time step).
    """

    driver: Driver | None = None
    credentials: Credentials | None = None
    on_human: HumanHandler | None = None
    on_screen: Callable[[Screen, Move], None] | None = None
    on_wait: Callable[[float], None] | None = None
    steps: UsedSteps = field(default_factory=StepLedger)
    start_url: str | None = None
    timeout: float = 15.0
    period: int = 30
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass(frozen=True)
class FlowReport:
    """How a flow went (no secret in it).

    Attributes:
        goal: ``enroll`` or ``login``.
        outcome: What showed the end (``success-screen``, ``already-done``, ``left-enrollment``).
        screens: ``driver:kind`` of every screen seen, in order.
        source: How the secret was captured (``uri``, ``manual``, ``qr``), if it was.
        codes_sent: One-time codes submitted.
        handoffs: Times a person acted.
        recovery_codes: How many recovery codes went into the vault.
        waited: Seconds spent waiting for time steps.
        code_steps: The TOTP time steps of the codes sent (numbers, no secret).
    """

    goal: Goal
    outcome: str
    screens: tuple[str, ...] = ()
    source: CaptureSource | None = None
    codes_sent: int = 0
    handoffs: int = 0
    recovery_codes: int = 0
    waited: float = 0.0
    code_steps: tuple[int, ...] = ()


@dataclass
class _Run:
    page: Page
    goal: Goal
    target: TotpTarget
    options: FlowOptions
    progress: Progress
    screens: list[str] = field(default_factory=list)
    source: CaptureSource | None = None
    period: int = 30
    handoffs: int = 0
    recovery_codes: int = 0
    last_step: int | None = None
    code_steps: list[int] = field(default_factory=list)
    waited: float = 0.0
    seed_checked: bool = False


async def run_flow(
    page: Page, goal: Goal, target: TotpTarget, options: FlowOptions | None = None
) -> FlowReport:
    """Drive ``page`` until ``goal`` is reached.

    Raises:
        NeedsHuman: A person must act and no ``on_human`` was given (or they were asked
            ``MAX_HANDOFFS`` times).
        CodeRefused: The code was refused, also in the next time step.
        LoginRefused: The password was refused.
        ConflictingSecrets: The page shows two different secrets.
        PageError: The page says the flow cannot go on, or no progress in ``MAX_STEPS``.
        PageTimeout: A page did not load or react in time.
        BrowserCrashed: Chromium died during the flow.
    """
    options = options or FlowOptions()
    run = _Run(
        page=page,
        goal=goal,
        target=target,
        options=options,
        progress=Progress(
            can_log_in=options.credentials is not None,
            can_reopen=options.start_url is not None,
        ),
        period=options.period,
    )
    for _ in range(MAX_STEPS):
        snap = await take_snapshot(page, timeout=options.timeout)
        driver = options.driver or pick_driver(snap)
        screen = driver.classify(snap)
        await _learn_of_an_earlier_seed(run, screen)
        move = decide(goal, screen, run.progress)
        run.screens.append(f"{screen.driver}:{screen.kind}")
        _log.info("%s screen %r at %s: %s", screen.kind, screen.name, screen.url, move)
        if options.on_screen is not None:
            options.on_screen(screen, move)
        if isinstance(move, Finish):
            return FlowReport(
                goal=goal,
                outcome=move.how,
                screens=tuple(run.screens),
                source=run.source,
                codes_sent=run.progress.codes_sent,
                handoffs=run.handoffs,
                recovery_codes=run.recovery_codes,
                waited=run.waited,
                code_steps=tuple(run.code_steps),
            )
        if isinstance(move, Stop):
            raise move.error
        await _act(run, driver, move)
    raise BrowserError(
        f"no progress after {MAX_STEPS} screens at {page_location(page)} "
        f"(last: {run.screens[-1] if run.screens else 'none'})"
    )


async def _learn_of_an_earlier_seed(run: _Run, screen: Screen) -> None:
    """Ask the vault for a stored seed only where a decision needs it (a vault call saved).

    That is an enrollment's code prompt before this flow captured anything: a login's
    challenge, which the seed an earlier run stored may answer.
    """
    needs = run.goal is Goal.ENROLL and screen.kind is ScreenKind.CODE and not run.seed_checked
    if needs and not run.progress.captured:
        run.seed_checked = True
        if await asyncio.to_thread(run.target.has_seed):
            run.progress = replace(run.progress, seed_known=True)


async def _act(run: _Run, driver: Driver, move: Move) -> None:
    """Do ``move``; what a person must do instead goes through ``_hand_off``.

    Playwright's own errors (a field that never became editable, a browser that died) leave
    as typed errors with a one-line message naming the page without its query.
    """
    options, page = run.options, run.page
    try:
        if isinstance(move, HandOff):
            await _hand_off(run, move.instructions)
            return
        if isinstance(move, Capture | EnterCode | KeepRecoveryCodes):
            await _totp_move(run, driver, move)
        elif isinstance(move, LogIn | SignUp) and options.credentials is not None:
            password = await asyncio.to_thread(options.credentials.password)
            fill = driver.log_in if isinstance(move, LogIn) else driver.sign_up
            await fill(page, options.credentials.username, password, timeout=options.timeout)
        elif isinstance(move, Reopen) and options.start_url is not None:
            await page.goto(options.start_url, wait_until="load", timeout=options.timeout * 1000)
        elif isinstance(move, ChooseMethod):
            await driver.choose_method(page, timeout=options.timeout)
    except ConflictingSecrets:
        raise
    except CaptureFailed:
        await _hand_off(
            run,
            "no TOTP secret could be read from this page; show the secret (or its "
            '"can\'t scan" text) in the browser window',
        )
        return
    except LookupError as missing:
        await _hand_off(run, f"{missing} on this page; do this step in the browser window")
        return
    except PlaywrightTimeout:
        where = page_location(page)
        raise crash_or(
            PageTimeout(f"{where} did not react within {options.timeout:g} s"), alive=_alive(page)
        ) from None
    except PlaywrightError as error:
        failed = BrowserError(f"the browser failed on {page_location(page)}: {one_line(error)}")
        raise crash_or(failed, alive=_alive(page)) from None
    run.progress = run.progress.after(move)


async def _totp_move(
    run: _Run, driver: Driver, move: Capture | EnterCode | KeepRecoveryCodes
) -> None:
    """The moves that touch the vault item: the seed in, a code out, recovery codes in."""
    options, page = run.options, run.page
    if isinstance(move, Capture):
        captured = await capture_totp(page, timeout=options.timeout)
        await asyncio.to_thread(run.target.store, captured)
        run.source, run.period = captured.source, captured.params.period
    elif isinstance(move, EnterCode):
        key = run.target.key
        # The ledger may ask the run database: off the loop, which other flows share.
        used = await asyncio.to_thread(options.steps.used, key)
        retry_of = run.last_step if move.next_step else None
        choice = choose_step(options.clock(), run.period, used, retry_of=retry_of)
        if choice.wait:
            if options.on_wait is not None:
                options.on_wait(choice.wait)
            await options.sleep(choice.wait)
            run.waited += choice.wait
        code = await asyncio.to_thread(run.target.code, choice.at(run.period))
        await asyncio.to_thread(options.steps.mark, key, choice.step)
        run.last_step = choice.step
        run.code_steps.append(choice.step)
        await driver.enter_code(page, code, timeout=options.timeout)
    else:
        codes = await read_recovery_codes(page)
        if codes:
            joined = Secret("\n".join(codes), label="recovery codes")
            await asyncio.to_thread(run.target.store_recovery_codes, joined)
        run.recovery_codes = len(codes)


async def _hand_off(run: _Run, instructions: str) -> None:
    """Ask a person to act, or raise ``NeedsHuman`` when no one can be asked."""
    needed = NeedsHuman(page_location(run.page), instructions)
    if not _alive(run.page):  # nobody can act in a browser that is gone: run the flow again
        raise crash_or(needed, alive=False)
    if run.options.on_human is None or run.handoffs >= MAX_HANDOFFS:
        raise needed
    run.handoffs += 1
    await run.options.on_human(needed)


def _alive(page: Page) -> bool:
    """Whether the page's browser is still connected (False once Chromium died)."""
    browser = page.context.browser
    return browser is None or browser.is_connected()
