"""The approval inbox in real Chromium: a setup from start to done, and every refusal.

The inbox serves in this process on loopback; runs start through the CLI (in process too) and
wait; Chromium opens the printed link and answers through the pages' own forms. Every
response the browser received is scanned for the vault's values at the end of each test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, Response, Route

from tests.browser.kit import Pages
from tests.conftest import Run
from tests.graph.test_setup_cli import _secret_values
from tests.rundb import audit_log_of
from vaultborn.cli.driving import Choices, run_options
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.inbox import InboxConfig, RunningInbox, start_inbox
from vaultborn.runner.plan import default_plan
from vaultborn.runner.runtime import ensure_demo_secrets
from vaultborn.runner.state_db import state_db
from vaultborn.runner.wiring import Settings
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.robustness("approval integrity: answers through the inbox")

LONG = 120_000
"""Milliseconds a click may take to come back: an answer moves the run on before it does."""
SCREENSHOTS = os.environ.get("VAULTBORN_INBOX_SCREENSHOTS")
"""A folder to save the README's screenshots in (unset: none are taken)."""


@dataclasses.dataclass
class Inbox:
    """A serving inbox and what the browser received from it."""

    running: RunningInbox
    bodies: list[str] = dataclasses.field(default_factory=list)

    def page_of(self, run_id: str) -> str:
        return f"{self.running.base_url}runs/{run_id}"


@pytest.fixture
def inbox(home: Path) -> Iterator[Inbox]:
    settings = Settings.from_env()
    config = InboxConfig(
        db=state_db(settings, None), settings=settings,
        options=lambda stack: run_options(settings, Choices(), stack), approver="inbox-tester",
        poll=0.3,
    )  # fmt: skip
    with start_inbox(config) as running:
        yield Inbox(running)


def _browse(pages: Pages, inbox: Inbox, action: Callable[[Page], Awaitable[Any]]) -> Any:
    """Run ``action`` on a fresh page, keeping every response body the inbox sent it."""

    async def unrouted(route: Route) -> None:
        await route.continue_()

    async def main(page: Page) -> Any:
        page.set_default_timeout(LONG)
        reading: list[asyncio.Future[None]] = []

        async def read(response: Response) -> None:
            try:
                inbox.bodies.append((await response.body()).decode("utf-8", "replace"))
            except Exception:  # a redirect has no body to read
                inbox.bodies.append("")

        def keep(response: Response) -> None:
            if response.url.startswith(inbox.running.base_url):
                reading.append(asyncio.ensure_future(read(response)))

        page.on("response", keep)
        try:
            return await action(page)
        finally:
            await asyncio.gather(*reading)

    return pages.run(main, unrouted)


def _scan(inbox: Inbox, home: Path) -> None:
    """No page, fragment or script the inbox served holds a vault value."""
    values = _secret_values(home)
    assert values and inbox.bodies
    for body in inbox.bodies:
        for value in values:
            assert value not in body


def _json(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _audit(home: Path, run_id: str) -> list[Any]:
    audit = audit_log_of(home)
    try:
        assert audit.verify().ok
        return audit.events(run_id)
    finally:
        audit.close()


async def _shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


def test_a_setup_goes_from_start_to_done_in_the_inbox_with_one_approval(
    cli: Run, home: Path, pages: Pages, inbox: Inbox
) -> None:
    async def action(page: Page) -> tuple[str, str]:
        await page.set_viewport_size({"width": 1100, "height": 800})
        await page.goto(inbox.running.base_url)  # no token yet: nothing
        assert "opens only with the link" in await page.content()
        await page.goto(inbox.running.url)
        assert "?token=" not in page.url  # traded for a cookie, gone from the address
        assert "Nothing waits" in await page.inner_text("#items")
        # A run starts elsewhere; the list shows it without a reload.
        started = await asyncio.to_thread(cli, "setup", "--json")
        run_id = _json(started.out)["run_id"]
        await page.wait_for_selector(f'tr[data-run="{run_id}"]')
        await _shot(page, "inbox-list.png")
        await page.click(f'tr[data-run="{run_id}"] a')
        assert "The plan: every action this run will take" in await page.content()
        await _shot(page, "inbox-plan.png")
        await page.click("button[value=plan]")
        status = await page.inner_text("#status")
        return run_id, status

    run_id, status = _browse(pages, inbox, action)
    assert "done" in status
    events = _audit(home, run_id)
    asked = [e for e in events if e.kind == "decision" and e.detail["approver"] == "inbox-tester"]
    assert [e.subject for e in asked][:2] == ["plan", "vault_session"]
    assert not [e for e in asked if "covered_by" not in e.detail and e.subject != "plan"]
    _scan(inbox, home)


def test_a_rejection_needs_a_reason_and_ends_the_run(
    run_database: str, cli: Run, home: Path, pages: Pages, inbox: Inbox
) -> None:
    """On a SQLite file and on a PostgreSQL database alike (the inbox is set up after it)."""
    run_id = _json(cli("setup", "--json").out)["run_id"]

    async def action(page: Page) -> str:
        await page.goto(inbox.running.url)
        await page.goto(inbox.page_of(run_id))
        await page.fill("form.reject input[name=reason]", "not on a Friday")
        await page.click("form.reject button")
        return await page.inner_text("body")

    shown = _browse(pages, inbox, action)
    assert "rejected" in shown and "not on a Friday" in shown
    view = _json(cli("show", run_id, "--json").out)
    assert view["status"] == "rejected" and "not on a Friday" in view["reason"]
    if run_database == "sqlite":
        rejected = [e for e in _audit(home, run_id) if e.kind == "decision"]
        assert [(e.detail["decision"], e.detail["approver"]) for e in rejected] == [
            ("rejected", "inbox-tester")
        ]


def test_an_edit_shows_its_diff_and_its_new_digest_is_approved(
    cli: Run, home: Path, pages: Pages, inbox: Inbox
) -> None:
    run_id = _json(cli("setup", "--json").out)["run_id"]

    async def action(page: Page) -> tuple[str, str, str, str]:
        await page.goto(inbox.running.url)
        await page.goto(inbox.page_of(run_id))
        await page.click("button[value=approve]")  # the session only: each step is asked
        asked = await page.inner_text("code.digest")
        await page.fill('input[name="arg:title"]', "Break glass — edited in the inbox")
        await page.click("form.edit button")
        diff = await page.inner_text("table.diff")
        again = await page.inner_text("code.digest")
        await _shot(page, "inbox-edit.png")
        await page.click("button[value=approve]")
        return asked, diff, again, await page.inner_text("h1")

    asked, diff, again, after = _browse(pages, inbox, action)
    assert "Auth0 — admin@example.com" in diff and "Break glass — edited in the inbox" in diff
    assert again != asked and again.startswith("sha256:")
    assert "create_user" in after  # the edited item was made; the next step asks
    vault = LocalVault(home)
    try:
        made = vault.find_items("ACL", title="Break glass — edited in the inbox")
        assert len(made) == 1
    finally:
        vault.close()
    decided = {e.subject: e.detail["digest"] for e in _audit(home, run_id)
               if e.kind == "decision" and e.subject == "create_item"}  # fmt: skip
    assert decided == {"create_item": again}


def test_forged_stale_and_cross_run_answers_are_refused_and_audited(
    cli: Run, home: Path, pages: Pages, inbox: Inbox, tmp_path: Path
) -> None:
    run_id = _json(cli("setup", "--json").out)["run_id"]
    other = tmp_path / "other.toml"
    other.write_text(default_plan_text("other@example.com"))
    other_run = _json(cli("setup", "--plan", str(other), "--json").out)["run_id"]

    async def action(page: Page) -> list[str]:
        await page.goto(inbox.running.url)
        await page.goto(inbox.page_of(run_id))
        seen: list[str] = []
        # Forged: the digest in the form is not the one shown.
        await page.eval_on_selector(
            "form:has(button[value=approve]) input[name=digest]",
            "e => e.value = 'sha256:' + '0'.repeat(64)",
        )
        await page.click("button[value=approve]")
        seen.append(await page.inner_text("p.refused[role=status]"))
        # Cross-run: this run's form sent for another run.
        await page.eval_on_selector(
            "form:has(button[value=approve])", f"f => f.action = '/runs/{other_run}/answer'"
        )
        await page.click("button[value=approve]")
        seen.append(await page.inner_text("p.refused[role=status]"))
        # Stale: the run moves on (answered elsewhere) while this page is open.
        await page.goto(inbox.page_of(run_id))
        moved = await asyncio.to_thread(cli, "approve", run_id, "--json")
        assert moved.code == 3, moved
        await page.wait_for_selector("#stale:not([hidden])")
        await page.click("button[value=approve]")
        seen.append(await page.inner_text("p.refused[role=status]"))
        return seen

    forged, cross, stale = _browse(pages, inbox, action)
    assert "not for the waiting vault session" in forged
    assert f"run {other_run} has moved on since this was shown" in cross
    assert f"run {run_id} has moved on since this was shown" in stale
    refused = [e.detail["why"] for e in _audit(home, run_id) if e.kind == "refused"]
    assert len(refused) == 2 and refused[1].startswith("stale:")
    assert [e.kind for e in _audit(home, other_run) if e.kind == "refused"] == ["refused"]
    # None of them moved the other run on.
    assert _json(cli("show", other_run, "--json").out)["waiting"]["kind"] == "vault_session"


def test_an_expired_request_answered_in_the_inbox_is_refused_and_asked_again(
    cli: Run, home: Path, pages: Pages, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULTBORN_APPROVAL_TTL", "1")
    run_id = _json(cli("setup", "--json").out)["run_id"]

    async def action(page: Page) -> str:
        await page.goto(inbox.running.url)
        await page.goto(inbox.page_of(run_id))
        await asyncio.sleep(1.2)  # past the request's expiry (1 s)
        await page.click("button[value=plan]")
        return await page.inner_text("#item")

    shown = _browse(pages, inbox, action)
    assert "refused: the request for plan expired at" in shown  # says when, and asks again
    assert _json(cli("show", run_id, "--json").out)["waiting"]["kind"] == "vault_session"
    refused = [e.detail for e in _audit(home, run_id) if e.kind == "refused"]
    assert [r["why"] for r in refused] == ["expired"]


def default_plan_text(email: str) -> str:
    """The embedded demo's plan for another account."""
    return (
        '[vault]\nname = "ACL"\n[idp]\nmanagement_client_id = "mgmt"\n'
        'management_secret = "op://ACL/vaultborn dev — Auth0 Management/password"\n'
        f'[break_glass]\nemail = "{email}"\nitem = "Auth0 — {email}"\n'
        '[agent]\nclient_id = "agent"\n'
        'secret = "op://ACL/vaultborn dev — Auth0 M2M agent/password"\n'
    )


def test_without_the_link_nothing_is_served_and_forms_need_the_page(
    cli: Run, home: Path, inbox: Inbox
) -> None:
    run_id = _json(cli("setup", "--json").out)["run_id"]
    base = inbox.running.base_url
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        for path in ("/", "/items", f"/runs/{run_id}", f"/runs/{run_id}/state"):
            denied = http.get(path)
            assert denied.status_code == 401 and run_id not in denied.text
        wrong = http.get("/", params={"token": "x" * 43})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        rebound = http.get("/", headers={"host": "attacker.example"})
        assert rebound.status_code == 421
        opened = http.get(inbox.running.url.removeprefix(base.rstrip("/")))
        assert opened.status_code == 303 and opened.headers["location"] == "/"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        page = http.get(f"/runs/{run_id}")
        assert page.status_code == 200
        csrf = re.search(r'name=csrf value="([0-9a-f]+)"', page.text)
        interrupt = re.search(r'name=interrupt_id value="([0-9a-f]+)"', page.text)
        assert csrf and interrupt
        form = {"decision": "approve", "interrupt_id": interrupt.group(1), "digest": ""}
        for forged in ({}, {"csrf": "0" * 64}):
            refused = http.post(f"/runs/{run_id}/answer", data={**form, **forged})
            assert refused.status_code == 403
        cross_site = http.post(f"/runs/{run_id}/answer", data={**form, "csrf": csrf.group(1)},
                               headers={"origin": "https://attacker.example"})  # fmt: skip
        assert cross_site.status_code == 403
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert page.headers["cache-control"] == "no-store"
    assert _json(cli("show", run_id, "--json").out)["waiting"]["kind"] == "vault_session"


@pytest.fixture
def human_tenant(home: Path, tmp_path: Path) -> Iterator[tuple[RunningDevIdP, Path]]:
    """A tenant of your own (a dev IdP) whose enrollment page needs a person's click."""
    plan = default_plan().to_dict()
    vault = LocalVault(home)
    try:
        ensure_demo_secrets(vault, plan)
        tenant = dataclasses.replace(
            demo_tenant(mgmt_secret=vault.read(plan["idp"]["management_secret"] or ""),
                        agent_secret=vault.read(plan["agent"]["secret"])),
            require_human_check=True,
        )  # fmt: skip
    finally:
        vault.close()
    with start_dev_idp(tenant, db=tmp_path / "devidp.db") as idp:
        text = default_plan_text("admin@example.com").replace(
            "[idp]\n", f'[idp]\ndomain = "{idp.base_url}"\n'
        )
        path = tmp_path / "vaultborn.toml"
        path.write_text(text)
        yield idp, path


def test_a_human_step_is_finished_from_the_page(
    cli: Run, home: Path, pages: Pages, inbox: Inbox, human_tenant: tuple[RunningDevIdP, Path]
) -> None:
    idp, plan = human_tenant
    run_id = _json(cli("setup", "--plan", str(plan), "--json").out)["run_id"]

    async def action(page: Page) -> tuple[str, str, str]:
        await page.goto(inbox.running.url)
        await page.goto(inbox.page_of(run_id))
        await page.click("button[value=plan]")  # runs up to the page only a person may pass
        handed = await page.inner_text("#item")
        link = await page.get_attribute("#item a[target=_blank]", "href")
        await _shot(page, "inbox-human-step.png")
        await page.click("button[value=done]")  # the run looks at the page again
        return handed, str(link), await page.inner_text("body")

    handed, link, after = _browse(pages, inbox, action)
    assert link == idp.base_url + "guardian/enroll"
    assert "complete the human check" in handed
    # Headless, the run's own page still shows the check: it looked again, and asks again.
    assert "a person's step" in after and "answered; the run now waits for a person" in after
    steps = [e for e in _audit(home, run_id) if e.kind == "human_step"]
    assert [(e.subject, e.detail["by"]) for e in steps] == [(link, "inbox-tester")]
    _scan(inbox, home)
