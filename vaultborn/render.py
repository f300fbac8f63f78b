"""Printing results for people (Rich) and for programs (``--json``).

Never a secret value unless the user asked for it with ``--reveal``, ``read`` or ``otp``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vaultborn.vault.model import FieldType, Item, ItemSummary
from vaultborn.vault.secret import Secret

__all__ = ["console", "print_item", "print_items", "print_json", "progress"]

console = Console(highlight=False, soft_wrap=True)
progress = Console(stderr=True, highlight=False, soft_wrap=True)
"""Progress of long steps, on stderr (stdout stays the result, also with ``--json``)."""


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def print_items(items: Sequence[ItemSummary]) -> None:
    """A table of items, as ``op item list`` shows them."""
    if not items:
        console.print("no items")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "TITLE", "VAULT", "CATEGORY", "VERSION", "TAGS"):
        table.add_column(column)
    for i in items:
        cells = (i.id, i.title, i.vault.name, i.category.value, str(i.version), ",".join(i.tags))
        table.add_row(*(Text(c) for c in cells))
    console.print(table)


def print_item(item: Item, *, reveal: bool = False) -> None:
    """An item's metadata, fields and canonical references."""
    rows = [
        ("ID", item.id),
        ("Title", item.title),
        ("Vault", f"{item.vault.name} ({item.vault.id})"),
        ("Category", item.category.value),
        ("Version", str(item.version)),
        ("Tags", ", ".join(item.tags) or "-"),
        ("Created", item.created_at),
        ("Updated", item.updated_at),
    ]
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key + ":", Text(value))
    console.print(table)
    if not item.fields:
        return
    labels = [f"{f.section.label}.{f.label}" if f.section else f.label for f in item.fields]
    width = max(len(label) for label in labels)
    console.print("\nFields:")
    for label, f in zip(labels, item.fields, strict=True):
        shown = _shown_value(item, f.type, f.value, reveal)
        console.print(f"  {label:<{width}}  {shown}", markup=False, highlight=False)
    console.print("\nReferences (canonical, id-based):")
    for label, f in zip(labels, item.fields, strict=True):
        console.print(f"  {label:<{width}}  {item.reference(f)}", markup=False, highlight=False)


def _shown_value(item: Item, ftype: FieldType, value: str | Secret | None, reveal: bool) -> str:
    if isinstance(value, Secret) and reveal:
        return value.reveal()
    if ftype is FieldType.OTP:
        return f"[code: vaultborn otp {item.id}]"
    if ftype.is_secret:
        return "[concealed: add --reveal to show]"
    return "" if value is None else str(value)
