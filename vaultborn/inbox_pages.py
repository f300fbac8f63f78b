"""The approval inbox's pages: plain HTML, every piece of text escaped.

What a page shows comes from ``runner.inbox_items`` (payloads and states: references, ids,
digests, summaries), never from a vault. Each form carries the inbox's CSRF value, the digest
that was shown and the interrupt it answers, so an answer from a page that has gone stale is
refused rather than given to whatever waits now.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from vaultborn.runner.inbox_items import InboxItem

__all__ = ["SCRIPT", "STYLE", "denied_page", "item_page", "items_fragment", "list_page",
           "run_page"]  # fmt: skip

STYLE = """\
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;
color:#1d1d1f}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35rem;
text-align:left;vertical-align:top}
code{font:13px ui-monospace,monospace;word-break:break-all}
.note{background:#eef6ff;border:1px solid #9cc3f0;padding:.5rem .8rem;margin:.8rem 0}
.refused{background:#fff0f0;border-color:#e99}
.muted{color:#666}del{background:#fdd}ins{background:#dfd;text-decoration:none}
form.inline{display:inline-block;margin:.3rem .6rem .3rem 0}
button{font:inherit;padding:.3rem .8rem;cursor:pointer}
input[type=text]{font:13px ui-monospace,monospace;width:100%;box-sizing:border-box}
"""

SCRIPT = """\
(function () {
  var list = document.getElementById("items");
  if (list) {
    setInterval(function () {
      fetch("/items", {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null && html !== list.innerHTML) { list.innerHTML = html; }
        })
        .catch(function () {});
    }, Number(list.dataset.poll) * 1000);
  }
  var item = document.getElementById("item");
  if (item) {
    setInterval(function () {
      fetch(item.dataset.state, {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (now) {
          if (now && now.interrupt_id !== item.dataset.interrupt) {
            document.getElementById("stale").hidden = false;
          }
        })
        .catch(function () {});
    }, Number(item.dataset.poll) * 1000);
  }
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at)) if at else "never"


def _shown(value: object) -> str:
    """A plain value as a person reads it: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><link rel=stylesheet href=/inbox.css></head>"
        f"<body>{body}<script src=/inbox.js></script></body></html>"
    )


def denied_page() -> str:
    """What anyone without the inbox's link gets."""
    body = (
        "<h1>vaultborn inbox</h1><p>This inbox opens only with the link it printed when it "
        "started (<code>vaultborn inbox</code>).</p>"
    )
    return _layout("vaultborn inbox", body)


def _notes(messages: Sequence[tuple[str, str]]) -> str:
    return "".join(
        f'<p class="note{" refused" if kind == "refused" else ""}" role=status>{_e(text)}</p>'
        for kind, text in messages
    )


def items_fragment(items: Sequence[InboxItem]) -> str:
    """The table of what waits (the list page polls this)."""
    if not items:
        return "<p class=muted id=nothing>Nothing waits.</p>"
    rows = []
    for item in items:
        refs = "<br>".join(f"<code>{_e(r)}</code>" for r in item.references)
        digest = f"<code>{_e(item.digest[:19])}…</code>" if item.digest else ""
        rows.append(
            f'<tr data-run="{_e(item.run_id)}"><td><code>{_e(item.run_id)}</code></td>'
            f"<td><b>{_e(item.title)}</b></td><td>{_e(item.summary)}</td><td>{refs}</td>"
            f"<td>{digest}</td><td>{_e(_when(item.expires_at))}</td>"
            f'<td><a href="/runs/{_e(item.run_id)}">open</a></td></tr>'
        )
    return (
        "<table><thead><tr><th>run</th><th>asks for</th><th>summary</th><th>references</th>"
        f"<th>digest</th><th>expires</th><th></th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
    )


def list_page(items: Sequence[InboxItem], poll: float, source: str) -> str:
    """The inbox: what waits across runs, refreshed without a reload."""
    body = (
        f"<h1>vaultborn inbox</h1><p class=muted>Runs in {_e(source)}; answered as the CLI "
        "answers (<code>vaultborn approve</code>): by digest, before the expiry, audited.</p>"
        f'<div id=items data-poll="{poll:g}">{items_fragment(items)}</div>'
    )
    return _layout("vaultborn inbox", body)


def _form(run_id: str, csrf: str, item: InboxItem, decision: str, label: str,
          extra: str = "", css: str = "inline", digest: str | None = None) -> str:  # fmt: skip
    """A form answering ``item``: the digest shown and the interrupt it answers go with it."""
    return (
        f'<form method=post action="/runs/{_e(run_id)}/answer" class={css}>'
        f'<input type=hidden name=csrf value="{_e(csrf)}">'
        f'<input type=hidden name=interrupt_id value="{_e(item.interrupt_id)}">'
        f'<input type=hidden name=digest value="{_e(item.digest if digest is None else digest)}">'
        f'<input type=hidden name=decision value="{_e(decision)}">{extra}'
        f"<button type=submit name=go value={_e(decision)}>{_e(label)}</button></form>"
    )


def _args_table(args: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{_e(k)}</th><td><code>{_e(_shown(v))}</code></td></tr>" for k, v in args.items()
    )
    return f"<table class=args>{rows}</table>"


def _diff(item: InboxItem) -> str:
    if not item.changes:
        return ""
    rows = "".join(
        f"<tr><th>{_e(c.name)}</th><td><del>{_e(_shown(c.proposed))}</del></td>"
        f"<td><ins>{_e(_shown(c.now))}</ins></td></tr>"
        for c in item.changes
    )
    return (
        "<h2>Edited: the changes against the proposal</h2><table class=diff><thead><tr>"
        f"<th>argument</th><th>proposed</th><th>now</th></tr></thead><tbody>{rows}</tbody>"
        "</table>"
    )


def _plan(item: InboxItem) -> str:
    plan = item.plan or {}
    rows = "".join(
        f"<tr><td><code>{_e(a.get('key', ''))}</code></td><td>{_e(a.get('summary', ''))}</td>"
        f"<td>{_e(', '.join(a.get('effects', [])) or 'read-only')}</td>"
        f"<td><code>{_e(str(a.get('digest', ''))[:19])}…</code></td></tr>"
        for a in plan.get("actions", [])
    )
    return (
        "<h2>The plan: every action this run will take</h2><table class=plan><thead><tr>"
        f"<th>step</th><th>summary</th><th>effects</th><th>digest</th></tr></thead><tbody>{rows}"
        f"</tbody></table><p>Plan digest <code>{_e(plan.get('digest', ''))}</code>; an action "
        "that differs from this list when it comes is asked on its own.</p>"
    )


def _answers(item: InboxItem, csrf: str) -> str:
    run = item.run_id
    if item.kind == "human_step":
        return _form(run, csrf, item, "done", "Done: I did it, look at the page again")
    reject = _form(
        run, csrf, item, "reject", "Reject",
        '<label>Reason <input type=text name=reason required maxlength=200></label>',
        css="reject",
    )  # fmt: skip
    if item.kind == "vault_session":
        plan = ""
        if item.plan:
            plan = _form(run, csrf, item, "plan", "Approve all: the session and the plan",
                         digest=str(item.plan.get("digest", "")))  # fmt: skip
        return plan + _form(run, csrf, item, "approve", "Approve the session only") + reject
    fields = "".join(
        f'<label>{_e(k)} <input type=text name="arg:{_e(k)}" value="{_e(_shown(v))}"></label>'
        for k, v in item.args.items()
    )
    edit = _form(run, csrf, item, "edit", "Send the edit (it is asked again)", fields,
                 css="edit")  # fmt: skip
    return (
        _form(run, csrf, item, "approve", "Approve") + reject + f"<h2>Edit an argument</h2>{edit}"
    )


def item_page(item: InboxItem, csrf: str, poll: float,
              messages: Sequence[tuple[str, str]] = ()) -> str:  # fmt: skip
    """One waiting item: what it is, its digest and expiry, and the forms that answer it."""
    head = (
        f"<h1>Run <code>{_e(item.run_id)}</code> asks for {_e(item.title)}</h1>"
        f"{_notes(messages)}"
        '<p id=stale class="note refused" hidden>This page is stale: the run has moved on. '
        "<a href=''>Look again</a>.</p>"
    )
    if item.reason:
        head += f"<p class=note>{_e(item.reason)}</p>"
    if item.kind == "human_step":
        page = f"<code>{_e(item.url)}</code>"
        if item.url.startswith(("https://", "http://")):  # never a javascript: or data: link
            page = f'<a href="{_e(item.url)}" target=_blank rel="noopener noreferrer">{page}</a>'
        what = (
            f"<p>Open {page} and {_e(item.instructions)}. Then say done: the run looks at the "
            "page again.</p>"
        )
    else:
        what = (
            f"<p>{_e(item.summary)}</p>{_args_table(item.args)}{_diff(item)}"
            f"<p>Digest <code class=digest>{_e(item.digest)}</code><br>Asked "
            f"{_e(_when(item.requested_at))}; expires {_e(_when(item.expires_at))}</p>"
            f"{_plan(item) if item.plan else ''}"
        )
    body = (
        f'<div id=item data-interrupt="{_e(item.interrupt_id)}" data-poll="{poll:g}" '
        f'data-state="/runs/{_e(item.run_id)}/state">{head}{what}'
        f"<h2>Answer</h2>{_answers(item, csrf)}</div><p><a href=/>All that waits</a></p>"
    )
    return _layout(f"vaultborn inbox — {item.run_id}", body)


def run_page(run_id: str, status: str, reason: str,
             messages: Sequence[tuple[str, str]] = ()) -> str:  # fmt: skip
    """A run that waits for nothing (done, rejected, failed, running)."""
    why = f" ({_e(reason)})" if reason else ""
    body = (
        f"<h1>Run <code>{_e(run_id)}</code></h1>{_notes(messages)}"
        f"<p id=status>It is <b>{_e(status)}</b>{why}; nothing waits.</p>"
        "<p><a href=/>All that waits</a></p>"
    )
    return _layout(f"vaultborn inbox — {run_id}", body)
