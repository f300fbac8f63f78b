"""What a setup says as it goes and when it is done: a line per effect, then a receipt.

Pure functions over a run's state updates and values (references, ids, versions and
outcomes, never a value): the CLI prints the lines (progress on stderr, the receipt on stdout).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vaultborn.gate_card import RunNames, named

__all__ = ["EFFECTS", "effect_finished", "effect_started", "receipt_lines"]

EFFECTS = ("create_item", "create_user", "enroll_totp", "seed", "verify")
"""The effect nodes of the setup graph (``nodes.steps.STEPS``), in order."""

_STARTING = {
    "create_item": "creating the break-glass item (its password generated in the vault)",
    "create_user": "creating the IdP user (the password read from the vault into memory)",
    "enroll_totp": "enrolling TOTP (the seed goes straight into the vault item)",
    "seed": "seeding the runtime store from the vault",
    "verify": "verifying: the agent's token, the protected API, a break-glass login drill",
}


_SOURCES = {
    "existing": "enrolled already",
    "vault": "the seed generated in the vault",
    "manual": "the seed captured from the page's manual-entry key",
    "uri": "the seed captured from the page's otpauth:// URI",
    "qr": "the seed captured from the page's QR code",
}
"""How the seed reached the vault, by the enrollment's ``source``."""


def effect_started(node: str) -> str | None:
    """The line for an effect that starts (None for a node that is not an effect)."""
    what = _STARTING.get(node)
    return None if what is None else f"{node}: {what} …"


def effect_finished(node: str, update: Mapping[str, Any], run: RunNames) -> str | None:
    """The line for an effect that finished, from its state update (None: not an effect)."""
    if node not in _STARTING:
        return None
    if update.get("human"):
        return f"{node}: a person must act at {update['human'].get('url')}"
    line = _record_line(node, update, run)
    return f"{node}: done — {line}" if line else f"{node}: done"


def _record_line(node: str, update: Mapping[str, Any], run: RunNames) -> str:
    if node == "create_item" and (item := update.get("item")):
        return _item(item, run)
    if node == "create_user" and (user := update.get("user")):
        return _user(user)
    if node == "enroll_totp" and (enrollment := update.get("enrollment")):
        return _enrollment(enrollment)
    if node == "seed" and (seeds := update.get("seeds")):
        receipt = list(seeds.values())[-1]  # the entry this move added (dicts keep order)
        return _seed(receipt)
    if node == "verify" and (verify := update.get("verify")):
        return _verify(verify)
    return ""


def _item(item: Mapping[str, Any], run: RunNames) -> str:
    how = "created" if item.get("created") else "found, kept"
    ref = named(str(item.get("password_ref", "")), run.names)
    return f"{ref}, version {item.get('version')} ({how})"


def _user(user: Mapping[str, Any]) -> str:
    how = "created" if user.get("created") else "existed"
    return f"{user.get('user_id')} ({user.get('email')}, {how})"


def _enrollment(enrollment: Mapping[str, Any]) -> str:
    source = _SOURCES.get(str(enrollment.get("source")), str(enrollment.get("source")))
    kept = enrollment.get("recovery_codes_kept")
    codes = f"; {kept} recovery codes kept in the item" if kept else ""
    return f"TOTP {enrollment.get('status')} ({enrollment.get('strategy')}, {source}){codes}"


def _seed(receipt: Mapping[str, Any]) -> str:
    return (
        f"{receipt.get('target')} version {receipt.get('version_id')} ({receipt.get('outcome')}, "
        f"from vault version {receipt.get('source_version')})"
    )


def _verify(verify: Mapping[str, Any]) -> str:
    parts = [f"token {verify.get('token_check')}"]
    if "api_status" in verify:
        parts.append(f"protected API {verify['api_status']}")
    parts.append(f"login drill {verify.get('login_drill')}")
    return ", ".join(parts)


def receipt_lines(values: Mapping[str, Any], run: RunNames) -> list[str]:
    """What a finished setup made and checked, one row each (empty when nothing is recorded)."""
    rows: list[tuple[str, str]] = []
    if item := values.get("item"):
        rows.append(("item", _item(item, run)))
    if user := values.get("user"):
        rows.append(("IdP user", f"{_user(user)} at {run.idp}"))
    if enrollment := values.get("enrollment"):
        rows.append(("enrollment", _enrollment(enrollment)))
    for receipt in (values.get("seeds") or {}).values():
        rows.append(("store", _seed(receipt)))
    if verify := values.get("verify"):
        rows.append(("verification", _verify(verify)))
    width = max((len(label) for label, _ in rows), default=0)
    return [f"  {label:<{width}}  {text}" for label, text in rows]
