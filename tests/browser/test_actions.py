"""``browser.actions`` and ``act_and_settle`` against real Chromium: a person's clicks and typing.

Each page is inline HTML served at ``http://fixture.test/``. A page's script writes what it
received into ``#log``, so the tests read the outcome from the page, not from our own calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Route

from tests.browser.kit import BASE, Pages, needs_chromium
from vaultborn.browser.actions import Element, check, click, count, fill, press
from vaultborn.browser.errors import PageTimeout
from vaultborn.browser.settle import act_and_settle
from vaultborn.vault.secret import Secret

pytestmark = needs_chromium

_LOG = """<pre id="log"></pre><script>
const log = (line) => { document.getElementById('log').textContent += line + '\\n'; };
</script>"""


def _on(pages: Pages, html: str, act: Callable[[Page], Awaitable[Any]]) -> str:
    """Open ``html`` (with the log), run ``act``, and return what the page logged."""

    async def serve(route: Route) -> None:
        await route.fulfill(body=_LOG + html, content_type="text/html")

    async def action(page: Page) -> str:
        await page.goto(BASE + "page")
        await act(page)
        return await page.inner_text("#log")

    return pages.run(action, serve)


BUTTON = Element("the button", ("#go",))


def test_fill_types_into_the_first_visible_match_as_keystrokes(pages: Pages) -> None:
    html = """<input name="a" style="display:none"><input name="a" id="shown">
    <script>document.getElementById('shown').addEventListener('input',
      (e) => log(e.isTrusted + ':' + e.target.value));</script>"""
    field = Element("the field", ("input[name=a]",))

    logged = _on(pages, html, lambda page: fill(page, field, Secret("s3cret"), timeout=2))

    assert logged.split() == ["true:s3cret"]  # one trusted input event with the whole value


def test_fill_replaces_what_the_field_held(pages: Pages) -> None:
    html = """<input id="f" value="old"><script>
    document.getElementById('f').addEventListener('change', (e) => log(e.target.value));
    </script>"""

    async def act(page: Page) -> None:
        await fill(page, Element("f", ("#f",)), "new", timeout=2)
        await page.evaluate("() => document.getElementById('f').blur()")

    assert _on(pages, html, act).split() == ["new"]


def test_fill_waits_for_a_field_that_becomes_editable(pages: Pages) -> None:
    html = """<input id="f" readonly><script>
    setTimeout(() => document.getElementById('f').readOnly = false, 300);
    document.getElementById('f').addEventListener('input', (e) => log(e.target.value));
    </script>"""

    assert _on(pages, html, lambda p: fill(p, Element("f", ("#f",)), "x", timeout=5)) == "x\n"


def test_a_field_that_stays_read_only_times_out_naming_it(pages: Pages) -> None:
    html = '<input id="f" readonly>'

    async def act(page: Page) -> None:
        with pytest.raises(PageTimeout, match=r"page: the code field stayed read-only .* 0.5 s"):
            await fill(page, Element("the code field", ("#f",)), "1", timeout=0.5)

    _on(pages, html, act)


def test_a_covered_button_is_not_clicked_until_the_cover_goes(pages: Pages) -> None:
    html = """<button id="go" onclick="log('clicked')">Go</button>
    <div id="cover" onclick="log('cover')"
      style="position:fixed;inset:0;background:rgba(0,0,0,.5)"></div>"""

    async def covered(page: Page) -> None:
        with pytest.raises(PageTimeout, match="the button stayed covered by another element"):
            await click(page, BUTTON, timeout=0.5)

    assert _on(pages, html, covered) == ""  # neither the button nor the cover got a click

    async def uncovered(page: Page) -> None:
        await page.evaluate(
            "() => setTimeout(() => document.getElementById('cover').remove(), 300)"
        )
        await click(page, BUTTON, timeout=5)

    assert _on(pages, html, uncovered) == "clicked\n"


def test_a_moving_button_is_not_clicked(pages: Pages) -> None:
    html = """<style>@keyframes slide { from { margin-left: 0 } to { margin-left: 300px } }
    #go { animation: slide 1s linear infinite }</style>
    <button id="go" onclick="log('clicked')">Go</button>"""

    async def act(page: Page) -> None:
        with pytest.raises(PageTimeout, match="the button kept moving"):
            await click(page, BUTTON, timeout=0.5)

    assert _on(pages, html, act) == ""


def test_a_disabled_button_is_clicked_once_enabled(pages: Pages) -> None:
    html = """<button id="go" disabled onclick="log('clicked')">Go</button>
    <script>setTimeout(() => document.getElementById('go').disabled = false, 300);</script>"""

    assert _on(pages, html, lambda page: click(page, BUTTON, timeout=5)) == "clicked\n"


def test_missing_ok_gives_up_at_once_on_what_is_not_there_and_waits_for_what_is(
    pages: Pages,
) -> None:
    html = """<input id="f" readonly><button id="go" disabled onclick="log('clicked')">Go</button>
    <script>
    setTimeout(() => document.getElementById('f').readOnly = false, 300);
    setTimeout(() => document.getElementById('go').disabled = false, 300);
    document.getElementById('f').addEventListener('input', (e) => log(e.target.value));
    </script>"""
    absent = Element("the absent field", ("#nowhere",))
    answers: list[bool] = []

    async def act(page: Page) -> None:
        # A timeout no test run reaches: an answer means no waiting was done for the absent.
        answers.append(await fill(page, absent, "x", timeout=600, missing_ok=True))
        answers.append(await click(page, absent, timeout=600, missing_ok=True))
        answers.append(await fill(page, Element("f", ("#f",)), "typed", timeout=5, missing_ok=True))
        answers.append(await click(page, BUTTON, timeout=5, missing_ok=True))

    assert _on(pages, html, act).split() == ["typed", "clicked"]
    assert answers == [False, False, True, True]


def test_a_button_below_the_fold_is_scrolled_to_and_clicked(pages: Pages) -> None:
    html = """<div style="height:3000px"></div>
    <button id="go" onclick="log('clicked ' + (scrollY > 0))">Go</button>"""

    assert _on(pages, html, lambda page: click(page, BUTTON, timeout=2)) == "clicked true\n"


def test_words_pick_the_link_that_says_them(pages: Pages) -> None:
    html = """<a href="#" onclick="log('help')">Help</a>
    <a href="#" style="display:none" onclick="log('hidden')">Can't scan?</a>
    <a href="#" onclick="log('manual')">Trouble <b>scanning</b>?</a>"""
    link = Element("the fallback", ("a",), words=("can't scan", "trouble scanning"))

    async def act(page: Page) -> None:
        assert await count(page, link, timeout=2) == 1
        await click(page, link, timeout=2)

    assert _on(pages, html, act) == "manual\n"


def test_a_radio_styled_away_is_checked_through_its_label(pages: Pages) -> None:
    html = """<input type="radio" name="m" id="sms"><label for="sms">SMS</label>
    <input type="radio" name="m" id="app" style="opacity:0;position:absolute;width:0;height:0">
    <label for="app">Authenticator app</label>
    <script>document.getElementById('app').addEventListener('change', () => log('app'));</script>"""

    assert _on(pages, html, lambda p: check(p, Element("app", ("#app",)), timeout=2)) == "app\n"


def test_the_submit_button_is_the_fields_own_forms(pages: Pages) -> None:
    html = """<form onsubmit="log('search'); return false"><input name="q">
      <button>Search</button></form>
    <form onsubmit="log('login'); return false"><input name="user" id="user">
      <button type="button">Cancel</button><button type="submit">Log in</button></form>"""
    user = Element("the user name field", ("#user",))
    own = user.of_form("the submit button", ("button[type=submit], button:not([type])",))

    async def act(page: Page) -> None:
        assert await count(page, own, timeout=2) == 1
        await click(page, own, timeout=2)

    assert _on(pages, html, act) == "login\n"


def test_press_types_the_key_into_the_element(pages: Pages) -> None:
    html = """<form onsubmit="log('sent ' + this.code.value); return false">
      <input name="code" id="code"></form>"""
    code = Element("the code field", ("#code",))

    async def act(page: Page) -> None:
        await fill(page, code, "123456", timeout=2)
        await press(page, code, "Enter", timeout=2)

    assert _on(pages, html, act) == "sent 123456\n"


class _UnloadingMidEvaluation:
    """The page, but its first look at the text fails as it does while the document unloads."""

    def __init__(self, page: Page) -> None:
        self._page, self.failed = page, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)

    async def evaluate(self, script: str, *args: Any) -> Any:
        if "!== window.__vaultbornText" in script and not self.failed:
            self.failed = True
            raise PlaywrightError("Execution context was destroyed")
        return await self._page.evaluate(script, *args)


def test_settling_waits_for_the_navigation_a_failed_evaluation_announced(pages: Pages) -> None:
    """An evaluation that fails because the document is unloading is not the end of the wait.

    Until the navigation commits, the frame still reports the old document as loaded: ending
    there would read the old page, or fail on the next evaluation.
    """
    html = '<a id="go" href="/slow">next</a>'

    async def serve(route: Route) -> None:
        if route.request.url.endswith("/slow"):
            await asyncio.sleep(0.5)
            await route.fulfill(body="<h1>next page</h1>", content_type="text/html")
        else:
            await route.fulfill(body=html, content_type="text/html")

    async def action(page: Page) -> tuple[bool, str]:
        await page.goto(BASE + "page")
        unloading = _UnloadingMidEvaluation(page)
        link = Element("the link", ("#go",))
        await act_and_settle(cast(Page, unloading), lambda: click(page, link, timeout=2), timeout=5)
        return unloading.failed, page.url

    failed, url = pages.run(action, serve)

    assert failed and url.endswith("/slow")


def test_a_form_whose_answer_never_comes_times_out(pages: Pages) -> None:
    """A posted form with no answer holds every evaluation: settling still ends on time."""
    html = '<form method="post" action="/never"><button id="go">Send</button></form>'

    async def serve(route: Route) -> None:
        if route.request.method == "POST":
            return  # never answered
        await route.fulfill(body=html, content_type="text/html")

    async def action(page: Page) -> None:
        await page.goto(BASE + "page")
        settling = act_and_settle(page, lambda: click(page, BUTTON, timeout=2), timeout=1)
        reason = r"^http://fixture\.test/page did not react within 1 s$"
        with pytest.raises(PageTimeout, match=reason):
            await asyncio.wait_for(settling, 10)  # a hang fails here instead of hanging

    pages.run(action, serve)
