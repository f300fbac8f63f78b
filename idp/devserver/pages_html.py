"""The HTML frame of the dev IdP's Universal Login pages: layout, form parts, safe responses.

Every page is one server-rendered document with no external resource: the style and the one
optional script are inline and allowed by their hashes in the Content-Security-Policy, and
images are ``data:`` URIs. Every dynamic value passes ``esc``. Every response is
``Cache-Control: no-store`` (several pages show a TOTP seed) and ``Referrer-Policy:
no-referrer`` (the ticket id is in the URL).

The markup carries stable hooks for browser drivers, next to Auth0's visible wording:
``main#prompt[data-prompt][data-screen]`` names the screen (Auth0's screen names, such as
``mfa-otp-enrollment-qr``), ``#title`` and ``#description`` hold its texts, an error is
``[role=alert]#error-element-code[data-error-code]``, the code input is ``#code``, and the
submit button is ``#continue``.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping

from starlette.responses import HTMLResponse

__all__ = ["CODE_PLACEHOLDER", "code_form", "error_alert", "esc", "hidden", "page", "respond"]

CODE_PLACEHOLDER = "Enter your one-time code"

_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:#f3f3f5;font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:#1e212a}
.card{width:400px;max-width:100vw;background:#fff;border-radius:5px;padding:40px;
box-shadow:0 12px 40px rgba(0,0,0,.12)}
header{text-align:center;margin-bottom:24px}
.tenant{font-size:14px;color:#65676e;margin-bottom:16px}
h1{font-size:24px;font-weight:400;margin:0 0 16px}
p{font-size:14px;line-height:1.5;margin:0 0 8px}
label.field{display:block;font-size:14px;color:#65676e;margin:16px 0 4px}
input[type=text],input[type=email],input[type=password]{width:100%;height:52px;padding:0 16px;
font-size:16px;border:1px solid #c9cace;border-radius:3px}
button,.button{display:block;width:100%;height:52px;margin-top:24px;border:0;border-radius:3px;
font-size:16px;cursor:pointer;text-align:center;line-height:52px;text-decoration:none}
button.primary{background:#635dff;color:#fff}
button.secondary{background:#fff;color:#1e212a;border:1px solid #c9cace;height:40px;
line-height:38px;margin-top:8px;font-size:14px}
.links{text-align:center;margin-top:16px;font-size:14px}
.links a{color:#635dff;display:inline-block;margin:8px}
.qr{text-align:center;margin:16px 0}
.qr img{width:185px;height:185px;image-rendering:pixelated}
.secret{display:block;text-align:center;font-size:15px;padding:12px;
background:#f3f3f5;border-radius:3px;word-break:break-all}
.alert{background:#fce4e4;color:#d03c38;border-radius:3px;padding:12px;margin:16px 0;
font-size:14px}
.result{text-align:center;font-size:48px;color:#13a688}
.captcha{display:flex;align-items:center;gap:12px;border:1px solid #c9cace;border-radius:3px;
padding:16px;font-size:16px}
.captcha input{width:24px;height:24px}
ul.methods{list-style:none;padding:0}
ul.methods a{display:block;padding:16px;border:1px solid #c9cace;border-radius:3px;
color:#1e212a;text-decoration:none}
"""

# Copies the element named by data-copy-target; the page works the same without it.
_SCRIPT = """
document.querySelectorAll("[data-copy-target]").forEach(function (button) {
  button.addEventListener("click", function () {
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.setAttribute("data-copied", "true");
      }, function () {});
    }
  });
});
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


_CSP = "; ".join(
    (
        "default-src 'none'",
        "img-src data:",
        f"style-src {_sha256(_CSS)}",
        f"script-src {_sha256(_SCRIPT)}",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
_HEADERS = {
    "cache-control": "no-store",
    "pragma": "no-cache",
    "content-security-policy": _CSP,
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}


def esc(value: object) -> str:
    """``value`` as HTML text or attribute content (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def hidden(fields: Mapping[str, str]) -> str:
    """Hidden ``<input>`` elements for ``fields``."""
    return "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields.items()
    )


def error_alert(message: str | None, code: str) -> str:
    """The alert box for an error (Auth0's ``code`` in ``data-error-code``), or nothing."""
    if not message:
        return ""
    return (
        f'<div class="alert" role="alert" id="error-element-code" data-error-code="{esc(code)}">'
        f"{esc(message)}</div>"
    )


def code_form(action: str, fields: Mapping[str, str], *, invalid: bool = False) -> str:
    """The one-time code input and the "Continue" button, posting ``fields`` along."""
    aria = ' aria-invalid="true"' if invalid else ""
    return (
        f'<form method="post" action="{esc(action)}" id="code-form">{hidden(fields)}'
        f'<label class="field" for="code">{CODE_PLACEHOLDER}</label>'
        '<input type="text" id="code" name="code" inputmode="numeric" '
        f'autocomplete="one-time-code" placeholder="{CODE_PLACEHOLDER}" autofocus{aria}>'
        '<button type="submit" class="primary" id="continue" name="action" value="default">'
        "Continue</button></form>"
    )


def page(
    *,
    page_title: str,
    tenant: str,
    prompt: str,
    screen: str,
    title: str,
    description: str = "",
    body: str = "",
    script: bool = False,
) -> str:
    """A whole document; ``body`` is trusted markup, every other argument is plain text."""
    described = f'<p id="description">{esc(description)}</p>' if description else ""
    tail = f"<script>{_SCRIPT}</script>" if script else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{esc(page_title)}</title><style>{_CSS}</style></head><body>"
        f'<main id="prompt" data-prompt="{esc(prompt)}" data-screen="{esc(screen)}">'
        '<section class="card"><header>'
        f'<div class="tenant" id="tenant-name">{esc(tenant)}</div>'
        f'<h1 id="title">{esc(title)}</h1>{described}</header>'
        f"{body}</section></main>{tail}</body></html>"
    )


def respond(
    content: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """An HTML response with the security headers every page carries."""
    return HTMLResponse(content, status_code=status, headers={**_HEADERS, **(headers or {})})
