"""One event loop in a thread of its own, so a synchronous ``Vault`` can await the async SDK.

The ``Vault`` protocol is synchronous and is called from inside running event loops (the
agent graph's nodes), where ``asyncio.run`` is refused. Every SDK coroutine therefore runs on
this loop, which also keeps the SDK client on the loop it was authenticated on. Each call is
bounded: a service that never answers becomes ``VaultUnavailable`` after ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from vaultborn.vault.errors import VaultUnavailable

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """A daemon thread running an event loop, started on first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_serve, args=(loop,), name=self._name, daemon=True)
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """The result of ``coro`` run on the loop; its exception if it raised.

        Raises:
            VaultUnavailable: It did not finish within ``timeout`` seconds (it is cancelled).
        """
        future = asyncio.run_coroutine_threadsafe(coro, self._started())
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise VaultUnavailable(
                f"1Password's SDK did not answer within {timeout:g} s; try again "
                "(VAULTBORN_OP_TIMEOUT sets the limit)"
            ) from None

    def close(self) -> None:
        """Stop the loop (a later ``run`` starts a new one)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        # Calls that timed out may still be pending: end them before the loop goes.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
