"""The run database of one invocation: its URL, and the key its checkpoints are sealed with.

Light on purpose: the commands that only look at runs use it without loading LangGraph, which
``StateDb.open`` and ``StateDb.open_async`` import only when a checkpointer is asked for.
"""

from __future__ import annotations

import base64
import binascii
import os
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from vaultborn.core.database import DatabaseUrl, UrlLike, database_url
from vaultborn.core.errors import UsageError
from vaultborn.runner.wiring import Settings, open_vault

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

__all__ = ["KEY_ENV", "StateDb", "home_of", "state_db"]

KEY_ENV = "VAULTBORN_CHECKPOINT_KEY"
"""An op:// reference to 32 bytes (base64) that seal every checkpoint; unset: not sealed."""


class StateDb:
    """The run database: its URL, and the key checkpoints are sealed with (None: unsealed).

    Args:
        url: The URL (text is checked here, once).
        key: 32 bytes that seal every checkpoint blob.
    """

    __slots__ = ("key", "url")

    def __init__(self, url: UrlLike, key: bytes | None = None) -> None:
        self.url = DatabaseUrl.parse(url)
        self.key = key

    def __repr__(self) -> str:
        return f"StateDb({self.url!r}, sealed={self.key is not None})"

    def open(self) -> AbstractContextManager[BaseCheckpointSaver[str]]:
        """A checkpointer for looking (sync)."""
        from vaultborn.graphs.checkpoint import open_checkpointer

        return open_checkpointer(self.url, key=self.key)

    def open_async(self) -> AbstractAsyncContextManager[BaseCheckpointSaver[str]]:
        """A checkpointer for running the graph (async)."""
        from vaultborn.graphs.checkpoint import open_async_checkpointer

        return open_async_checkpointer(self.url, key=self.key)


def state_db(settings: Settings, db: str | None) -> StateDb:
    """The run database this invocation uses (``--db``, the variable, or the home's file).

    Raises:
        UsageError: ``$VAULTBORN_CHECKPOINT_KEY`` names something that is not a 32-byte key.
    """
    url = database_url(home_of(settings), db)
    ref = os.environ.get(KEY_ENV)
    if not ref:
        return StateDb(url)
    try:
        key = base64.b64decode(open_vault(settings).read(ref).reveal(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise UsageError(f"{KEY_ENV}: {ref} must hold 32 bytes, base64-encoded")
    return StateDb(url, key)


def home_of(settings: Settings) -> Path:
    """``$VAULTBORN_HOME`` (default ``~/.vaultborn``)."""
    return Path(settings.env().get("VAULTBORN_HOME") or Path.home() / ".vaultborn")
