"""``Policy``: the rules, and one-line errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaultborn.approvals.action import Action
from vaultborn.approvals.policy import Policy
from vaultborn.core.errors import UsageError

pytestmark = pytest.mark.robustness("approval integrity: policies and actions")

CREATE = Action("create_item", {"vault": "ACL"}, ("vault.create_item",))
SEED = Action("seed", {}, ("store.put",))
READ = Action("verify", {})
KNOWN = ("create_item", "create_user", "enroll_totp", "seed", "verify")


def test_rules() -> None:
    policy = Policy.from_toml(
        'default = "deny"\n[actions]\nseed = "allow"\nverify = "ask"\nvault_session = "allow"\n'
    )
    assert policy.rule_for(SEED) == "allow"
    assert policy.rule_for(CREATE) == "deny"  # the default, for side effects
    assert policy.rule_for(READ) == "ask"  # a rule names it
    assert policy.rule_for_session() == "allow"


def test_default_asks_for_every_effect_and_allows_reads() -> None:
    for policy in (Policy.default(), Policy.default_policy(), Policy.from_toml("")):
        assert policy.rule_for(CREATE) == "ask"
        assert policy.rule_for(SEED) == "ask"
        assert policy.rule_for(READ) == "allow"
        assert policy.rule_for_session() == "ask"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[actions]\nseed = "yes"', "policy: actions.seed: expected allow, ask or deny, got 'yes'"),
        ('default = "maybe"', "policy: default: expected allow, ask or deny, got 'maybe'"),
        ("default = 1", "policy: default: expected allow, ask or deny, got 1"),
        ('defualt = "ask"', "policy: unknown key defualt (did you mean default?)"),
        ('[actions]\nsead = "allow"', "policy: unknown key actions.sead (did you mean actions.se"),
        ('actions = "allow"', "policy: actions: expected a table of action = rule"),
        ('[actions]\n"Seed It" = "allow"', "policy: actions: an action name is snake_case"),
        ('[actions.seed]\nx = "allow"', "policy: actions.seed: expected allow, ask or deny, got {"),
        ("default = \n", "policy: not TOML: "),
    ],
)  # fmt: skip
def test_errors_are_one_line_and_name_the_key(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        Policy.from_toml(text, known=KNOWN)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_unknown_actions_pass_without_a_known_list() -> None:
    assert Policy.from_toml('[actions]\nrotate = "deny"').actions == {"rotate": "deny"}


def test_a_rule_in_code_is_checked_too() -> None:
    with pytest.raises(UsageError, match=r"actions\.seed: expected allow, ask or deny"):
        Policy(actions={"seed": "yes"})  # type: ignore[dict-item]


def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[actions]\nseed = "allow"\n', encoding="utf-8")
    assert Policy.from_file(path, known=KNOWN).rule_for(SEED) == "allow"
    path.write_text('[actions]\nseed = "no"\n', encoding="utf-8")
    with pytest.raises(UsageError, match=f"^{path}: actions.seed: "):
        Policy.from_file(path)
    with pytest.raises(UsageError, match="cannot read the policy"):
        Policy.from_file(tmp_path / "missing.toml")


def test_a_typo_in_an_action_name_gets_a_suggestion() -> None:
    with pytest.raises(UsageError) as caught:
        Policy.from_toml('[actions]\nsead = "deny"', known=KNOWN)
    assert str(caught.value) == "policy: unknown key actions.sead (did you mean actions.seed?)"
