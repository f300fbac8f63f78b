"""``Action``: what a gate asks a person to approve, and the digest the answer must carry.

Arguments are references and plain values only (a ``Secret`` is refused), so the action can
be shown, checkpointed and audited. The digest covers name, arguments and effects: an answer
for another action, or for this one with other arguments, does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from approvals.errors import EditRefused, InvalidDecision
from vault.secret import Secret

__all__ = ["Action", "canonical_json"]

_SCALARS = (str, int, float, bool, type(None))


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace: the form digests are taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any, where: str) -> Any:
    """``value`` checked to be JSON data with no ``Secret`` anywhere in it."""
    if isinstance(value, Secret):
        raise TypeError(f"{where}: an action carries references, never a secret value")
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    raise TypeError(f"{where}: {type(value).__name__} is not plain data")


@dataclass(frozen=True)
class Action:
    """One step a person approves.

    Attributes:
        name: The step (``create_item``, ``seed`` …); policies match on it.
        args: References, ids and plain values the step will use.
        effects: The external side effects (empty for a read-only step).
        summary: One line for the person.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    effects: tuple[str, ...] = ()
    summary: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", _plain(dict(self.args), f"{self.name}.args"))
        object.__setattr__(self, "effects", tuple(str(e) for e in self.effects))

    @property
    def digest(self) -> str:
        """``sha256:`` and the hex digest of the canonical name, arguments and effects."""
        body = canonical_json({"name": self.name, "args": self.args, "effects": self.effects})
        return "sha256:" + hashlib.sha256(body.encode()).hexdigest()

    def to_payload(self) -> dict[str, Any]:
        """The action as plain data."""
        return {
            "name": self.name,
            "args": dict(self.args),
            "effects": list(self.effects),
            "summary": self.summary,
        }

    @classmethod
    def from_payload(cls, data: object) -> Action:
        """The action ``to_payload`` made, checked strictly.

        Raises:
            InvalidDecision: Not that shape.
        """
        keys = {"name", "args", "effects", "summary"}
        if not isinstance(data, Mapping) or set(data) != keys:
            raise InvalidDecision(f"an action needs exactly the keys {sorted(keys)}")
        if not isinstance(data["name"], str) or not isinstance(data["args"], Mapping):
            raise InvalidDecision("an action's name must be text and its args an object")
        if not isinstance(data["effects"], list | tuple) or not isinstance(data["summary"], str):
            raise InvalidDecision("an action's effects must be a list and its summary text")
        return cls(data["name"], dict(data["args"]), tuple(data["effects"]), data["summary"])

    def with_args(self, changes: Mapping[str, Any]) -> Action:
        """This action with some argument values changed (a person's edit).

        Raises:
            EditRefused: An edit adds an argument or gives a non-scalar value.
        """
        added = sorted(set(changes) - set(self.args))
        if added:
            raise EditRefused(
                f"an edit of {self.name} may change argument values, not add arguments "
                f"({', '.join(added)})"
            )
        for key, value in changes.items():
            if isinstance(value, Secret) or not isinstance(value, _SCALARS):
                raise EditRefused(f"an edit of {self.name}.{key} must be a plain value")
        return Action(self.name, {**self.args, **changes}, self.effects, self.summary)
