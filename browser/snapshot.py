"""``take_snapshot()``: what a driver needs to know about the page, read in one evaluation.

A ``PageSnapshot`` is plain data, so classifying a screen is a pure function of it (see
``browser.drivers``) and can be tested without a browser. Its ``text`` may contain a TOTP
secret (a manual-entry screen shows one); it is excluded from ``repr`` and never logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from vaultborn.browser.errors import BrowserError, PageTimeout

__all__ = ["PageSnapshot", "page_location", "take_snapshot", "without_query"]

TEXT_LIMIT = 4000
"""Characters of visible text kept (enough for any screen's wording)."""


@dataclass(frozen=True)
class PageSnapshot:
    """The facts about one page that screen classification uses.

    Attributes:
        url: The page's URL without query or fragment (tickets hide there).
        title: ``document.title``.
        heading: The first visible ``h1``/``h2``.
        screen: A ``data-screen`` hook (Auth0 Universal Login's screen name), if any.
        result: A ``data-result`` hook (an outcome screen's result), if any.
        error: The visible error message (alerts, field errors), if any.
        error_code: A machine-readable error code (``data-error-code``), if any.
        ids: The element ids on the page (vendor markers such as ``kc-content``).
        has_password: A visible password input.
        has_username: A visible username or e-mail input.
        has_code_input: A visible, editable one-time code input.
        has_qr: An image, canvas or svg that names itself a QR code or barcode.
        has_captcha: A CAPTCHA widget or a "verify you are human" box.
        has_secret: A marked secret (``data-secret``, a secret-key element, an input or code
            element named as a secret holding a base32 value) or an otpauth URI.
        password_inputs: How many password inputs are visible (two: a sign-up form).
        has_new_password: A password input with ``autocomplete=new-password``.
        has_method_choice: A radio, button or link offering an authenticator app (TOTP) among
            MFA methods.
        shows_recovery_codes: The page names recovery (backup) codes and lists several.
        text: Visible text, lower-cased and cut to ``TEXT_LIMIT`` (may hold a secret).
    """

    url: str
    title: str = ""
    heading: str = ""
    screen: str = ""
    result: str = ""
    error: str = ""
    error_code: str = ""
    ids: frozenset[str] = frozenset()
    has_password: bool = False
    has_username: bool = False
    has_code_input: bool = False
    has_qr: bool = False
    has_captcha: bool = False
    has_secret: bool = False
    password_inputs: int = 0
    has_new_password: bool = False
    has_method_choice: bool = False
    shows_recovery_codes: bool = False
    text: str = field(default="", repr=False)

    @property
    def name(self) -> str:
        """A short name of the page for messages: its heading or title."""
        return (self.heading or self.title or "untitled page")[:80]


_JS_SNAPSHOT = """() => {
  const visible = (el) => !!el && !el.hidden && el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility !== 'hidden';
  const text = (el) => (el && (el.innerText || el.textContent) || '').trim();
  const all = (sel) => Array.from(document.querySelectorAll(sel));
  const first = (sel) => all(sel).find(visible);
  const inputs = all('input, textarea').filter(visible);
  const meta = (el) => [el.name, el.id, el.getAttribute('autocomplete'),
    el.getAttribute('aria-label'), el.placeholder].join(' ').toLowerCase();
  const hooked = document.querySelector('[data-screen]');
  const resultEl = document.querySelector('[data-result]');
  // Django's .errorlist, Flask-Security's flashes of category error and its field errors.
  const alerts = all('[role=alert], .alert-error, .kc-feedback-text, #input-error-otp-code, ' +
    '#input-error, .o-form-error-container, .okta-form-infobox-error, .error-message, ' +
    '[data-error-code], .errorlist li, .flashes li.error, ' +
    'li.fs-error-msg:not(.info):not(.success):not(.message)').filter(visible);
  const errorEl = alerts.find((el) => text(el));
  const codeEl = document.querySelector('[data-error-code]');
  const captcha = all('iframe').some((f) =>
      /recaptcha|hcaptcha|turnstile|challenges\\.cloudflare|arkoselabs|funcaptcha/i.test(f.src)) ||
    !!document.querySelector('[data-captcha], .g-recaptcha, .h-captcha, .cf-turnstile, ' +
      '#captcha, [name=captcha]');
  const qr = all('img, canvas, svg').filter(visible).some((el) =>
    /qr|barcode/i.test([el.id, el.getAttribute('alt'), el.getAttribute('class'),
      el.getAttribute('aria-label'), el.getAttribute('data-se')].join(' ')));
  const base32 = /^[A-Za-z2-7][A-Za-z2-7 -]{14,}[A-Za-z2-7]=*$/;
  const namedSecret = all('input, textarea, code, kbd, samp, pre, span, div').filter(visible)
    .some((el) => /secret/i.test([el.id, el.name || '', el.getAttribute('aria-label')].join(' '))
      && base32.test(('value' in el && el.value ? el.value : el.textContent || '').trim()));
  const secretMarked = namedSecret ||
    all('[data-secret], #kc-totp-secret-key, #totp-secret, .shared-key, ' +
      '[data-se=shared-secret], [data-se=secret-key]').some(visible);
  const passwords = inputs.filter((el) => el.type === 'password');
  const authenticatorWords = /authenticator|totp|time-based|one-time password app/i;
  const labelOf = (el) => [el.labels && el.labels.length ? el.labels[0].innerText : '',
    el.getAttribute('aria-label') || '', el.value || ''].join(' ');
  const methodChoice = inputs.some((el) => ['radio', 'checkbox'].includes(el.type) &&
      authenticatorWords.test(labelOf(el))) ||
    all('button, a, [role=button], [role=link]').filter(visible)
      .some((el) => authenticatorWords.test(text(el)) && text(el).length < 80);
  const codeLike = /^(?=.*\\d)[A-Za-z0-9]{4,12}(?:-[A-Za-z0-9]{3,12}){0,3}$/;
  const listed = [];
  for (const el of all('textarea, li, code, pre, td, kbd').filter(visible)) {
    const raw = el.tagName === 'TEXTAREA' ? el.value : (el.children.length ? '' : text(el));
    for (const part of String(raw || '').split(/\\s+/)) if (codeLike.test(part)) listed.push(part);
  }
  const otpauth = /otpauth:\\/\\//i.test(document.documentElement.outerHTML);
  const body = document.body ? document.body.innerText : '';
  return {
    title: document.title || '',
    heading: text(first('h1, h2')),
    screen: hooked ? hooked.getAttribute('data-screen') || '' : '',
    result: resultEl ? resultEl.getAttribute('data-result') || '' : '',
    error: errorEl ? text(errorEl).slice(0, 300) : '',
    errorCode: codeEl && visible(codeEl) ? codeEl.getAttribute('data-error-code') || '' : '',
    ids: all('[id]').map((el) => el.id).slice(0, 2000),
    hasPassword: inputs.some((el) => el.type === 'password'),
    hasUsername: inputs.some((el) => el.type === 'email' ||
      /user(name)?|e-?mail|identifier|login/.test(meta(el)) && el.type !== 'password'),
    hasCodeInput: inputs.some((el) => !el.readOnly && !el.disabled &&
      ['text', 'tel', 'number', ''].includes(el.type) &&
      (el.getAttribute('autocomplete') === 'one-time-code' ||
       /\\b(otp|totp|code|passcode|credentials\\.passcode|answer|verification)\\b/.test(
         meta(el).replace(/[_\\-.]/g, ' ')))),
    hasQr: qr,
    hasCaptcha: captcha,
    hasSecret: secretMarked || otpauth,
    passwordInputs: passwords.length,
    hasNewPassword: passwords.some((el) => el.getAttribute('autocomplete') === 'new-password'),
    hasMethodChoice: methodChoice,
    showsRecoveryCodes: /recovery codes?|backup codes?/i.test(body) && listed.length >= 4,
    text: body.slice(0, 4000).toLowerCase(),
  };
}"""


def without_query(url: str) -> str:
    """``url`` without query or fragment (tickets and secrets hide there)."""
    return re.split(r"[?#]", url, maxsplit=1)[0] or "the page"


def page_location(page: Page) -> str:
    """The page's URL without query or fragment."""
    return without_query(page.url)


async def take_snapshot(page: Page, *, timeout: float) -> PageSnapshot:
    """Wait for the page to load, then read a ``PageSnapshot`` of it.

    Raises:
        PageTimeout: The page did not finish loading within ``timeout`` seconds.
        BrowserError: The browser failed while reading the page (closed, crashed).
    """
    where = page_location(page)
    try:
        await page.wait_for_load_state("load", timeout=timeout * 1000)
        raw = await page.evaluate(_JS_SNAPSHOT)
    except PlaywrightTimeout:
        raise PageTimeout(f"{where} did not finish loading within {timeout:g} s") from None
    except PlaywrightError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BrowserError(f"the browser failed while reading {where}: {first}") from None
    return PageSnapshot(
        url=where,
        title=str(raw["title"]).strip(),
        heading=" ".join(str(raw["heading"]).split()),
        screen=str(raw["screen"]),
        result=str(raw["result"]),
        error=" ".join(str(raw["error"]).split()),
        error_code=str(raw["errorCode"]),
        ids=frozenset(str(i) for i in raw["ids"]),
        has_password=bool(raw["hasPassword"]),
        has_username=bool(raw["hasUsername"]),
        has_code_input=bool(raw["hasCodeInput"]),
        has_qr=bool(raw["hasQr"]),
        has_captcha=bool(raw["hasCaptcha"]),
        has_secret=bool(raw["hasSecret"]),
        password_inputs=int(raw["passwordInputs"]),
        has_new_password=bool(raw["hasNewPassword"]),
        has_method_choice=bool(raw["hasMethodChoice"]),
        shows_recovery_codes=bool(raw["showsRecoveryCodes"]),
        text=str(raw["text"]),
    )
