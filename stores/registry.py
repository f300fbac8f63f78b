"""The store registry: a target URI's scheme chooses its store backend.

Each backend registers its scheme and a strict target parser; callers (the plan, ``seed``, the
plan checks) ask the registry instead of naming a backend, so a new store is one module plus
one ``register`` call. An unknown scheme is one line listing the known ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stores.errors import InvalidTarget
from stores.target import AWS_SCHEME, parse_aws_target

__all__ = ["Backend", "backend_for", "known_schemes", "parse_target", "register"]


@dataclass(frozen=True)
class Backend:
    """A registered store backend: its scheme and its strict target parser."""

    scheme: str
    parse: Callable[[str], object]
    """Parses a full target URI of this scheme (``str`` of the result is canonical)."""


_BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> None:
    """Register ``backend``; a scheme registered twice is a programming error."""
    if backend.scheme in _BACKENDS:
        raise ValueError(f"store scheme {backend.scheme!r} is already registered")
    _BACKENDS[backend.scheme] = backend


def known_schemes() -> tuple[str, ...]:
    """The registered schemes, sorted."""
    return tuple(sorted(_BACKENDS))


def backend_for(target: str) -> Backend:
    """The backend whose scheme ``target`` names, or ``InvalidTarget`` listing the known ones."""
    scheme, sep, _ = target.partition("://")
    backend = _BACKENDS.get(scheme) if sep else None
    if backend is None:
        got = f"scheme {scheme[:40]!r}" if sep else "no scheme"
        known = ", ".join(f"{s}://" for s in known_schemes())
        raise InvalidTarget(f"unsupported store target ({got}); known schemes: {known}")
    return backend


def parse_target(target: str) -> str:
    """``target`` checked by its backend's parser and written canonically."""
    return str(backend_for(target).parse(target))


register(Backend(scheme=AWS_SCHEME, parse=parse_aws_target))
