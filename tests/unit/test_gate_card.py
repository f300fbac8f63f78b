"""What a gate, a progress line, a receipt and ``show`` say: names beside ids, no value, no repr."""

from __future__ import annotations

import time
from typing import Any

import pytest

from vaultborn.gate_card import RunNames, card_lines, named, when
from vaultborn.receipt import effect_finished, effect_started, receipt_lines
from vaultborn.show_view import local_time

VAULT_ID = "5wmyabcdefghijklmnopqrstuv"
ITEM_ID = "lhqiabcdefghijklmnopqrstuv"
REF = f"op://{VAULT_ID}/{ITEM_ID}/password"

VALUES: dict[str, Any] = {
    "plan": {
        "vault": {"backend": "local", "name": "ACL"},
        "idp": {"domain": "https://acme.eu.auth0.com/"},
        "break_glass": {"item": "Auth0 — admin@example.com"},
    },
    "item": {
        "vault_id": VAULT_ID,
        "item_id": ITEM_ID,
        "version": 2,
        "created": True,
        "password_ref": REF,
    },
    "user": {"user_id": "auth0|abc123", "email": "admin@example.com", "created": True},
    "enrollment": {"status": "confirmed", "strategy": "browser", "source": "manual"},
    "seeds": {
        "aws-secretsmanager://eu-west-1/app/key": {
            "target": "aws-secretsmanager://eu-west-1/app/key",
            "version_id": "v-1",
            "source": "op://ACL/Some API/password",
            "source_version": 3,
            "outcome": "created",
        }
    },
    "verify": {"token_check": "accepted", "api_status": 200, "login_drill": "success-screen"},
}
RUN = RunNames.of(VALUES)
NAMED = "op://ACL/Auth0 — admin@example.com/password (op://5wmy…/lhqi…/password)"


def test_a_reference_by_ids_shows_its_names_first() -> None:
    assert named(REF, RUN.names) == NAMED
    assert named(f"with the password {REF}", RUN.names) == f"with the password {NAMED}"
    assert named("Enroll TOTP for auth0|abc123 (browser)", RUN.names) == (
        "Enroll TOTP for auth0|abc123 (admin@example.com) (browser)"
    )
    assert named(VAULT_ID, RUN.names) == f"ACL ({VAULT_ID})"
    assert named("op://ACL/unknown/password", RUN.names) == "op://ACL/unknown/password"


def _approval(name: str, args: dict[str, Any], effects: list[str]) -> dict[str, Any]:
    return {
        "kind": "approval",
        "run_id": "run-1a2b3c4d5e6f",
        "digest": "sha256:" + "ab" * 32,
        "requested_at": 1000.0,
        "expires_at": 1000.0 + 3600,
        "summary": f"{name} with the password {args.get('password', '')}",
        "action": {"name": name, "args": args, "effects": effects, "summary": ""},
    }


def test_a_credential_gate_shows_run_digest_expiry_names_and_systems() -> None:
    waiting = _approval(
        "create_user",
        {"email": "admin@example.com", "connection": "DB", "password": REF},
        ["idp.create_user"],
    )
    lines = card_lines(waiting, RUN, now=1000.0)
    text = "\n".join(lines)
    assert lines[0] == "run-1a2b3c4d5e6f asks to approve create_user"
    assert f"password    {NAMED}" in text
    assert "touches   https://acme.eu.auth0.com/ (idp.create_user)" in text
    assert f"digest    sha256:{'ab' * 32}" in text
    assert "expires   " in text and "(in 60 min)" in text


def test_an_enrollment_gate_names_the_user_vault_item_and_both_systems() -> None:
    waiting = _approval(
        "enroll_totp",
        {"strategy": "browser", "user_id": "auth0|abc123", "vault": VAULT_ID, "item": ITEM_ID},
        ["idp.enroll_totp", "vault.set_otp"],
    )
    text = "\n".join(card_lines(waiting, RUN, now=1000.0))
    assert "user_id   admin@example.com (auth0|abc123)" in text
    assert f"item      Auth0 — admin@example.com ({ITEM_ID})" in text
    assert "https://acme.eu.auth0.com/ (idp.enroll_totp)" in text
    assert "the local vault ACL (vault.set_otp)" in text


def test_a_read_only_step_says_it_changes_nothing() -> None:
    text = "\n".join(card_lines(_approval("verify", {}, []), RUN, now=1000.0))
    assert "nothing changes" in text


@pytest.mark.parametrize(
    ("delta", "said"), [(3600, "(in 60 min)"), (10, "(now)"), (-600, "(10 min ago)")]
)
def test_when_is_the_local_clock_and_the_distance(delta: float, said: str) -> None:
    assert when(5000.0 + delta, 5000.0).endswith(said)
    assert when(5000.0 + delta, 5000.0).startswith(
        time.strftime("%H:%M", time.localtime(5000 + delta))
    )


def test_each_effect_says_it_starts_and_how_it_ended() -> None:
    assert effect_started("enroll_totp") == (
        "enroll_totp: enrolling TOTP (the seed goes straight into the vault item) …"
    )
    assert effect_started("gate_enroll_totp") is None
    assert effect_finished("create_item", {"item": VALUES["item"]}, RUN) == (
        f"create_item: done — {NAMED}, version 2 (created)"
    )
    seeds = {"seeds": VALUES["seeds"]}
    assert effect_finished("seed", seeds, RUN) == (
        "seed: done — aws-secretsmanager://eu-west-1/app/key version v-1 (created, from vault "
        "version 3)"
    )
    assert effect_finished("propose_seed", seeds, RUN) is None


def test_the_receipt_lists_item_user_enrollment_stores_and_verification() -> None:
    text = "\n".join(receipt_lines(VALUES, RUN))
    assert f"item          {NAMED}, version 2 (created)" in text
    assert "IdP user      auth0|abc123 (admin@example.com, created) at https://acme" in text
    assert "enrollment    TOTP confirmed (browser, the seed captured from the page's manual" in text
    assert "store         aws-secretsmanager://eu-west-1/app/key version v-1" in text
    assert "verification  token accepted, protected API 200, login drill success-screen" in text
    assert "{" not in text and "': " not in text  # no Python reprs


def test_show_prints_times_on_the_local_clock() -> None:
    assert local_time(0.0) == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(0))
    assert local_time("1970-01-01T00:00:00+00:00") == local_time(0.0)
    assert local_time(None) == "-"
