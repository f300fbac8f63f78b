"""The flow's decisions and the drivers' screen classification, without a browser."""

from __future__ import annotations

import pytest

from vaultborn.browser.drivers import DRIVER_NAMES, driver_named, pick_driver
from vaultborn.browser.errors import CodeRefused, LoginRefused, PageError
from vaultborn.browser.flow import (
    Capture,
    EnterCode,
    Finish,
    Goal,
    HandOff,
    LogIn,
    Progress,
    Stop,
    decide,
)
from vaultborn.browser.screens import Screen, ScreenKind
from vaultborn.browser.snapshot import PageSnapshot
from vaultborn.core.errors import UsageError

URL = "https://idp.example.com/enroll"


def screen(kind: ScreenKind, error: str = "", error_code: str = "") -> Screen:
    return Screen(kind, "test", "Some screen", URL, error=error, error_code=error_code)


CAPTURED = Progress(captures=1)
ONE_CODE = Progress(captures=1, codes_sent=1)
RECAPTURED = Progress(captures=2, codes_sent=1)
KEY = f"{URL} Some screen"


@pytest.mark.parametrize(
    ("goal", "kind", "progress", "expected"),
    [
        (Goal.ENROLL, ScreenKind.QR, Progress(), Capture()),
        (Goal.ENROLL, ScreenKind.MANUAL, Progress(), Capture()),
        (Goal.ENROLL, ScreenKind.MANUAL, CAPTURED, EnterCode()),
        (Goal.ENROLL, ScreenKind.CODE, CAPTURED, EnterCode()),
        # A refused code: read the page again (a new secret?), then wait for the next step.
        (Goal.ENROLL, ScreenKind.MANUAL, ONE_CODE, Capture()),
        (Goal.ENROLL, ScreenKind.MANUAL, RECAPTURED, EnterCode(next_step=True)),
        (Goal.ENROLL, ScreenKind.SUCCESS, ONE_CODE, Finish("success-screen")),
        (Goal.ENROLL, ScreenKind.SUCCESS, Progress(), Finish("already-done")),
        (Goal.ENROLL, ScreenKind.UNKNOWN, ONE_CODE, Finish("left-enrollment")),
        (Goal.LOGIN, ScreenKind.CODE, Progress(), EnterCode()),
        (Goal.LOGIN, ScreenKind.LOGIN, Progress(can_log_in=True), LogIn(KEY)),
        (Goal.LOGIN, ScreenKind.LOGIN, Progress(can_log_in=True, logins_sent=1), LogIn(KEY)),
    ],
)
def test_decisions(goal: Goal, kind: ScreenKind, progress: Progress, expected: object) -> None:
    assert decide(goal, screen(kind), progress) == expected


@pytest.mark.parametrize(
    ("goal", "kind", "progress"),
    [
        (Goal.ENROLL, ScreenKind.HUMAN, Progress()),
        (Goal.ENROLL, ScreenKind.UNKNOWN, Progress()),
        (Goal.ENROLL, ScreenKind.LOGIN, Progress()),  # no credentials given
    ],
)
def test_hand_offs(goal: Goal, kind: ScreenKind, progress: Progress) -> None:
    move = decide(goal, screen(kind), progress)
    assert isinstance(move, HandOff)
    assert "browser window" in move.instructions


def test_second_refusal_stops_with_code_refused() -> None:
    move = decide(Goal.ENROLL, screen(ScreenKind.QR, "Invalid code"), RECAPTURED.after(EnterCode()))
    assert isinstance(move, Stop)
    assert isinstance(move.error, CodeRefused)
    assert "Invalid code" in str(move.error)


def test_too_many_failures_stops_at_once() -> None:
    move = decide(Goal.ENROLL, screen(ScreenKind.QR, "Too many", "too-many-failures"), ONE_CODE)
    assert isinstance(move, Stop)
    assert isinstance(move.error, CodeRefused)


def test_refused_password_stops() -> None:
    progress = Progress(can_log_in=True, logins_sent=1, last_login=KEY)
    move = decide(Goal.LOGIN, screen(ScreenKind.LOGIN, "Wrong email or password."), progress)
    assert isinstance(move, Stop)
    assert isinstance(move.error, LoginRefused)


@pytest.mark.parametrize(
    ("goal", "kind", "progress", "says"),
    [
        (Goal.ENROLL, ScreenKind.ERROR, Progress(), "says 'Some screen'"),
        (Goal.ENROLL, ScreenKind.CODE, Progress(), "enrolled already"),
        (Goal.LOGIN, ScreenKind.QR, Progress(), "no confirmed TOTP"),
    ],
)
def test_page_errors(goal: Goal, kind: ScreenKind, progress: Progress, says: str) -> None:
    move = decide(goal, screen(kind), progress)
    assert isinstance(move, Stop)
    assert isinstance(move.error, PageError)
    assert says in str(move.error)


def test_progress_counts_moves() -> None:
    progress = Progress().after(Capture()).after(EnterCode()).after(LogIn(KEY)).after(HandOff("x"))
    assert progress == Progress(captures=1, codes_sent=1, logins_sent=1, last_login=KEY)


def snap(**facts: object) -> PageSnapshot:
    return PageSnapshot(url=URL, **facts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "driver", "kind"),
    [
        ({"screen": "mfa-otp-enrollment-qr"}, "auth0", ScreenKind.QR),
        ({"screen": "mfa-otp-enrollment-code"}, "auth0", ScreenKind.MANUAL),
        ({"screen": "mfa-enroll-result", "result": "enrolled"}, "auth0", ScreenKind.SUCCESS),
        ({"screen": "mfa-enroll-result", "result": "already-used"}, "auth0", ScreenKind.ERROR),
        ({"screen": "human-check"}, "auth0", ScreenKind.HUMAN),
        ({"ids": frozenset({"kc-totp-settings-form"})}, "keycloak", ScreenKind.QR),
        (
            {"ids": frozenset({"kc-totp-settings-form", "kc-totp-secret-key"})},
            "keycloak",
            ScreenKind.MANUAL,
        ),
        ({"ids": frozenset({"kc-form-login"}), "has_password": True}, "keycloak", ScreenKind.LOGIN),
        ({"ids": frozenset({"kc-error-message"})}, "keycloak", ScreenKind.ERROR),
        ({"ids": frozenset({"okta-sign-in"}), "has_qr": True}, "okta", ScreenKind.QR),
        ({"has_captcha": True, "has_qr": True}, "generic", ScreenKind.HUMAN),
        ({"text": "please verify you are human"}, "generic", ScreenKind.HUMAN),
        (
            {"text": "enter this setup key in your app", "has_code_input": True},
            "generic",
            ScreenKind.MANUAL,
        ),
        ({"has_password": True}, "generic", ScreenKind.LOGIN),
        ({"has_code_input": True}, "generic", ScreenKind.CODE),
        ({"heading": "You're all set"}, "generic", ScreenKind.SUCCESS),
        ({"heading": "Link expired"}, "generic", ScreenKind.ERROR),
        ({"heading": "Welcome back"}, "generic", ScreenKind.UNKNOWN),
    ],
)
def test_classification(facts: dict[str, object], driver: str, kind: ScreenKind) -> None:
    page = snap(**facts)
    chosen = pick_driver(page)
    assert chosen.name == driver
    assert chosen.classify(page).kind is kind


def test_snapshot_repr_hides_the_text() -> None:
    assert "jbswy3dp" not in repr(snap(text="secret key: jbswy3dpehpk3pxp"))


def test_driver_by_name() -> None:
    assert DRIVER_NAMES == ("auto", "auth0", "keycloak", "okta", "generic")
    assert driver_named("auto") is None
    assert driver_named("okta") is not None
    with pytest.raises(UsageError, match="unknown driver 'ping'"):
        driver_named("ping")


def test_terminal_handoff_waits_for_enter_and_gives_up_at_end_of_input() -> None:
    import asyncio
    import io

    from vaultborn.browser.errors import NeedsHuman
    from vaultborn.browser.handoff import terminal_handoff

    needed = NeedsHuman(URL, "tick the box")
    out = io.StringIO()
    asyncio.run(terminal_handoff(io.StringIO("\n"), out)(needed))
    assert "tick the box" in out.getvalue()
    assert URL in out.getvalue()
    with pytest.raises(NeedsHuman):
        asyncio.run(terminal_handoff(io.StringIO(""), io.StringIO())(needed))
