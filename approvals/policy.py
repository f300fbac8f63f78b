"""The approval policy: per action, ``allow``, ``ask`` or ``deny`` — pure rules from TOML.

```toml
default = "ask"        # for actions with side effects
[actions]
seed = "allow"
create_user = "deny"
```

Read-only actions (no effects) are allowed once the vault session is approved, unless a rule
names them. The default asks before every side effect.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from approvals.action import Action
from vaultborn.errors import UsageError

__all__ = ["Policy", "Rule"]

Rule = Literal["allow", "ask", "deny"]
_RULES = ("allow", "ask", "deny")


def _rule(value: object, key: str) -> Rule:
    if value not in _RULES:
        raise UsageError(f"policy: {key}: expected allow, ask or deny, got {value!r}")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Policy:
    """Rules by action name, and the default for side effects."""

    default: Rule = "ask"
    actions: Mapping[str, Rule] = field(default_factory=dict)

    @classmethod
    def default_policy(cls) -> Policy:
        """Reads allowed, every side effect asked."""
        return cls()

    @classmethod
    def from_toml(cls, text: str, source: str = "policy") -> Policy:
        """Parse a policy.

        Raises:
            UsageError: Bad TOML, an unknown key, or a rule that is not allow/ask/deny.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise UsageError(f"{source}: {error}") from None
        unknown = sorted(set(data) - {"default", "actions"})
        if unknown:
            close = difflib.get_close_matches(unknown[0], ["default", "actions"], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(f"{source}: unknown key {unknown[0]}{hint}")
        actions = data.get("actions", {})
        if not isinstance(actions, dict):
            raise UsageError(f"{source}: actions: expected a table of action = rule")
        return cls(
            default=_rule(data.get("default", "ask"), "default"),
            actions={str(k): _rule(v, f"actions.{k}") for k, v in actions.items()},
        )

    @classmethod
    def from_file(cls, path: Path) -> Policy:
        """Parse the policy file at ``path``.

        Raises:
            UsageError: It cannot be read or parsed.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot read the policy {path}: {error.strerror}") from None
        return cls.from_toml(text, str(path))

    def rule_for(self, action: Action) -> Rule:
        """What to do with ``action``: its own rule, else allow reads and ``default`` effects."""
        if action.name in self.actions:
            return self.actions[action.name]
        return self.default if action.effects else "allow"
