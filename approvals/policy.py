"""The approval policy: per action, ``allow``, ``ask`` or ``deny`` — pure rules from TOML.

```toml
default = "ask"        # for actions with side effects
[actions]
seed = "allow"
create_user = "deny"
vault_session = "ask"  # the one approval of vault access for a run
```

Read-only actions (no effects) are allowed unless a rule names them; the vault session is
asked unless a rule names it. ``Policy.default()`` asks before every side effect.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from vaultborn.approvals.action import Action
from vaultborn.core.errors import UsageError

__all__ = ["SESSION", "Policy", "Rule"]

Rule = Literal["allow", "ask", "deny"]
_RULES = ("allow", "ask", "deny")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TOP = ("default", "actions")

SESSION = "vault_session"
"""The name a rule gives the vault-session approval."""


def _rule(value: object, key: str, source: str) -> Rule:
    if value not in _RULES:
        got = repr(value) if len(repr(value)) <= 40 else f"a {type(value).__name__}"
        raise UsageError(f"{source}: {key}: expected allow, ask or deny, got {got}")
    return value  # type: ignore[return-value]


def _unknown(key: str, choices: Collection[str], source: str) -> UsageError:
    close = difflib.get_close_matches(key, list(choices), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return UsageError(f"{source}: unknown key {key}{hint}")


@dataclass(frozen=True)
class Policy:
    """Rules by action name, and the rule for side effects no rule names.

    Attributes:
        default_rule: What to do with an action that has effects and no rule of its own.
        actions: Rules by action name (``vault_session`` for the vault session).

    Raises:
        UsageError: A rule is not allow, ask or deny.
    """

    default_rule: Rule = "ask"
    actions: Mapping[str, Rule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _rule(self.default_rule, "default", "policy")
        rules = {str(k): _rule(v, f"actions.{k}", "policy") for k, v in self.actions.items()}
        object.__setattr__(self, "actions", MappingProxyType(rules))

    @classmethod
    def default(cls) -> Policy:
        """Reads allowed, every side effect and the vault session asked."""
        return cls()

    @classmethod
    def default_policy(cls) -> Policy:
        """The same as ``default()`` (the name callers used first)."""
        return cls.default()

    @classmethod
    def from_toml(
        cls, text: str, source: str = "policy", *, known: Collection[str] | None = None
    ) -> Policy:
        """Parse a policy.

        Args:
            text: The TOML.
            source: How messages name it (the file's path).
            known: The action names there are; a rule for any other name is refused (with a
                "did you mean"), so a typo cannot silently fall back to the default.

        Raises:
            UsageError: Bad TOML, an unknown key or action, or a rule that is not allow, ask
                or deny. The message is one line and names the key.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise UsageError(f"{source}: not TOML: {' '.join(str(error).split())}") from None
        for key in data:
            if key not in _TOP:
                raise _unknown(key, _TOP, source)
        actions = data.get("actions", {})
        if not isinstance(actions, dict):
            raise UsageError(f"{source}: actions: expected a table of action = rule")
        rules: dict[str, Rule] = {}
        for name, value in actions.items():
            if not _NAME.fullmatch(name):
                raise UsageError(f"{source}: actions: an action name is snake_case, like seed")
            if known is not None and name not in known and name != SESSION:
                raise _unknown(f"actions.{name}", [f"actions.{k}" for k in known], source)
            rules[name] = _rule(value, f"actions.{name}", source)
        return cls(_rule(data.get("default", "ask"), "default", source), rules)

    @classmethod
    def from_file(cls, path: Path, *, known: Collection[str] | None = None) -> Policy:
        """Parse the policy file at ``path`` (see ``from_toml``).

        Raises:
            UsageError: It cannot be read or parsed.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            why = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise UsageError(f"cannot read the policy {path}: {why}") from None
        return cls.from_toml(text, str(path), known=known)

    def rule_for(self, action: Action) -> Rule:
        """What to do with ``action``: its own rule, else allow a read and ``default_rule``."""
        if action.name in self.actions:
            return self.actions[action.name]
        return self.default_rule if action.effects else "allow"

    def rule_for_session(self) -> Rule:
        """What to do with the vault session: its rule, else ask."""
        return self.actions.get(SESSION, "ask")
