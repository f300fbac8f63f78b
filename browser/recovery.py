"""Recovery codes an application lists after enrollment, read into memory for the vault.

allauth shows ten eight-digit codes in a read-only textarea, Flask-Security five
``xxxx-xxxx-xxxx`` codes in a list, Auth0 one code to copy. ``pick_recovery_codes`` keeps the
values that look like codes (a digit in each, no spaces, at most four dash-separated parts)
and share one shape, so a page's other short words and numbers do not slip in. The codes are
secrets: they travel as one ``Secret`` into the vault item and nowhere else.
"""

from __future__ import annotations

import re
from collections import Counter

from playwright.async_api import Page

__all__ = ["MIN_CODES", "pick_recovery_codes", "read_recovery_codes"]

MIN_CODES = 4
"""Fewer values of one shape are not taken for a list of recovery codes."""
_CODE = re.compile(r"(?=.*\d)[A-Za-z0-9]{4,12}(?:-[A-Za-z0-9]{3,12}){0,3}")

_JS_VALUES = """() => {
  const visible = (el) => el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility !== 'hidden';
  const out = [];
  for (const el of document.querySelectorAll('textarea, li, code, pre, td, kbd, samp')) {
    if (!visible(el)) continue;
    const raw = el.tagName === 'TEXTAREA' ? el.value :
      (el.children.length ? '' : (el.innerText || el.textContent || ''));
    out.push(...String(raw || '').split(/\\s+/).filter(Boolean));
  }
  return out;
}"""


def _shape(code: str) -> tuple[int, ...]:
    return tuple(len(part) for part in code.split("-"))


def pick_recovery_codes(values: list[str]) -> list[str]:
    """The values of the most common code shape, in page order, without repeats.

    >>> pick_recovery_codes(["12345678", "Menu", "87654321", "11112222", "33334444", "2"])
    ['12345678', '87654321', '11112222', '33334444']
    """
    codes = list(dict.fromkeys(v for v in values if _CODE.fullmatch(v)))
    if not codes:
        return []
    shape, count = Counter(_shape(c) for c in codes).most_common(1)[0]
    if count < MIN_CODES:
        return []
    return [c for c in codes if _shape(c) == shape]


async def read_recovery_codes(page: Page) -> list[str]:
    """The recovery codes the page lists (empty when it lists none)."""
    values = await page.evaluate(_JS_VALUES)
    return pick_recovery_codes([str(v) for v in values])
