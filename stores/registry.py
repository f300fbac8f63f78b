"""The store registry: a target URI's scheme chooses its store backend.

Each backend registers its scheme, a strict target parser and an opener; callers (the plan,
``seed``, the setup run, the plan checks, the notebooks) ask the registry instead of naming a
backend, so a new store is one module plus one ``register`` call: its module's name in
``_BUILTIN`` for a built-in store, or an entry point in the ``vaultborn.stores`` group for a
store another package installs. An unknown scheme is one line listing the known ones (and any
plug-in that failed to load).

Opening is lazy: ``open_stores`` opens a backend the first time a target of its scheme is
used, so a command that never touches a store starts no AWS emulator and says nothing about
one. Backends that share a connection (both AWS stores) share it through ``StoreContext``.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, TypeVar

from vaultborn.stores.errors import InvalidTarget
from vaultborn.stores.protocol import SecretStore

__all__ = [
    "Backend",
    "Readiness",
    "StoreContext",
    "Stores",
    "backend_for",
    "known_schemes",
    "open_stores",
    "parse_target",
    "register",
    "target_forms",
]

_BUILTIN = ("vaultborn.stores.aws_backends",)
"""Modules whose import registers the built-in backends (imported on first lookup)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Readiness:
    """What a backend can say about this machine before anything is seeded."""

    system: str
    """The system's short name (``aws``), one check per system."""
    status: Literal["ok", "warn", "fail"]
    detail: str


@dataclass(frozen=True)
class Backend:
    """A registered store backend."""

    scheme: str
    parse: Callable[[str], object]
    """Parses a full target URI of this scheme (``str`` of the result is canonical)."""
    open: Callable[[StoreContext], SecretStore]
    """Opens the store for a block; heavy imports belong here, not at registration."""
    readiness: Callable[[Mapping[str, str], Path], Readiness]
    """Whether this environment is configured for the store (changes nothing)."""
    form: str = ""
    """The target's form for help texts and tool schemas, e.g. ``aws-ssm://REGION/PATH``."""


class StoreContext:
    """What the backends of one ``open_stores`` block share.

    Args:
        notice: Receives one-line notices meant for the person (an emulator serving …).
        env: The environment the backends read their configuration from.
        home: The user's home directory (where ``~/.aws`` would be).
        stack: Closes what the backends open, when the block ends.
        data_dir: vaultborn's data directory, where an embedded store keeps its contents.
    """

    def __init__(
        self,
        notice: Callable[[str], None],
        env: Mapping[str, str],
        home: Path,
        stack: ExitStack,
        data_dir: Path | None = None,
    ) -> None:
        self.notice = notice
        self.env = env
        self.home = home
        self.data_dir = data_dir
        """Where an embedded emulator keeps its contents between commands (None: memory)."""
        self._stack = stack
        self._shared: dict[str, Any] = {}

    def shared(self, key: str, opener: Callable[[], AbstractContextManager[T]]) -> T:
        """The resource ``key``, opened by ``opener`` the first time and kept for the block."""
        if key not in self._shared:
            self._shared[key] = self._stack.enter_context(opener())
        resource: T = self._shared[key]
        return resource


class Stores:
    """The stores of one command or run: each opened on first use, all closed with the block."""

    def __init__(self, context: StoreContext) -> None:
        self._context = context
        self._opened: dict[str, SecretStore] = {}
        self._lock = threading.Lock()  # a fleet's flows seed from several threads

    def store_for(self, target: str) -> SecretStore:
        """The store serving ``target`` (``InvalidTarget`` for an unknown scheme)."""
        backend = backend_for(target)
        with self._lock:
            if backend.scheme not in self._opened:
                self._opened[backend.scheme] = backend.open(self._context)
            return self._opened[backend.scheme]

    __call__ = store_for


@contextmanager
def open_stores(
    notice: Callable[[str], None],
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
    data_dir: Path | None = None,
) -> Iterator[Stores]:
    """The registered stores for the block, each opened when first asked for.

    Args:
        notice: Receives one-line notices for the person (e.g. that an emulator serves).
        env: Where backends look for their configuration.
        home: Where ``~/.aws`` and the like would be; None means the user's home.
        data_dir: vaultborn's data directory: an embedded emulator keeps what is seeded there
            between commands; None keeps it in memory for the block only.
    """
    with ExitStack() as stack:
        home = Path.home() if home is None else home
        context = StoreContext(notice, env, home, stack, data_dir)
        yield Stores(context)


_BACKENDS: dict[str, Backend] = {}
_loaded = False


def register(backend: Backend) -> None:
    """Register ``backend``; a scheme registered twice is a programming error."""
    if backend.scheme in _BACKENDS:
        raise ValueError(f"store scheme {backend.scheme!r} is already registered")
    _BACKENDS[backend.scheme] = backend


ENTRY_POINTS = "vaultborn.stores"
"""The entry-point group through which an installed package adds store backends: each entry
names a module whose import registers its backends (as ``_BUILTIN``'s do)."""


def _backends() -> dict[str, Backend]:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BUILTIN:
            importlib.import_module(module)
        for entry in entry_points(group=ENTRY_POINTS):
            module = entry.value.partition(":")[0]
            try:
                importlib.import_module(module)
            except Exception as error:
                # A broken plug-in must not take the built-in stores with it; the
                # unknown-scheme error names it instead.
                _BROKEN.append(f"{entry.name} ({module}: {type(error).__name__})")
    return _BACKENDS


_BROKEN: list[str] = []
"""Store plug-ins whose module failed to import, for the unknown-scheme error."""


def known_schemes() -> tuple[str, ...]:
    """The registered schemes, sorted."""
    return tuple(sorted(_backends()))


def target_forms() -> str:
    """The registered targets' forms, for help texts: ``a://X or b://Y``."""
    return " or ".join(b.form or f"{b.scheme}://…" for _, b in sorted(_backends().items()))


def backend_for(target: str) -> Backend:
    """The backend whose scheme ``target`` names, or ``InvalidTarget`` listing the known ones."""
    scheme, sep, _ = target.partition("://")
    backend = _backends().get(scheme) if sep else None
    if backend is None:
        got = f"scheme {scheme[:40]!r}" if sep else "no scheme"
        known = ", ".join(f"{s}://" for s in known_schemes())
        broken = f"; store plug-ins that did not load: {', '.join(_BROKEN)}" if _BROKEN else ""
        raise InvalidTarget(f"unsupported store target ({got}); known schemes: {known}{broken}")
    return backend


def parse_target(target: str) -> str:
    """``target`` checked by its backend's parser and written canonically."""
    return str(backend_for(target).parse(target))
