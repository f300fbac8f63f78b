"""Enrollment and login drills through real Chromium against the dev IdP over HTTP.

The seed goes from the ticket page into the local vault and the confirmation code comes from
the vault; the IdP's Management API then shows one confirmed TOTP authenticator.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from playwright._impl.connection import Connection
from playwright.async_api import Page

from tests.browser.kit import Pages, needs_chromium
from tests.idp.devkit import (
    ENV,
    PASSWORD,
    Clock,
    bearer,
    client,
    create_ticket,
    create_user,
    mgmt_token,
)
from vaultborn.browser.enroll import VaultPassword, VaultTotpTarget, enroll_totp, login_drill
from vaultborn.browser.errors import CodeRefused, LoginRefused, NeedsHuman, PageError
from vaultborn.browser.runner import FlowOptions, FlowReport
from vaultborn.browser.totp_steps import StepLedger
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.runner.used_steps import SharedStepLedger
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.protocol import Vault
from vaultborn.vault.secret import Secret

pytestmark = needs_chromium

ITEM = "Auth0 — break-glass"


@dataclasses.dataclass
class Enrollment:
    """A dev IdP user with an enrollment ticket, and a vault item waiting for the seed."""

    idp: RunningDevIdP
    http: httpx.Client
    token: str
    user: dict[str, Any]
    ticket_url: str
    vault: LocalVault
    target: VaultTotpTarget

    def methods(self) -> list[tuple[str, bool]]:
        """The user's authentication methods as (type, confirmed)."""
        response = self.http.get(
            f"api/v2/users/{self.user['user_id']}/authentication-methods",
            headers=bearer(self.token),
        )
        return [(m["type"], m["confirmed"]) for m in response.json()]


def _start(tmp_path: Path, *, clock: Clock | None = None, human: bool = False) -> RunningDevIdP:
    tenant = dataclasses.replace(demo_tenant(), require_human_check=human)
    if clock is None:
        return start_dev_idp(tenant, db=tmp_path / "devidp.db", env=ENV)
    return start_dev_idp(tenant, db=tmp_path / "devidp.db", env=ENV, clock=clock)


@pytest.fixture
def e(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Enrollment]:
    """A fresh dev IdP (``@pytest.mark.parametrize`` ``clock``/``human`` via indirect params)."""
    options = getattr(request, "param", {})
    vault = LocalVault(tmp_path / "home")
    vault.create_item(
        "ACL",
        ItemSpec(
            title=ITEM,
            assignments=(
                parse_assignment("username=admin@example.com"),
                parse_assignment(f"password={PASSWORD}"),
            ),
        ),
    )
    with _start(tmp_path, **options) as idp, client(idp.base_url) as http:
        token = mgmt_token(idp)
        user = create_user(http, token, f"enroll-{secrets.token_hex(4)}@example.com")
        ticket = create_ticket(http, token, user["user_id"])
        yield Enrollment(
            idp=idp,
            http=http,
            token=token,
            user=user,
            ticket_url=ticket["ticket_url"],
            vault=vault,
            target=VaultTotpTarget(vault, "ACL", ITEM),
        )
    vault.close()


def _enroll(pages: Pages, e: Enrollment, options: FlowOptions | None = None) -> FlowReport:
    async def action(page: Page) -> FlowReport:
        return await enroll_totp(page, e.target, url=e.ticket_url, options=options)

    return pages.run(action)


def test_ticket_is_captured_into_the_vault_and_confirmed(pages: Pages, e: Enrollment) -> None:
    report = _enroll(pages, e)

    assert report.outcome == "success-screen"
    assert report.source == "manual"  # via "Trouble Scanning?"
    assert report.codes_sent == 1
    assert report.screens == ("auth0:qr", "auth0:manual", "auth0:success")
    assert e.methods() == [("totp", True)]
    item = e.vault.get_item("ACL", ITEM)
    assert [f.type for f in item.fields if f.type == "OTP"] == ["OTP"]
    assert "secret" not in repr(report).lower()


def test_crash_after_capture_resumes_with_the_same_seed(pages: Pages, e: Enrollment) -> None:
    class Crash(Exception):
        pass

    class CrashBeforeCode(VaultTotpTarget):
        def code(self, at: float) -> Secret:
            raise Crash

    crashing = CrashBeforeCode(e.vault, "ACL", ITEM)

    async def first(page: Page) -> None:
        with pytest.raises(Crash):
            await enroll_totp(page, crashing, url=e.ticket_url)

    pages.run(first)
    stored = e.vault.get_item("ACL", ITEM)
    report = _enroll(pages, e)

    assert report.outcome == "success-screen"
    assert e.vault.get_item("ACL", ITEM).version == stored.version  # same seed: no new version
    assert e.methods() == [("totp", True)]


class CountingVault:
    """The vault, counting the OTP writes made through it."""

    def __init__(self, inner: LocalVault) -> None:
        self.inner, self.otp_writes = inner, 0

    def set_otp(self, vault: str | None, item: str, uri: str | Secret) -> Any:
        self.otp_writes += 1
        return self.inner.set_otp(vault, item, uri)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_secret_shown_again_is_not_written_again(pages: Pages, e: Enrollment) -> None:
    """A flow run again on the same ticket sees the seed the vault holds: no second write."""

    class Crash(Exception):
        pass

    counting = CountingVault(e.vault)
    stored: list[int] = []

    def crash_once() -> None:
        stored.append(1)
        if len(stored) == 1:
            raise Crash  # the process dies between the vault write and the code

    target = VaultTotpTarget(cast(Vault, counting), "ACL", ITEM, on_stored=crash_once)

    async def run(page: Page) -> FlowReport:
        return await enroll_totp(page, target, url=e.ticket_url)

    async def first(page: Page) -> None:
        with pytest.raises(Crash):
            await run(page)

    pages.run(first)
    report = pages.run(run)

    assert report.outcome == "success-screen"
    assert len(stored) == 2 and counting.otp_writes == 1
    assert e.methods() == [("totp", True)]


def test_flow_continues_from_the_manual_screen_already_open(pages: Pages, e: Enrollment) -> None:
    async def action(page: Page) -> FlowReport:
        await page.goto(e.ticket_url + "&screen=code")
        return await enroll_totp(page, e.target)

    report = pages.run(action)
    assert report.screens[0] == "auth0:manual"
    assert report.outcome == "success-screen"


def test_used_ticket_is_a_page_error(pages: Pages, e: Enrollment) -> None:
    _enroll(pages, e)
    with pytest.raises(PageError, match="Already used"):
        _enroll(pages, e)


class DriverClock:
    """The flow's clock, ``offset`` seconds from the IdP's; sleeping advances it."""

    def __init__(self, idp_clock: Clock, offset: float) -> None:
        self.now = idp_clock.now + offset
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("e", [{"clock": Clock(1_800_000_015.0)}], indirect=True)
def test_refused_code_is_retried_once_in_the_next_time_step(pages: Pages, e: Enrollment) -> None:
    # Two steps behind the IdP: outside its ±1 window; one step later: inside it.
    clock = DriverClock(Clock(1_800_000_015.0), offset=-60)
    report = _enroll(pages, e, FlowOptions(clock=clock, sleep=clock.sleep))

    assert report.codes_sent == 2
    assert report.outcome == "success-screen"
    assert clock.slept == [pytest.approx(15.25)]  # to the next 30 s boundary, plus the margin
    assert e.methods() == [("totp", True)]


@pytest.mark.parametrize("e", [{"clock": Clock(1_800_000_015.0)}], indirect=True)
def test_code_refused_twice_is_an_error(pages: Pages, e: Enrollment) -> None:
    clock = DriverClock(Clock(1_800_000_015.0), offset=-600)
    with pytest.raises(CodeRefused, match="also in the next time step") as caught:
        _enroll(pages, e, FlowOptions(clock=clock, sleep=clock.sleep))

    assert len(clock.slept) == 1
    assert e.methods() == [("totp", False)]
    for at in (clock.now, clock.now - clock.slept[0]):
        assert e.target.code(at).reveal() not in str(caught.value)


@pytest.mark.parametrize("e", [{"human": True}], indirect=True)
def test_human_check_headless_needs_a_person(pages: Pages, e: Enrollment) -> None:
    with pytest.raises(NeedsHuman) as caught:
        _enroll(pages, e)

    assert caught.value.url == e.idp.base_url + "guardian/enroll"  # no ticket in it
    assert "human check" in caught.value.instructions
    assert e.methods() == [("totp", False)] or e.methods() == []


@pytest.mark.parametrize("e", [{"human": True}], indirect=True)
def test_human_check_handed_to_a_person_then_continues(pages: Pages, e: Enrollment) -> None:
    asked: list[NeedsHuman] = []

    async def action(page: Page) -> FlowReport:
        async def person(needed: NeedsHuman) -> None:  # what the person does in the window
            asked.append(needed)
            await page.locator("#human-check-box").check()
            await page.locator("#continue").click()
            await page.wait_for_url("**/guardian/enroll?**")

        options = FlowOptions(on_human=person)
        return await enroll_totp(page, e.target, url=e.ticket_url, options=options)

    report = pages.run(action)
    assert len(asked) == 1
    assert report.handoffs == 1
    assert report.screens[0] == "auth0:human"
    assert report.outcome == "success-screen"


@pytest.mark.parametrize("e", [{"clock": Clock(1_800_000_015.0)}], indirect=True)
def test_login_drill_with_password_and_code_from_the_vault(pages: Pages, e: Enrollment) -> None:
    enrolled_at = DriverClock(Clock(1_800_000_015.0), offset=-30)
    _enroll(pages, e, FlowOptions(clock=enrolled_at, sleep=enrolled_at.sleep))
    drill_at = DriverClock(Clock(1_800_000_015.0), offset=0)
    report = _drill(pages, e, "password", FlowOptions(clock=drill_at, sleep=drill_at.sleep))

    assert report.outcome == "success-screen"
    assert report.screens == ("auth0:login", "auth0:code", "auth0:success")
    assert drill_at.slept == []


@pytest.mark.parametrize("e", [{"clock": Clock(1_800_000_015.0)}], indirect=True)
def test_enrollment_and_drill_use_no_selector_engine(
    pages: Pages, e: Enrollment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Playwright's selector engine costs a script install per document: none is asked for.

    Every Playwright call that takes a selector (locators' count, fill, click …) installs it;
    ``browser.actions`` finds elements with one evaluation instead.
    """
    selectors: list[str] = []
    send = Connection.send_message_to_server

    def spy(self: Connection, owner: Any, method: str, params: Any, *rest: Any) -> Any:
        if isinstance(params, dict) and "selector" in params:
            selectors.append(f"{owner._type}.{method}")
        return send(self, owner, method, params, *rest)

    monkeypatch.setattr(Connection, "send_message_to_server", spy)
    enrolled_at = DriverClock(Clock(1_800_000_015.0), offset=-30)
    enrolled = _enroll(pages, e, FlowOptions(clock=enrolled_at, sleep=enrolled_at.sleep))
    drill_at = DriverClock(Clock(1_800_000_015.0), offset=0)
    drilled = _drill(pages, e, "password", FlowOptions(clock=drill_at, sleep=drill_at.sleep))

    assert enrolled.outcome == drilled.outcome == "success-screen"
    assert selectors == []


@pytest.mark.parametrize("e", [{"clock": Clock(1_800_000_015.0)}], indirect=True)
def test_login_drill_in_the_step_of_enrollment_sends_the_next_steps_code_at_once(
    pages: Pages, e: Enrollment
) -> None:
    at = DriverClock(Clock(1_800_000_015.0), offset=0)
    steps = StepLedger()  # the flows of one setup share what steps they used
    _enroll(pages, e, FlowOptions(clock=at, sleep=at.sleep, steps=steps))
    report = _drill(pages, e, "password", FlowOptions(clock=at, sleep=at.sleep, steps=steps))

    # The IdP never accepts a code twice, and takes one step either side of now: the drill
    # sends the next step's code instead of waiting up to 30 s for it.
    assert report.screens == ("auth0:login", "auth0:code", "auth0:success")
    assert report.codes_sent == 1
    assert at.slept == [] and report.waited == 0.0
    assert steps.used(e.target.key) == {60_000_000, 60_000_001}


@pytest.mark.parametrize("e", [{"clock": Clock(1_800_000_015.0)}], indirect=True)
def test_a_drill_that_knows_nothing_of_the_enrollment_waits_for_a_fresh_code(
    pages: Pages, e: Enrollment
) -> None:
    at = DriverClock(Clock(1_800_000_015.0), offset=0)
    _enroll(pages, e, FlowOptions(clock=at, sleep=at.sleep))
    report = _drill(pages, e, "password", FlowOptions(clock=at, sleep=at.sleep))

    # Another process's drill: its first code was the enrollment's, which the IdP refuses.
    assert report.screens == ("auth0:login", "auth0:code", "auth0:code", "auth0:success")
    assert report.codes_sent == 2
    assert at.slept == [pytest.approx(15.25)] and report.waited == pytest.approx(15.25)


class SharedClock(DriverClock):
    """The flow's clock is the IdP's: sleeping advances both, as the wall clock would."""

    def __init__(self, idp_clock: Clock) -> None:
        super().__init__(idp_clock, offset=0)
        self.idp_clock = idp_clock

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        self.idp_clock.advance(seconds)


IDP_CLOCK = Clock()  # only the test below uses it; it sets the time first


@pytest.mark.parametrize("e", [{"clock": IDP_CLOCK}], indirect=True)
def test_a_drill_in_the_next_process_knows_the_steps_the_setup_used(
    pages: Pages, e: Enrollment, tmp_path: Path
) -> None:
    IDP_CLOCK.now = 1_800_000_015.0
    at, url = SharedClock(IDP_CLOCK), f"sqlite:///{tmp_path / 'state.db'}"
    setup = SharedStepLedger(StepLedger(), url)
    _enroll(pages, e, FlowOptions(clock=at, sleep=at.sleep, steps=setup))  # step N
    _drill(pages, e, "password", FlowOptions(clock=at, sleep=at.sleep, steps=setup))  # N + 1
    setup.close()

    # ``vaultborn rotate`` seconds later, in a process of its own: on its memory alone it would
    # send N's code (refused), then N + 1's (refused too) and fail.
    later = SharedStepLedger(StepLedger(), url)
    report = _drill(pages, e, "password", FlowOptions(clock=at, sleep=at.sleep, steps=later))
    later.close()

    assert report.screens == ("auth0:login", "auth0:code", "auth0:success")
    assert report.codes_sent == 1
    assert at.slept == [pytest.approx(15.25)]  # until N + 1 begins; N + 2 then is one ahead
    assert later.used(e.target.key) == {60_000_000, 60_000_001, 60_000_002}


def test_login_drill_with_a_wrong_password_is_refused(pages: Pages, e: Enrollment) -> None:
    e.vault.create_item(
        "ACL", ItemSpec(title="Wrong", assignments=(parse_assignment("password=nope-Nope-1"),))
    )
    _enroll(pages, e)
    with pytest.raises(LoginRefused, match="Wrong email or password"):
        _drill(pages, e, "password", item="Wrong")


def _drill(
    pages: Pages,
    e: Enrollment,
    field: str,
    options: FlowOptions | None = None,
    *,
    item: str = ITEM,
) -> FlowReport:
    password = VaultPassword(e.vault, f"op://ACL/{item}/{field}")

    async def action(page: Page) -> FlowReport:
        return await login_drill(
            page,
            e.idp.base_url + "login",
            e.target,
            username=e.user["email"],
            password=password,
            options=options,
        )

    return pages.run(action)
