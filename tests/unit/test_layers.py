"""The layers import downwards only: core ← vault ← idp, stores, browser, approvals ← nodes ←
graphs ← runner ← the shell (``vaultborn`` itself). Siblings do not import each other.

Read from the source, imports inside functions included, so a lazy import cannot hide an
upward arrow. ``docs/architecture.md`` draws the same picture.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RANK = {
    "core": 0,
    "vault": 1,
    "idp": 2, "stores": 2, "browser": 2, "approvals": 2,
    "nodes": 3,
    "graphs": 4,
    "runner": 5,
    "shell": 6,
}  # fmt: skip
_IMPORT = re.compile(r"^\s*(?:from|import) vaultborn\.(\w+)", re.M)


def _layer_of(path: Path) -> str:
    top = path.relative_to(ROOT).parts[0]
    return top if top in RANK else "shell"


def _sources() -> list[Path]:
    files = [p for layer in RANK if layer != "shell" for p in (ROOT / layer).rglob("*.py")]
    return (
        files
        + sorted((ROOT / "vaultborn").glob("*.py"))
        + sorted(p for p in (ROOT / "vaultborn").rglob("*.py") if not _through_link(p))
    )


def _through_link(path: Path) -> bool:
    return any(
        (ROOT / "vaultborn" / part).is_symlink() for part in path.relative_to(ROOT).parts[1:2]
    )


def arrows(path: Path) -> list[tuple[str, str]]:
    """(from layer, to layer) for each import of another layer in ``path``."""
    return arrows_in(path.read_text(), _layer_of(path))


def arrows_in(text: str, here: str) -> list[tuple[str, str]]:
    """(``here``, to layer) for each import of another layer in ``text``."""
    found = []
    for match in _IMPORT.finditer(text):
        there = match.group(1) if match.group(1) in RANK else "shell"
        if there != here:
            found.append((here, there))
    return found


def test_every_import_goes_down_a_layer() -> None:
    wrong = sorted(
        f"{path.relative_to(ROOT)}: {here} imports {there}"
        for path in set(_sources())
        for here, there in arrows(path)
        if RANK[there] >= RANK[here]
    )
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("from vaultborn.nodes.deps import Deps\n", "up"),
        ("    import vaultborn.runner.runs\n", "up"),
        ("from vaultborn.stores.seed import seed\n", "sideways"),
        ("from vaultborn.vault.secret import Secret\n", "down"),
        ("from vaultborn.core.errors import UsageError\n", "down"),
    ],
)
def test_the_check_sees_an_arrow_of_each_kind(text: str, verdict: str) -> None:
    """The rule above is only as good as its reading of imports: seen from an idp module."""
    ((here, there),) = arrows_in(text, "idp")
    kind = "down" if RANK[there] < RANK[here] else "sideways" if RANK[there] == RANK[here] else "up"
    assert (here, kind) == ("idp", verdict)
