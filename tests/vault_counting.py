"""A vault wrapper for tests that count which vault calls a piece of code makes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from vaultborn.vault.local import LocalVault


class Counting:
    """The vault, counting the calls that reach it."""

    def __init__(self, inner: LocalVault) -> None:
        self.inner, self.calls = inner, Counter[str]()
        self.backend, self.creates_revealed = inner.backend, inner.creates_revealed

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self.inner, name)
