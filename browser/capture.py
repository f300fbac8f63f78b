"""``capture_totp()``: read the TOTP secret an enrollment page shows, without a human.

Three strategies, in order: (1) an ``otpauth://`` URI anywhere in the page; (2) a base32 key
the page *presents as a key*, if need be after clicking the "can't scan" fallback; (3) decode
the QR code from an in-memory screenshot (only a QR carrying an otpauth URI counts). Two
different secrets are refused, never guessed. The secret is never logged, printed or written,
and no error message contains it.

A key is presented as one when it is the whole value of an input (read-only, or labelled as a
key or secret), the whole text of a code or monospace element or of an element marked as the
secret (``id``/``class``/``data-*`` naming a secret or key), or the whole rest of a line whose
label names the key (``Secret key: …``, or the line after ``Enter this key:``). It must be one
base32 run of at least 16 characters or groups of four, in one letter case. Prose never
qualifies: "Scan this code with your phone" has four-letter words, but it is a sentence in a
paragraph, not a key, and a wrong seed in the vault is worse than a hand-off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from vaultborn.browser.actions import Element, click, count
from vaultborn.browser.errors import CaptureFailed, ConflictingSecrets, PageTimeout
from vaultborn.browser.qr import decode_qr_texts
from vaultborn.browser.settle import act_and_settle
from vaultborn.browser.snapshot import page_location
from vaultborn.vault.errors import InvalidOtpUri
from vaultborn.vault.otp import (
    OtpParameters,
    build_otpauth_uri,
    normalize_base32,
    parse_otpauth_uri,
)
from vaultborn.vault.secret import Secret

__all__ = ["FALLBACK_WORDINGS", "CapturedTotp", "capture_totp"]

CaptureSource = Literal["uri", "manual", "qr"]

FALLBACK_WORDINGS: tuple[str, ...] = (
    "Trouble Scanning?",
    "Can't scan?",
    "Can’t scan?",
    "Unable to scan?",
    "Can't scan the QR code?",
    "Enter key manually",
    "Enter code manually",
    "Enter this text code",
    "Setup key",
    "Show secret",
    "Show key",
    "Manual entry",
)
"""Link or button texts (matched case-insensitively) that reveal the secret as text."""

_FALLBACK_CONTROL = Element(
    'the "can\'t scan" link',
    ("a, button, [role=button], [role=link]",),
    words=tuple(w.rstrip("?").lower() for w in FALLBACK_WORDINGS),
)
_IMAGES = Element("an image", ("img, canvas, svg",))
# Groups of four (Keycloak, Google: "ABCD EFGH …"), or one run of base32, the whole value.
_KEY = re.compile(r"[A-Za-z2-7]{4}(?:[ \-][A-Za-z2-7]{4}){3,}|[A-Za-z2-7]{16,}=*")
# A label that names the key itself: "Secret key", "Setup key", "Authenticator secret" …
# ("code" is not one: pages say "code" for the one-time code and for the QR code).
_LABEL = re.compile(r"\b(?:secret|key)\b", re.IGNORECASE)
_MIN_KEY_CHARS = 16
"""80 bits, the least any authenticator app takes (RFC 4226 asks for 128 or more)."""

_JS_URIS = """() => {
  const found = [];
  const re = /otpauth:\\/\\/[^\\s"'<>]+/gi;
  const add = (s) => { if (s) for (const m of String(s).matchAll(re)) found.push(m[0]); };
  add(document.body ? document.body.innerText : '');
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) add(a.value);
    if ('value' in el && typeof el.value === 'string') add(el.value);
  }
  return found;
}"""

# Values the page presents as a key: whole input values, code/monospace and marked elements.
_JS_CANDIDATES = """() => {
  const out = [];
  const named = /secret|key/i;
  const visible = (el) => el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility !== 'hidden';
  const mono = (el) => ['CODE', 'KBD', 'SAMP', 'PRE', 'TT'].includes(el.tagName) ||
    /mono|courier|consolas|menlo/i.test(getComputedStyle(el).fontFamily || '');
  for (const el of document.querySelectorAll('*')) {
    if (['SCRIPT', 'STYLE', 'BUTTON', 'A', 'OPTION'].includes(el.tagName) || !visible(el)) continue;
    const names = [el.id, typeof el.className === 'string' ? el.className : '',
      ...Array.from(el.attributes).filter(a => a.name.startsWith('data-')).map(a => a.name)];
    const marked = names.some(n => named.test(n || ''));
    if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') {
      if (['hidden', 'password'].includes(el.type)) continue;
      const label = [el.name, el.id, el.getAttribute('aria-label'), el.placeholder,
        el.labels && el.labels.length ? el.labels[0].innerText : ''].join(' ');
      if (el.readOnly || marked || named.test(label)) out.push(el.value || '');
    } else if ((marked || mono(el)) && el.children.length === 0) {
      out.push(el.textContent || '');
    }
  }
  out.push(document.body ? document.body.innerText : '');
  return out;
}"""


@dataclass(frozen=True)
class CapturedTotp:
    """A TOTP configuration read from an enrollment page.

    Attributes:
        params: The validated parameters (seed, issuer, account, algorithm, digits, period).
        source: How it was found: an otpauth ``uri``, the ``manual`` key, or a ``qr`` code.
    """

    params: OtpParameters
    source: CaptureSource

    @property
    def uri(self) -> Secret:
        """The configuration as an otpauth URI (a secret: it holds the seed)."""
        return build_otpauth_uri(self.params)


async def capture_totp(page: Page, *, timeout: float = 10.0) -> CapturedTotp:
    """Find the TOTP secret on an enrollment page.

    Args:
        page: The page showing the enrollment (QR code and/or its "can't scan" fallback).
        timeout: Seconds to wait for the page to load and to settle after a click.

    Returns:
        The captured configuration and the strategy that found it.

    Raises:
        PageTimeout: The page did not finish loading or settle in time.
        ConflictingSecrets: The page shows two different secrets.
        CaptureFailed: No valid TOTP secret was found.
    """
    where = page_location(page)
    ms = timeout * 1000
    await _settle(page, ms, where)
    try:
        found = _unique(_parse_uris(await page.evaluate(_JS_URIS)), "uri", where)
        if found is not None:
            return found
        found = _unique(_parse_texts(await page.evaluate(_JS_CANDIDATES)), "manual", where)
        if found is not None:
            return found
        if await _open_fallback(page, ms):
            found = _unique(_parse_texts(await page.evaluate(_JS_CANDIDATES)), "manual", where)
            if found is not None:
                return found
        found = _unique(_parse_uris(await _qr_texts(page, ms)), "qr", where)
    except PlaywrightTimeout:
        raise PageTimeout(f"{where} did not respond within {timeout:g} s") from None
    except PlaywrightError:
        raise CaptureFailed(f"{where}: the browser failed while reading the page") from None
    if found is None:
        raise CaptureFailed(
            f"no TOTP secret on {where}: no otpauth URI, no manual-entry key, no QR code"
        )
    return found


async def _settle(page: Page, ms: float, where: str) -> None:
    """Wait until the page has loaded, or raise PageTimeout."""
    try:
        await page.wait_for_load_state("load", timeout=ms)
    except PlaywrightTimeout:
        raise PageTimeout(f"{where} did not finish loading within {ms / 1000:g} s") from None


async def _open_fallback(page: Page, ms: float) -> bool:
    """Click the first visible "can't scan" link or button; True if one was clicked."""
    timeout = ms / 1000
    if not await count(page, _FALLBACK_CONTROL, timeout=timeout):
        return False
    await act_and_settle(page, lambda: click(page, _FALLBACK_CONTROL, timeout=timeout), timeout)
    await page.wait_for_timeout(100)  # let a client-side toggle finish rendering
    return True


async def _qr_texts(page: Page, ms: float) -> list[str]:
    """Decode QR codes from an in-memory screenshot, when the page has an image at all."""
    if not await count(page, _IMAGES, timeout=ms / 1000):
        return []
    png = await page.screenshot(full_page=True, timeout=ms)
    return decode_qr_texts(png)


def _parse_uris(texts: list[str]) -> list[OtpParameters]:
    """Parse every otpauth URI; invalid ones (e.g. HOTP) are skipped."""
    params = []
    for text in texts:
        try:
            params.append(parse_otpauth_uri(text))
        except InvalidOtpUri:
            continue
    return params


def _parse_texts(texts: list[str]) -> list[OtpParameters]:
    """Seeds from values presented as keys, and from the lines whose label names the key."""
    *presented, body = texts
    snippets = [_after_label(text) for text in presented]
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if not _LABEL.search(line):
            continue
        label, colon, rest = line.partition(":")
        if colon and rest.strip() and _LABEL.search(label):
            snippets.append(rest)
        elif index + 1 < len(lines):
            snippets.append(lines[index + 1])  # "Enter this key:" then the key on its own line
    params: list[OtpParameters] = []
    for snippet in snippets:
        seed = _key_in(snippet)
        if seed is None:
            continue
        try:
            params.append(OtpParameters(seed=normalize_base32(seed)))
        except InvalidOtpUri:
            continue
    return params


def _after_label(text: str) -> str:
    """``Secret: ABCD …`` → ``ABCD …``; anything else as it is."""
    label, colon, rest = text.partition(":")
    return rest if colon and _LABEL.search(label) else text


def _key_in(snippet: str) -> str | None:
    """The snippet when the whole of it is a key in one letter case, else None."""
    text = " ".join(snippet.split())
    if not _KEY.fullmatch(text):
        return None
    letters = [c for c in text if c.isalpha()]
    if not (all(c.isupper() for c in letters) or all(c.islower() for c in letters)):
        return None  # "Scan This Code With Your Phone", never a key
    if sum(c.isalnum() for c in text) < _MIN_KEY_CHARS:
        return None
    return text


def _unique(found: list[OtpParameters], source: CaptureSource, where: str) -> CapturedTotp | None:
    """The one secret found, None if none, ConflictingSecrets if several differ."""
    seeds = {p.seed.reveal() for p in found}
    if len(seeds) > 1:
        raise ConflictingSecrets(
            f"{where} shows {len(seeds)} different TOTP secrets ({source}); refusing to guess"
        )
    if not found:
        return None
    return CapturedTotp(params=found[0], source=source)
