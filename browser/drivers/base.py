"""What every screen driver is: a pure classifier of snapshots plus the selectors it fills."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from playwright.async_api import Page

from vaultborn.browser.actions import Element, check, click, count, fill, press
from vaultborn.browser.screens import Screen, ScreenKind
from vaultborn.browser.settle import act_and_settle
from vaultborn.browser.snapshot import PageSnapshot
from vaultborn.vault.secret import Secret

__all__ = ["Driver"]

# Marks the input the snapshot would call the one-time code field, for pages whose markup no
# driver selector names (the generic driver, and a fallback for the others).
_JS_MARK_CODE_INPUT = """() => {
  const visible = (el) => !el.hidden && el.getClientRects().length > 0;
  const meta = (el) => [el.name, el.id, el.getAttribute('autocomplete'),
    el.getAttribute('aria-label'), el.placeholder].join(' ').toLowerCase().replace(/[_\\-.]/g, ' ');
  const found = Array.from(document.querySelectorAll('input')).find((el) => visible(el) &&
    !el.readOnly && !el.disabled && ['text', 'tel', 'number', ''].includes(el.type) &&
    (el.getAttribute('autocomplete') === 'one-time-code' ||
     /\\b(otp|totp|code|passcode|answer|verification)\\b/.test(meta(el))));
  if (found) found.setAttribute('data-vaultborn-code', '');
  return !!found;
}"""


# Marks the control that chooses an authenticator app: a radio by its label, else a button or
# link by its text. Returns which kind it marked ("radio", "click") or "".
_JS_MARK_METHOD = """() => {
  const words = /authenticator|totp|time-based|one-time password app/i;
  const visible = (el) => el.getClientRects().length > 0;
  const labelOf = (el) => [el.labels && el.labels.length ? el.labels[0].innerText : '',
    el.getAttribute('aria-label') || '', el.value || ''].join(' ');
  const radio = Array.from(document.querySelectorAll('input[type=radio], input[type=checkbox]'))
    .find((el) => !el.disabled && words.test(labelOf(el)) &&
      (visible(el) || (el.labels && el.labels.length && visible(el.labels[0]))));
  if (radio) { radio.setAttribute('data-vaultborn-method', ''); return 'radio'; }
  const other = Array.from(document.querySelectorAll('button, a, [role=button], [role=link]'))
    .find((el) => visible(el) && words.test(el.innerText || '') &&
      (el.innerText || '').length < 80);
  if (other) { other.setAttribute('data-vaultborn-method', ''); return 'click'; }
  return '';
}"""


class Driver(ABC):
    """A screen driver for one IdP family.

    ``classify`` is a pure function of a ``PageSnapshot``; the async methods fill the page.
    Selectors are CSS lists tried in order; the first visible match is used.
    """

    name: ClassVar[str]
    code_inputs: ClassVar[tuple[str, ...]] = ()
    username_inputs: ClassVar[tuple[str, ...]] = (
        "input[type=email]",
        "input[autocomplete=username]",
        "input[name=username]",
        "input[name=identifier]",
        "input[name=email]",
    )
    password_inputs: ClassVar[tuple[str, ...]] = ("input[type=password]",)
    submits: ClassVar[tuple[str, ...]] = ("button[type=submit]", "input[type=submit]")

    @abstractmethod
    def recognizes(self, snap: PageSnapshot) -> bool:
        """Whether the page looks like this IdP's."""

    @abstractmethod
    def classify(self, snap: PageSnapshot) -> Screen:
        """The screen ``snap`` shows."""

    def screen(self, snap: PageSnapshot, kind: ScreenKind, name: str = "") -> Screen:
        """A ``Screen`` of ``kind`` for ``snap``, carrying its error."""
        return Screen(
            kind=kind,
            driver=self.name,
            name=name or snap.screen or snap.name,
            url=snap.url,
            error=snap.error,
            error_code=snap.error_code,
            recovery_codes=snap.shows_recovery_codes,
        )

    async def enter_code(self, page: Page, code: Secret, *, timeout: float) -> None:
        """Type ``code`` into the one-time code field and submit it."""
        field = Element("the one-time code field", self.code_inputs)
        if not await fill(page, field, code, timeout=timeout, missing_ok=True):
            if not await page.evaluate(_JS_MARK_CODE_INPUT):
                raise LookupError("no one-time code field")
            field = Element("the one-time code field", ("[data-vaultborn-code]",))
            await fill(page, field, code, timeout=timeout)
        await self._submit(page, field, timeout=timeout)

    async def log_in(self, page: Page, username: str, password: Secret, *, timeout: float) -> None:
        """Fill whichever of user name and password the screen asks for, and submit."""
        last = None
        user_field = Element("the user name field", self.username_inputs)
        if await fill(page, user_field, username, timeout=timeout, missing_ok=True):
            last = user_field
        password_field = Element("the password field", self.password_inputs)
        if await fill(page, password_field, password, timeout=timeout, missing_ok=True):
            last = password_field
        if last is None:
            raise LookupError("no user name or password field")
        await self._submit(page, last, timeout=timeout)

    async def sign_up(self, page: Page, username: str, password: Secret, *, timeout: float) -> None:
        """Fill the identifier and every password box (password, confirmation) and submit."""
        user_field = Element("the user name field", self.username_inputs)
        if not await fill(page, user_field, username, timeout=timeout, missing_ok=True):
            raise LookupError("no user name or e-mail field")
        boxes = Element("a password field", ("input[type=password]",))
        shown = await count(page, boxes, timeout=timeout)
        if not shown:
            raise LookupError("no password field")
        for index in range(shown):
            await fill(page, boxes.nth(index), password, timeout=timeout)
        await self._submit(page, boxes.nth(shown - 1), timeout=timeout)

    async def choose_method(self, page: Page, *, timeout: float) -> None:
        """Pick the authenticator app among the MFA methods (a radio, else a button or link)."""
        marked = await page.evaluate(_JS_MARK_METHOD)
        choice = Element("the authenticator app choice", ("[data-vaultborn-method]",))
        if marked == "radio":
            await check(page, choice, timeout=timeout)
            await self._submit(page, choice, timeout=timeout)
        elif marked == "click":
            await act_and_settle(page, lambda: click(page, choice, timeout=timeout), timeout)
        else:
            raise LookupError("no authenticator-app choice")

    async def _submit(self, page: Page, field: Element, *, timeout: float) -> None:
        """Click the submit button of ``field``'s form (else the driver's), or press Enter."""
        own = field.of_form("the form's submit button", _FORM_SUBMITS)
        theirs = Element("the submit button", self.submits)

        async def submit() -> None:
            for button in (own, theirs):
                if await click(page, button, timeout=timeout, missing_ok=True):
                    return
            await press(page, field, "Enter", timeout=timeout)

        await act_and_settle(page, submit, timeout)


_FORM_SUBMITS = ("button[type=submit], input[type=submit], button:not([type])",)
"""A form's own submit buttons, in document order (the first visible one is clicked)."""
