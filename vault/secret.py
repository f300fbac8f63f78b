"""``Secret``: the one type that carries a secret value through vaultborn.

A ``Secret`` is opaque everywhere except at ``reveal()``: its ``repr``/``str``/``format`` are
redacted, it refuses pickling, copying into JSON or msgpack (so a LangGraph checkpoint that
meets one fails loudly instead of storing the value), and compares in constant time.
"""

from __future__ import annotations

import hmac
from typing import Any, NoReturn

__all__ = ["REDACTED", "Secret"]

REDACTED = "<redacted>"


class Secret:
    """A secret value that cannot leak by accident.

    >>> s = Secret("hunter2")
    >>> s
    Secret(<redacted>)
    >>> f"{s}"
    '<redacted>'
    >>> s.reveal()
    'hunter2'

    ``label`` is a non-secret hint for messages (``"password of op://…"``).
    """

    __slots__ = ("_label", "_value")

    def __init__(self, value: str, *, label: str = "") -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "_label", label)

    def reveal(self) -> str:
        """Return the value; call it only where the value goes straight to its sink."""
        value: str = object.__getattribute__(self, "_value")
        return value

    @property
    def label(self) -> str:
        """A non-secret description of where the value came from."""
        label: str = object.__getattribute__(self, "_label")
        return label

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return f"Secret({self.label + ': ' if self.label else ''}{REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.reveal().encode(), other.reveal().encode())

    def __hash__(self) -> int:
        # Hashing would make the value guessable through dict timing and collisions.
        raise TypeError("Secret is not hashable")

    def __len__(self) -> int:
        return len(self.reveal())

    def __bool__(self) -> bool:
        return bool(self.reveal())

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or serialized; store its op:// reference")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or serialized; store its op:// reference")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or serialized; store its op:// reference")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self
