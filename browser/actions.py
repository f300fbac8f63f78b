"""Find an element and act on it with trusted input, each check one evaluation in the page.

Playwright's locators install its selector engine, a large script, into every new document
the first time one is used: about 45 ms of browser CPU per document, a third of the browser's
work in an enrollment (``bench/browser_cpu.py``). The screens vaultborn drives are found by
CSS selectors and visible words, which the page's own DOM answers. So here one evaluation
finds the element and checks it can be acted on, and the input goes through the browser as
Playwright's does:

- ``fill``: the field is focused and its text selected in the page, then the value is typed
  with ``keyboard.insert_text`` (what Playwright's ``fill`` does once it has done the same);
- ``click``: at the element's centre with ``mouse.click``, once the element is visible,
  enabled, in view, still for two animation frames, and the element a click there would hit
  (Playwright's actionability checks);
- ``press``: a key typed into the focused element;
- ``check``: a radio or checkbox clicked (or its label, when the box itself is styled away)
  until it is checked.

Each action looks its element up again on every try, so a page that re-renders it is fine; it
tries until ``timeout`` with the same back-off as Playwright, then raises ``PageTimeout``
naming what was missing. Values typed never enter the page's script: the page sees keystrokes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from playwright.async_api import Page

from vaultborn.browser.errors import PageTimeout
from vaultborn.browser.snapshot import page_location
from vaultborn.vault.secret import Secret

__all__ = ["Element", "check", "click", "count", "fill", "press"]

_BACKOFF_MS = (0, 20, 50, 100, 100, 500)
"""Waits between tries, the last repeated: Playwright's own retry schedule."""

# The element a query names: the ``index``-th visible match of the first selector that has
# one (only those whose text holds one of ``words``, when words are given), searched inside
# the form of ``in_form_of``'s element when that is given.
_JS_RESOLVE = """
const visible = (el) => {
  const box = el.getBoundingClientRect();
  return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
};
const says = (el, words) => {
  const text = (el.innerText || el.textContent || '').replace(/\\s+/g, ' ').toLowerCase();
  return words.some((word) => text.includes(word));
};
const matches = (query) => {
  let root = document;
  if (query.in_form_of) {
    const base = resolve(query.in_form_of);
    root = base && (base.form || base.closest('form'));
    if (!root) return [];
  }
  for (const selector of query.selectors) {
    const found = Array.from(root.querySelectorAll(selector)).filter((el) =>
      visible(el) && (!query.words.length || says(el, query.words)));
    if (found.length) return found;
  }
  return [];
};
const resolve = (query) => matches(query)[query.index] || null;
// A box of the query that a visible label stands for (the box itself may be styled away).
const labelledBox = (query) => Array.from(document.querySelectorAll(query.selectors.join(',')))
  .find((box) => box.labels && Array.from(box.labels).some(visible));
"""


def _on_element(body: str) -> str:
    """A page function of a query: ``body`` runs on its element ``el`` ('missing' if none)."""
    return (
        "(query) => {"
        + _JS_RESOLVE
        + "const el = resolve(query);\nif (!el) return 'missing';\n"
        + body
        + "}"
    )


_JS_COUNT = "(query) => {" + _JS_RESOLVE + "return matches(query).length; }"

_JS_FILLABLE = _on_element("""
  const typed = ['', 'text', 'email', 'password', 'search', 'tel', 'url', 'number'];
  const field = el.isContentEditable ||
    el.localName === 'textarea' || (el.localName === 'input' && typed.includes(el.type));
  if (!field) return 'not a text field';
  if (el.disabled || el.readOnly || el.getAttribute('aria-disabled') === 'true') return 'read-only';
  el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});
  el.focus();
  if (document.activeElement !== el) return 'not focusable';
  if (el.select) el.select();
  else document.getSelection().selectAllChildren(el);
  return 'ready';
""")

_JS_FOCUSED = _on_element("""
  el.focus();
  return document.activeElement === el ? 'ready' : 'not focusable';
""")

# Where to click ``query``'s element (``label``: its label instead, for a styled-away box),
# once it is enabled, in view, still for two animation frames and the element hit there.
_JS_CLICK_POINT = (
    "async ([query, label]) => {"
    + _JS_RESOLVE
    + """
  const find = () => {
    if (!label) return resolve(query);
    const box = labelledBox(query);
    return box ? Array.from(box.labels).find(visible) : null;
  };
  const el = find();
  if (!el) return {state: 'missing'};
  if (el.disabled || el.getAttribute('aria-disabled') === 'true') return {state: 'disabled'};
  const inView = (box) => box.top >= 0 && box.left >= 0 &&
    box.bottom <= innerHeight && box.right <= innerWidth;
  if (!inView(el.getBoundingClientRect())) {
    el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});
  }
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  const before = el.getBoundingClientRect();
  await frame();
  await frame();
  if (!el.isConnected) return {state: 'missing'};
  const box = el.getBoundingClientRect();
  if (['x', 'y', 'width', 'height'].some((k) => box[k] !== before[k])) return {state: 'moving'};
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const hit = document.elementFromPoint(x, y);
  const control = hit && hit.closest('label') && hit.closest('label').control;
  if (!hit || !(el.contains(hit) || control === el)) return {state: 'covered'};
  return {state: 'ready', x, y};
}"""
)

_JS_CHECKED = (
    "(query) => {"
    + _JS_RESOLVE
    + """
  const el = resolve(query) || labelledBox(query);
  if (!el) return 'missing';
  return el.checked ? 'checked' : (visible(el) ? 'box' : 'label');
}"""
)

_WHY = {
    "missing": "was not on the page",
    "not a text field": "is not a text field",
    "read-only": "stayed read-only or disabled",
    "not focusable": "could not be focused",
    "disabled": "stayed disabled",
    "moving": "kept moving",
    "covered": "stayed covered by another element",
    "unanswered": "could not be looked at: the page did not answer",
}

_LEAST_WAIT = 0.5
"""Seconds an evaluation is given even when the deadline is nearer (a last look)."""


@dataclass(frozen=True)
class Element:
    """An element of the page, named by what a person would look for.

    Attributes:
        name: What it is, for messages ("the password field").
        selectors: CSS selectors tried in order; the first with a visible match is used.
        words: Only elements whose visible text holds one of these (lower case) words.
        index: Which of the visible matches (0: the first).
        in_form_of: Search only the form that holds this other element.
    """

    name: str
    selectors: tuple[str, ...]
    words: tuple[str, ...] = ()
    index: int = 0
    in_form_of: Element | None = None

    def nth(self, index: int) -> Element:
        """The ``index``-th visible match instead of the first."""
        return replace(self, index=index)

    def of_form(self, name: str, selectors: tuple[str, ...]) -> Element:
        """The element of ``selectors`` inside the form that holds this one."""
        return Element(name, selectors, in_form_of=self)

    def query(self) -> dict[str, Any]:
        """The element as plain data for the page's script."""
        return asdict(self)


async def _evaluate_by(page: Page, deadline: float, script: str, arg: Any) -> Any:
    """``page.evaluate(script, arg)``, given up at ``deadline`` (``time.monotonic()``).

    An evaluation waits while a navigation is under way (a form posted, no answer yet): one
    that never commits would hold it forever.

    Raises:
        TimeoutError: No answer by the deadline (the evaluation is cancelled).
    """
    seconds = max(deadline - time.monotonic(), _LEAST_WAIT)
    return await asyncio.wait_for(page.evaluate(script, arg), seconds)


async def count(page: Page, element: Element, *, timeout: float) -> int:
    """How many visible elements match (``element.nth(i)`` for each ``i`` below it).

    Raises:
        PageTimeout: The page did not answer within ``timeout`` seconds.
    """
    return int(await _look(page, _JS_COUNT, element, timeout))


async def fill(
    page: Page,
    element: Element,
    value: str | Secret,
    *,
    timeout: float,
    missing_ok: bool = False,
) -> bool:
    """Replace the text of a field with ``value``, typed as a person pastes it.

    Returns:
        True once typed. With ``missing_ok``, False when the first look finds no such field:
        nothing is waited for or typed then (the page asks for something else).

    Raises:
        PageTimeout: The field was missing, or not editable, for ``timeout`` seconds.
    """
    found = await _until(page, element, _JS_FILLABLE, element.query(), timeout, missing_ok)
    if found is None:
        return False
    text = value.reveal() if isinstance(value, Secret) else value
    if text:
        await page.keyboard.insert_text(text)
    else:
        await page.keyboard.press("Delete")
    return True


async def click(page: Page, element: Element, *, timeout: float, missing_ok: bool = False) -> bool:
    """Click the element's centre once nothing stops a person's click landing on it.

    Returns:
        True once clicked. With ``missing_ok``, False when the first look finds no such
        element: nothing is waited for or clicked then.

    Raises:
        PageTimeout: The element was missing, disabled, moving or covered for ``timeout`` s.
    """
    return await _click(page, element, timeout, label=False, missing_ok=missing_ok)


async def press(page: Page, element: Element, key: str, *, timeout: float) -> None:
    """Focus the element and press ``key`` (e.g. ``"Enter"`` to submit its form).

    Raises:
        PageTimeout: The element was missing or could not be focused for ``timeout`` s.
    """
    await _until(page, element, _JS_FOCUSED, element.query(), timeout)
    await page.keyboard.press(key)


async def check(page: Page, element: Element, *, timeout: float) -> None:
    """Check a radio or checkbox: click it, or its label when the box itself is hidden.

    Raises:
        PageTimeout: Neither it nor its label could be clicked for ``timeout`` seconds.
        LookupError: It was clicked and is still not checked.
    """
    ready = ("checked", "box", "label")
    state = await _until(page, element, _JS_CHECKED, element.query(), timeout, ready=ready)
    if state == "checked":
        return
    await _click(page, element, timeout, label=state == "label")
    if await _look(page, _JS_CHECKED, element, timeout) != "checked":
        raise LookupError(f"{element.name} did not stay checked when clicked")


async def _click(
    page: Page, element: Element, timeout: float, *, label: bool, missing_ok: bool = False
) -> bool:
    arg = [element.query(), label]
    point = await _until(page, element, _JS_CLICK_POINT, arg, timeout, missing_ok)
    if point is None:
        return False
    await page.mouse.click(point["x"], point["y"])
    return True


async def _until(
    page: Page,
    element: Element,
    script: str,
    arg: Any,
    timeout: float,
    missing_ok: bool = False,
    *,
    ready: tuple[str, ...] = ("ready",),
) -> Any:
    """Evaluate ``script`` until its state is one of ``ready``: its answer, else PageTimeout.

    An answer is a state, or an object with a ``state`` and what comes with it (a point).
    With ``missing_ok``, None when the first answer is that the element is missing.
    """
    deadline = time.monotonic() + timeout
    for attempt in itertools.count():
        await asyncio.sleep(_BACKOFF_MS[min(attempt, len(_BACKOFF_MS) - 1)] / 1000)
        try:
            answer = await _evaluate_by(page, deadline, script, arg)
        except TimeoutError:
            answer = "unanswered"
        state = answer["state"] if isinstance(answer, dict) else str(answer)
        if missing_ok and attempt == 0 and state == "missing":
            return None
        if state in ready:
            return answer if isinstance(answer, dict) else state
        if time.monotonic() >= deadline:
            why = _WHY.get(state, state)
            raise PageTimeout(f"{page_location(page)}: {element.name} {why} for {timeout:g} s")
    raise AssertionError("unreachable")  # pragma: no cover


async def _look(page: Page, script: str, element: Element, timeout: float) -> Any:
    """One evaluation of ``script`` on ``element``'s query, or PageTimeout after ``timeout``."""
    try:
        return await _evaluate_by(page, time.monotonic() + timeout, script, element.query())
    except TimeoutError:
        where = page_location(page)
        raise PageTimeout(f"{where} did not answer within {timeout:g} s") from None
