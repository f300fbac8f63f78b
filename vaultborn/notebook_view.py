"""What a notebook shows of a run: the waiting request as a person sees it, and plain tables.

``card(view)`` is the interrupt payload of a waiting run (the line ``vaultborn`` prints for
it, then the action's arguments, effects, digest and expiry), or the outcome of a finished
one; ``table(rows)`` is any list of records. Both render as HTML in a notebook and as text
elsewhere. They show what they are given: references, ids and metadata, never a value
(``vaultborn.notebook`` hands them nothing else).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from vaultborn.approvals.audit import AuditEvent
from vaultborn.prompts import describe_waiting
from vaultborn.runner.runs import RunView

__all__ = ["Card", "Table", "audit_rows", "card", "short_digests", "table"]


@dataclass(frozen=True)
class Table:
    """Rows under a header; ``_repr_html_`` for notebooks, ``str`` for everything else."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""

    def __str__(self) -> str:
        widths = [
            max([len(c), *(len(r[i]) for r in self.rows)]) for i, c in enumerate(self.columns)
        ]
        lines = [self.title] if self.title else []
        for row in (self.columns, *self.rows):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{escape(v)}</td>" for v in r) + "</tr>"
            for r in self.rows
        )
        caption = f"<caption style='text-align:left'><b>{escape(self.title)}</b></caption>"
        # Long unbroken cells (references, digests, JSON) may break anywhere, so the table
        # fits the page's width instead of running off it.
        return (
            f"<table style='overflow-wrap:anywhere'>{caption if self.title else ''}"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None, title: str = ""
) -> Table:
    """A ``Table`` of ``rows`` (records); ``columns`` default to the first row's keys."""
    records = list(rows)
    names = tuple(columns or (records[0].keys() if records else ()))
    return Table(names, tuple(tuple(_text(r.get(c, "")) for c in names) for r in records), title)


_DIGEST = re.compile(r"\b(sha256:[0-9a-f]{12})[0-9a-f]{52}\b")


def short_digests(value: Any) -> Any:
    """``value`` with each ``sha256:`` digest in its text cut to 12 hex digits and ``…``."""
    if isinstance(value, str):
        return _DIGEST.sub(r"\1…", value)
    if isinstance(value, Mapping):
        return {k: short_digests(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [short_digests(v) for v in value]
    return value


def audit_rows(events: Iterable[AuditEvent]) -> list[dict[str, Any]]:
    """Audit events as table rows: sequence, time, run, kind, subject, detail, chain hash.

    Digests and the chain hash are cut to their first 12 hex digits (``vaultborn show --json``
    has them whole): a table of whole ones runs off the page.
    """
    return [
        {
            "seq": e.seq,
            "at": time.strftime("%H:%M:%S", time.localtime(e.at)),
            "run": e.run_id,
            "kind": e.kind,
            "subject": short_digests(e.subject),
            "detail": short_digests(e.detail),
            "hash": e.hash[:12] + "…",
        }
        for e in events
    ]


@dataclass(frozen=True)
class Card:
    """A run as a person sees it: one headline and its facts."""

    headline: str
    facts: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return "\n".join([self.headline, *(f"  {k}: {v}" for k, v in self.facts)])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left;vertical-align:top;{_indent(k)}'>{escape(k)}</th>"
            f"<td style='text-align:left'><code>{escape(v)}</code></td></tr>"
            for k, v in self.facts
        )
        return (
            "<div style='border:1px solid #999;border-radius:6px;padding:8px;margin:4px 0'>"
            f"<div><b>{escape(self.headline)}</b></div><table>{rows}</table></div>"
        )


def _indent(key: str) -> str:
    """An indented key (an action's argument) is drawn indented and not bold."""
    depth = len(key) - len(key.lstrip())
    return f"padding-left:{depth}em;font-weight:normal" if depth else ""


def card(view: RunView, *, now: float | None = None) -> Card:
    """The card of ``view``: what it waits for (the interrupt payload), or how it ended."""
    if view.status == "waiting" and view.waiting is not None:
        facts = _waiting_facts(view.waiting, time.time() if now is None else now)
        return Card(f"{view.run_id} waits for {describe_waiting(view.waiting)}", tuple(facts))
    reason = f" ({view.reason})" if view.reason else ""
    return Card(f"{view.run_id}: {view.status}{reason}", tuple(_outcome_facts(view)))


def _waiting_facts(waiting: Mapping[str, Any], now: float) -> list[tuple[str, str]]:
    if waiting.get("kind") == "human_step":
        return [("page", str(waiting.get("url"))), ("do", str(waiting.get("instructions")))]
    action = waiting.get("action") or {}
    facts = [("kind", str(waiting.get("kind")))]
    if action:
        facts.append(("action", str(action.get("name"))))
        facts += [(f"  {k}", _text(v)) for k, v in action.get("args", {}).items()]
        facts.append(("effects", ", ".join(action.get("effects", [])) or "none (read-only)"))
    facts.append(("digest", str(waiting.get("digest"))))
    expires = float(waiting.get("expires_at", 0))
    left = max(0.0, expires - now)
    clock = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(expires))
    facts.append(("expires", f"{clock} (in {left / 60:.0f} min)"))
    return facts


def _outcome_facts(view: RunView) -> list[tuple[str, str]]:
    """What a run made: references, ids, versions and statuses (never a value)."""
    values = view.values
    facts: list[tuple[str, str]] = []
    item, user = values.get("item") or {}, values.get("user") or {}
    if item:
        facts.append(("vault item", f"{item.get('item_id')} (version {item.get('version')})"))
        facts.append(("password", str(item.get("password_ref"))))
    if user:
        facts.append(("IdP user", f"{user.get('user_id')} ({user.get('email')})"))
    if values.get("enrollment"):
        facts.append(("TOTP", _text(values["enrollment"])))
    for target, receipt in (values.get("seeds") or {}).items():
        facts.append((f"seed {target}", _text({k: v for k, v in receipt.items() if k != "target"})))
    if values.get("verify"):
        facts.append(("verify", _text(values["verify"])))
    if view.next:
        facts.append(("next", ", ".join(view.next)))
    return facts
