"""``Action``: what a gate asks a person to approve, and the digest the answer must carry.

Arguments are references, ids and plain values only (a ``Secret`` is refused with
``TypeError``), so the action can be shown, checkpointed and audited. The digest covers name,
arguments and effects, not the summary: an answer for another action, or for this one with
other arguments or effects, does not match.

>>> a = Action("seed", {"to": "aws-secretsmanager://us-east-1/x"}, ("store.put",), "Seed x")
>>> a.digest[:7]
'sha256:'
>>> a.with_args({"to": "aws-secretsmanager://us-east-1/y"}).digest != a.digest
True
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from typing_extensions import TypedDict

from vaultborn.approvals.errors import EditRefused, InvalidDecision
from vaultborn.vault.secret import Secret

__all__ = [
    "Action",
    "ActionPayload",
    "JsonScalar",
    "canonical_json",
    "is_scalar",
    "plain_json",
    "require_text",
    "sha256_digest",
]

JsonScalar = str | int | float | bool | None
"""A value an edit may set: text, a number, true/false or null."""

_SCALARS = (str, int, float, bool, type(None))
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PAYLOAD_KEYS = frozenset({"name", "args", "effects", "summary"})


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, no NaN: the form digests and audit hashes are taken of."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_digest(value: Any) -> str:
    """``sha256:`` and the hex SHA-256 of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


def is_scalar(value: object) -> bool:
    """Whether ``value`` is a JSON scalar (finite numbers only; never a ``Secret``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, _SCALARS)


def plain_json(value: Any, where: str) -> Any:
    """``value`` as JSON data (tuples become lists), checked to hold no ``Secret`` anywhere.

    Raises:
        TypeError: A ``Secret``, a key that is not text, or something that is not JSON data.
    """
    if isinstance(value, Secret):
        raise TypeError(f"{where}: approvals carry references, never a secret value")
    if is_scalar(value):
        return value
    if isinstance(value, list | tuple):
        return [plain_json(v, where) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{where}: keys must be text")
        return {k: plain_json(v, f"{where}.{k}") for k, v in value.items()}
    raise TypeError(f"{where}: {type(value).__name__} is not plain JSON data")


def require_text(value: object, where: str) -> str:
    """``value`` checked to be text (a ``Secret`` is not).

    Raises:
        TypeError: It is not a ``str``.
    """
    if not isinstance(value, str):
        what = "a secret value" if isinstance(value, Secret) else type(value).__name__
        raise TypeError(f"{where} must be text, not {what}")
    return value


class ActionPayload(TypedDict):
    """An ``Action`` as plain JSON data (``Action.to_payload``), as gates and states keep it."""

    name: str
    args: dict[str, Any]
    """The arguments: references, ids and plain values (a step's or a tool's own JSON)."""
    effects: list[str]
    summary: str


@dataclass(frozen=True)
class Action:
    """One step a person approves.

    Attributes:
        name: The step, in snake_case (``create_item``, ``seed`` …); policies match on it.
        args: References, ids and plain values the step will use; never a ``Secret``.
        effects: The external side effects (``vault.create_item`` …); empty for a read.
        summary: One line for the person; not part of the digest.

    Raises:
        TypeError: A ``Secret`` or non-JSON value anywhere, or a field of the wrong type.
        ValueError: ``name`` is not snake_case.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    effects: tuple[str, ...] = ()
    summary: str = ""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(require_text(self.name, "an action's name")):
            raise ValueError("an action's name must be snake_case, like create_item")
        if not isinstance(self.args, Mapping):
            raise TypeError(f"{self.name}.args must be a mapping")
        if isinstance(self.effects, str) or not isinstance(self.effects, list | tuple):
            raise TypeError(f"{self.name}.effects must be a tuple of text")
        args = plain_json(self.args, f"{self.name}.args")
        object.__setattr__(self, "args", MappingProxyType(args))
        effects = tuple(require_text(e, f"{self.name}.effects") for e in self.effects)
        object.__setattr__(self, "effects", effects)
        require_text(self.summary, f"{self.name}.summary")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        # By digest: ``{"n": 1}`` and ``{"n": True}`` are equal dicts but other actions.
        return (self.digest, self.summary) == (other.digest, other.summary)

    def __hash__(self) -> int:
        return hash((self.digest, self.summary))

    @property
    def digest(self) -> str:
        """``sha256:`` and the hex digest of the canonical name, arguments and effects."""
        return sha256_digest({"name": self.name, "args": dict(self.args), "effects": self.effects})

    def to_payload(self) -> ActionPayload:
        """The action as plain JSON data (``from_payload`` reads it back)."""
        return {
            "name": self.name,
            "args": plain_json(self.args, self.name),
            "effects": list(self.effects),
            "summary": self.summary,
        }

    @classmethod
    def from_payload(cls, data: object) -> Action:
        """The action ``to_payload`` made, checked strictly.

        Raises:
            InvalidDecision: Not exactly that shape (a missing or unknown key, a wrong type).
        """
        if not isinstance(data, Mapping) or set(data) != _PAYLOAD_KEYS:
            raise InvalidDecision("an action needs exactly the keys name, args, effects, summary")
        effects = data["effects"]
        if not isinstance(effects, list | tuple) or not all(isinstance(e, str) for e in effects):
            raise InvalidDecision("an action's effects must be a list of text")
        try:
            return cls(data["name"], data["args"], tuple(effects), data["summary"])
        except (TypeError, ValueError) as error:
            raise InvalidDecision(f"not an action: {error}") from None

    def with_args(self, changes: Mapping[str, Any]) -> Action:
        """This action with some argument values changed (a person's edit).

        Only arguments that exist may change, and only to JSON scalars; the name and the
        effects stay. The result has another digest, so it must be approved again.

        Raises:
            EditRefused: The edit adds an argument, or sets a value that is not a scalar.
        """
        if not isinstance(changes, Mapping) or not all(isinstance(k, str) for k in changes):
            raise EditRefused(f"an edit of {self.name} maps argument names to values")
        added = sorted(set(changes) - set(self.args))
        if added:
            # Names shaped like argument names are shown; anything else only counted.
            shown = [k for k in added if _NAME.fullmatch(k) and len(k) <= 32]
            what = f" ({', '.join(shown)})" if len(shown) == len(added) else ""
            raise EditRefused(
                f"an edit of {self.name} may change argument values, not add arguments{what} "
                f"or effects; it takes: {', '.join(self.args)}"
            )
        if not all(is_scalar(v) for v in changes.values()):
            raise EditRefused(
                f"an edit of {self.name} may set text, numbers, true/false or null, nothing else"
            )
        return Action(self.name, {**self.args, **changes}, self.effects, self.summary)
