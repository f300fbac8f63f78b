"""What a gate shows a person: the action, names beside ids, the systems it touches, digest, expiry.

An interrupt's payload names items and vaults by id (what the effect will use, and what the
digest covers). A person recognises names, so the card puts the run's names beside the ids —
``op://ACL/Auth0 — admin@example.com/password (op://5wmy…/lhqi…/password)`` — from the run's
own state (its plan and the records of the steps done), never from a new vault call. Pure
functions: the terminal prompt prints the lines, the notebooks and a web page can too.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RunNames", "card_lines", "named", "names_of", "when"]

_ID_REF = re.compile(r"op://([a-z0-9]{26})/([a-z0-9]{26})/([^\s)]+)")
"""A reference by vault and item id (ids have no spaces; names may)."""


@dataclass(frozen=True)
class RunNames:
    """What a run's ids stand for, and the systems its plan names.

    Attributes:
        names: Vault id → vault name, item id → item title, user id → e-mail.
        vault: The vault, e.g. ``the local vault ACL``.
        idp: The IdP, e.g. ``https://acme.eu.auth0.com`` or the embedded dev IdP.
        store_note: Said after each store target (e.g. that an embedded emulator serves).
    """

    names: Mapping[str, str] = field(default_factory=dict)
    vault: str = "the vault"
    idp: str = "the IdP"
    store_note: str = ""

    @classmethod
    def of(cls, values: Mapping[str, Any], *, store_note: str = "") -> RunNames:
        """The names a run's state (``SetupState``) knows."""
        plan = values.get("plan") or {}
        names: dict[str, str] = {}
        item, user = values.get("item") or {}, values.get("user") or {}
        if item:
            names[item["vault_id"]] = plan["vault"]["name"]
            names[item["item_id"]] = plan["break_glass"]["item"]
        if user:
            names[user["user_id"]] = user["email"]
        backend = (plan.get("vault") or {}).get("backend", "local")
        kind = {"local": "the local vault", "op": "1Password (op) vault"}.get(
            backend, f"1Password ({backend}) vault"
        )
        vault = f"{kind} {(plan.get('vault') or {}).get('name', '')}".strip()
        domain = (plan.get("idp") or {}).get("domain")
        idp = domain or "the embedded dev IdP on 127.0.0.1 (its users in the data directory)"
        return cls(names=names, vault=vault, idp=idp, store_note=store_note)


def names_of(values: Mapping[str, Any]) -> RunNames:
    """What a run's ids stand for, from its state, and whether its stores are the emulator."""
    from vaultborn.stores.aws_config import aws_configured

    embedded = not aws_configured(os.environ, Path.home())
    return RunNames.of(values, store_note=" (the embedded AWS emulator)" if embedded else "")


def named(text: str, names: Mapping[str, str]) -> str:
    """``text`` by names first, ids after: a bare id, or each id-based reference in it."""
    if text in names:
        return f"{names[text]} ({text})"

    def by_names(match: re.Match[str]) -> str:
        vault, item, rest = match.groups()
        if vault not in names or item not in names:
            return match.group(0)
        return f"op://{names[vault]}/{names[item]}/{rest} (op://{vault[:4]}…/{item[:4]}…/{rest})"

    shown = _ID_REF.sub(by_names, text)
    for known, name in names.items():  # ids in a sentence (a summary): the name after each
        shown = shown.replace(known, f"{known} ({name})") if known in shown.split() else shown
    return shown


def when(moment: float, now: float) -> str:
    """A UNIX time on the local clock, and how far from ``now``: ``14:05:12 (in 59 min)``."""
    clock = time.strftime("%H:%M:%S", time.localtime(moment))
    minutes = round((moment - now) / 60)
    if minutes == 0:
        return f"{clock} (now)"
    return f"{clock} (in {minutes} min)" if minutes > 0 else f"{clock} ({-minutes} min ago)"


def _touches(action: Mapping[str, Any], run: RunNames) -> list[str]:
    """The systems an action's effects touch, one line each."""
    args = action.get("args", {})
    lines = []
    for effect in action.get("effects", ()):
        system = str(effect).partition(".")[0]
        if system == "vault":
            lines.append(f"{run.vault} ({effect})")
        elif system == "idp":
            page = args.get("signup_url") or args.get("enroll_url")
            lines.append(f"{page or run.idp} ({effect})")
        elif system == "store":
            lines.append(f"{args.get('to', 'a runtime store')}{run.store_note} ({effect})")
        else:
            lines.append(str(effect))
    if not lines:
        lines.append("nothing changes: it reads and checks only")
    return lines


def card_lines(waiting: Mapping[str, Any], run: RunNames, now: float) -> list[str]:
    """The lines a person reads before answering ``waiting`` (an interrupt's payload)."""
    kind = waiting.get("kind")
    run_id = waiting.get("run_id", "")
    if kind == "human_step":
        return [
            f"{run_id} needs a person at {waiting.get('url')}",
            f"  {waiting.get('instructions', '')}",
        ]
    lines: list[str] = []
    if kind == "vault_session":
        lines.append(f"{run_id} asks for the vault session")
        lines.append(f"  {waiting.get('summary', '')}")
        lines.append(f"  touches   {run.vault} (for the whole run)")
    else:
        action = waiting.get("action", {})
        lines.append(f"{run_id} asks to approve {action.get('name')}")
        lines.append(f"  {named(str(waiting.get('summary', '')), run.names)}")
        for number, system in enumerate(_touches(action, run)):
            lines.append(f"  {'touches' if number == 0 else '':<9} {system}")
        args = action.get("args", {})
        width = max((len(k) for k in args), default=0)
        for key, value in args.items():
            lines.append(f"  {key:<{width}}  {named(str(value), run.names)}")
    lines.append(f"  digest    {waiting.get('digest', '')}")
    expires = waiting.get("expires_at")
    if isinstance(expires, int | float):
        lines.append(f"  expires   {when(float(expires), now)}")
    return lines
