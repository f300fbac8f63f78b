"""Telling people that a run waits, or found drift: a JSON message to a webhook, in Slack's shape.

The webhook is ``$VAULTBORN_NOTIFY_WEBHOOK`` (its URL, or the ``op://`` reference of it), else
the plan's ``[notify] webhook`` (a reference: a Slack webhook's URL is a credential, and the
plan is kept in the checkpoints). When a move of a run ends waiting, the message says which
run waits, for what (the action's one-line summary, its short digest) and where to answer (the
serving inbox's address, without its token, or the CLI's command); never a value.

A drift run that ends drifted says which credentials drifted (their names, never a value) and
which run to look at.

Notifying never stops a run: any failure (no such reference, a refused or unreachable webhook)
is one line on stderr, without the URL, and the run goes on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from vaultborn.core.errors import VaultbornError
from vaultborn.runner.inbox_link import serving_inbox
from vaultborn.runner.run_view import RunView
from vaultborn.vault.protocol import Vault
from vaultborn.vault.reference import SCHEME

__all__ = [
    "WEBHOOK_ENV",
    "drift_message",
    "notify_drift",
    "notify_waiting",
    "waiting_message",
    "webhook_of",
]

WEBHOOK_ENV = "VAULTBORN_NOTIFY_WEBHOOK"
_TIMEOUT = 5.0

Post = Callable[..., Any]
"""``httpx.post``'s shape (replaceable in tests)."""


def waiting_message(view: RunView, inbox: str | None) -> dict[str, Any]:
    """The message for a run that waits: Slack's ``text`` and a ``blocks`` section of it."""
    waiting = view.waiting or {}
    kind = waiting.get("kind")
    if kind == "human_step":
        what = f"a person at {waiting.get('url', '')}: {waiting.get('instructions', '')}"
    elif kind == "vault_session":
        plan = waiting.get("plan")
        what = "its vault session" + (
            f" and its plan of {len(plan['actions'])} actions" if plan else ""
        )
    else:
        action = waiting.get("action", {})
        what = f"approval of {action.get('name', '')}: {action.get('summary', '')}"
    digest = str((waiting.get("plan") or waiting).get("digest", ""))
    short = f" (digest {digest[:19]}…)" if digest else ""
    where = f"Answer in the inbox: {inbox}runs/{view.run_id}" if inbox else (
        f"Answer with: vaultborn approve {view.run_id} (or reject, edit)"
    )  # fmt: skip
    text = f"vaultborn: run {view.run_id} waits for {what}{short}. {where}"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def drift_message(view: RunView) -> dict[str, Any]:
    """The message for a drift run that found drift: which credentials, and the run to look at."""
    report = view.values.get("drift") or {}
    drifted = [
        str(c.get("credential", ""))
        for c in report.get("checks", [])
        if c.get("status") == "drifted"
    ]
    text = (
        f"vaultborn: drift run {view.run_id} found drift: {', '.join(drifted) or 'see the run'}. "
        f"Look with: vaultborn show {view.run_id}"
    )
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def webhook_of(
    plan: Mapping[str, Any] | None, vault: Vault, env: Mapping[str, str] = os.environ
) -> str | None:
    """The webhook's URL (read from the vault when given by reference), or None for none."""
    given = env.get(WEBHOOK_ENV) or ((plan or {}).get("notify") or {}).get("webhook")
    if not given:
        return None
    if given.startswith(SCHEME):
        return vault.read(given).reveal()
    return str(given)


class _Refused(Exception):
    """The webhook cannot be used, or did not take the message (said without its URL)."""


def notify_waiting(
    view: RunView,
    vault: Vault,
    *,
    home: Path | None = None,
    env: Mapping[str, str] = os.environ,
    post: Post = httpx.post,
) -> bool:
    """Post the waiting message of ``view`` to the webhook, if there is one; whether it went.

    Args:
        view: The run, as its move left it.
        vault: Reads the webhook's reference.
        home: Where a serving inbox is recorded (default ``$VAULTBORN_HOME``).
        env: Where ``$VAULTBORN_NOTIFY_WEBHOOK`` is read.
        post: Sends the message.

    Never raises: a failure is one line on stderr (the URL left out) and the run goes on.
    """
    if view.status != "waiting" or not view.waiting:
        return False
    return _send(view, vault, lambda home: waiting_message(view, serving_inbox(home)), home=home,
                 env=env, post=post)  # fmt: skip


def notify_drift(
    view: RunView,
    vault: Vault,
    *,
    home: Path | None = None,
    env: Mapping[str, str] = os.environ,
    post: Post = httpx.post,
) -> bool:
    """Post the drift message of ``view`` to the webhook, if there is one; whether it went.

    Never raises, as ``notify_waiting``.
    """
    return _send(view, vault, lambda _: drift_message(view), home=home, env=env, post=post)


def _send(
    view: RunView,
    vault: Vault,
    message: Callable[[Path], dict[str, Any]],
    *,
    home: Path | None,
    env: Mapping[str, str],
    post: Post,
) -> bool:
    try:
        url = webhook_of(view.values.get("plan"), vault, env)
        if url is None:
            return False
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise _Refused("the webhook must be an https URL (or http on loopback)")
        home = home or Path(env.get("VAULTBORN_HOME") or Path.home() / ".vaultborn")
        response = post(url, json=message(home), timeout=_TIMEOUT, follow_redirects=False)
        if not 200 <= response.status_code < 300:
            raise _Refused(f"the webhook answered {response.status_code}")
    except Exception as error:  # notifying never stops a run; a message may hold the URL
        why = str(error) if isinstance(error, _Refused | VaultbornError) else type(error).__name__
        sys.stderr.write(f"vaultborn: could not notify the webhook ({why}); the run goes on\n")
        return False
    return True
