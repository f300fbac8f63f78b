"""Printing results for people (Rich) and for programs (``--json``).

Never a secret value unless the user asked for it with ``--reveal``, ``read`` or ``otp``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from vaultborn.vault.model import FieldType, Item, ItemSummary
from vaultborn.vault.secret import Secret

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["console", "print_item", "print_items", "print_json", "print_table", "progress"]


class _FirstUse:
    """A Rich ``Console`` made when it is first used.

    Importing rich costs 40 ms, and ``read``, ``otp`` and ``run``, which wrap a person's own
    commands, print plain values or nothing at all.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._made: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            from rich.console import Console

            self._made = Console(**self._options)
        return getattr(self._made, name)


console = cast("Console", _FirstUse(highlight=False, soft_wrap=True))
progress = cast("Console", _FirstUse(stderr=True, highlight=False, soft_wrap=True))
"""Progress of long steps, on stderr (stdout stays the result, also with ``--json``)."""


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns under ``headers``: a Rich table in a terminal, plain aligned text otherwise.

    Not in a terminal (a pipe, a file, a script reading it), nothing is wrapped or cut: every
    id whole, one row per line, as ``op`` prints for scripts.
    """
    if console.is_terminal:
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False)
        for header in headers:
            table.add_column(header)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    for row in (headers, *rows):
        cells = [f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)]
        sys.stdout.write("  ".join(cells).rstrip() + "\n")


def print_items(items: Sequence[ItemSummary]) -> None:
    """A table of items, as ``op item list`` shows them."""
    if not items:
        console.print("no items")
        return
    print_table(
        ("ID", "TITLE", "VAULT", "CATEGORY", "VERSION", "TAGS"),
        [
            (i.id, i.title, i.vault.name, i.category.value, str(i.version), ",".join(i.tags))
            for i in items
        ],
    )


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
    width = max(len(key) for key, _ in rows) + 1
    for key, value in rows:  # lines, not a table: nothing wraps or is cut, in a pipe too
        console.print(f"{key + ':':<{width}} {value}", markup=False)
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
