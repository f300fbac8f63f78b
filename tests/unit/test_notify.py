"""Notifications of a waiting run: Slack's shape, no values, and never a stopped run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from vaultborn.core.errors import UsageError
from vaultborn.runner.host_runs import waiting_text
from vaultborn.runner.inbox_link import clear_link, serving_inbox, write_link
from vaultborn.runner.notify import (
    WEBHOOK_ENV,
    notify_drift,
    notify_waiting,
    waiting_message,
    webhook_of,
)
from vaultborn.runner.plan import parse_plan
from vaultborn.runner.run_view import RunView
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("fault: a webhook that fails")

HOOK = "https://hooks.slack.example/services/T000/B000/canary-webhook-secret"
TARGET = "aws-secretsmanager://us-east-1/x"
SEED = {"kind": "approval", "digest": "sha256:" + "ab" * 32,
        "action": {"name": "seed", "summary": f"Seed {TARGET} from op://ACL/k/password",
                   "args": {"to": TARGET}, "effects": ["store.put"]}}  # fmt: skip
PLAN_WITH_HOOK = {"notify": {"webhook": "op://ACL/Slack/url"}}


class FakeVault:
    """Reads one reference, counting reads."""

    def __init__(self, value: str = HOOK) -> None:
        self.value = value
        self.reads: list[str] = []

    def read(self, ref: str) -> Secret:
        self.reads.append(ref)
        return Secret(self.value, label="webhook")


def _view(waiting: dict[str, Any] = SEED, plan: dict[str, Any] | None = None) -> RunView:
    return RunView("run-n", "waiting", waiting=waiting, values={"plan": plan or {}})


class Posts:
    """Records posts; answers ``status`` or raises ``error``."""

    def __init__(self, status: int = 200, error: Exception | None = None) -> None:
        self.status, self.error = status, error
        self.sent: list[tuple[str, Any]] = []

    def __call__(self, url: str, **kwargs: Any) -> httpx.Response:
        self.sent.append((url, kwargs["json"]))
        if self.error is not None:
            raise self.error
        return httpx.Response(self.status)


def test_the_message_is_slacks_shape_and_names_the_run_and_the_inbox() -> None:
    message = waiting_message(_view(), "http://127.0.0.1:4000/")
    assert set(message) == {"text", "blocks"} and isinstance(message["text"], str)
    assert message["blocks"][0]["text"] == {"type": "mrkdwn", "text": message["text"]}
    assert "run run-n waits for approval of seed" in message["text"]
    assert "http://127.0.0.1:4000/runs/run-n" in message["text"]
    assert "vaultborn approve run-n" in waiting_message(_view(), None)["text"]
    plan = {"kind": "vault_session", "digest": "sha256:s", "plan": {"digest": "sha256:p",
            "actions": [{}, {}]}}  # fmt: skip
    assert (
        "and its plan of 2 actions (digest sha256:p" in waiting_message(_view(plan), None)["text"]
    )


def test_the_webhook_comes_from_the_environment_or_the_plans_reference() -> None:
    vault = FakeVault()
    assert webhook_of({}, vault, {}) is None  # type: ignore[arg-type]
    assert webhook_of({}, vault, {WEBHOOK_ENV: "http://127.0.0.1:9/h"}) == "http://127.0.0.1:9/h"  # type: ignore[arg-type]
    assert webhook_of(PLAN_WITH_HOOK, vault, {}) == HOOK  # type: ignore[arg-type]
    assert vault.reads == ["op://ACL/Slack/url"]


def test_a_waiting_run_is_notified_once_per_move(tmp_path: Path) -> None:
    posts = Posts()
    sent = notify_waiting(_view(plan=PLAN_WITH_HOOK), FakeVault(), home=tmp_path, env={},  # type: ignore[arg-type]
                          post=posts)  # fmt: skip
    assert sent and [url for url, _ in posts.sent] == [HOOK]
    assert HOOK not in json.dumps(posts.sent[0][1])
    done = RunView("run-n", "done", values={"plan": PLAN_WITH_HOOK})
    assert not notify_waiting(done, FakeVault(), home=tmp_path, env={}, post=posts)  # type: ignore[arg-type]
    assert len(posts.sent) == 1


@pytest.mark.parametrize(
    ("posts", "vault_value", "why"),
    [
        (Posts(error=httpx.ConnectError("cannot reach " + HOOK)), HOOK, "(ConnectError)"),
        (Posts(status=404), HOOK, "(the webhook answered 404)"),
        (Posts(), "ftp://canary-webhook-secret/", "must be an https URL"),
    ],
)
def test_a_failing_webhook_never_stops_the_run_nor_shows_its_url(
    posts: Posts, vault_value: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = notify_waiting(_view(plan=PLAN_WITH_HOOK), FakeVault(vault_value), home=tmp_path,  # type: ignore[arg-type]
                          env={}, post=posts)  # fmt: skip
    err = capsys.readouterr().err
    assert not sent and why in err and err.count("\n") == 1
    assert "canary-webhook-secret" not in err


def test_a_plan_names_its_webhook_by_reference_only() -> None:
    base = ('[idp]\nmanagement_client_id = "m"\nmanagement_secret = "op://ACL/M/password"\n'
            '[break_glass]\nemail = "a@example.com"\nitem = "A"\n[agent]\nclient_id = "a"\n'
            'secret = "op://ACL/A/password"\n')  # fmt: skip
    plan = parse_plan(base + '[notify]\nwebhook = "op://ACL/Slack/url"\n', "p")
    assert plan.to_dict()["notify"] == {"webhook": "op://ACL/Slack/url"}
    assert "notify" not in parse_plan(base, "p").to_dict()  # other plans keep their digest
    with pytest.raises(UsageError, match=r"notify\.webhook") as refused:
        parse_plan(base + f'[notify]\nwebhook = "{HOOK}"\n', "p")
    assert "canary-webhook-secret" not in str(refused.value)


def test_messages_point_at_a_serving_inbox_only_while_it_lives(tmp_path: Path) -> None:
    view = _view()
    assert serving_inbox(tmp_path) is None
    write_link(tmp_path, "http://127.0.0.1:4000/")
    assert serving_inbox(tmp_path) == "http://127.0.0.1:4000/"
    text = waiting_text(view, serving_inbox(tmp_path))
    assert "approval inbox at http://127.0.0.1:4000/runs/run-n" in text
    clear_link(tmp_path)
    assert serving_inbox(tmp_path) is None
    # A record left by a process that has died is no inbox.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (tmp_path / "inbox.json").write_text(
        json.dumps({"url": "http://127.0.0.1:4000/", "pid": int(dead.stdout)})
    )
    assert serving_inbox(tmp_path) is None
    assert "vaultborn approve run-n" in waiting_text(view, serving_inbox(tmp_path))


def test_a_drift_found_names_the_drifted_credentials_and_the_run_only(tmp_path: Path) -> None:
    checks = [
        {"credential": "break-glass item", "status": "in-sync", "detail": "v3"},
        {"credential": TARGET, "status": "drifted", "detail": "not the vault's version"},
        {"credential": "IdP TOTP", "status": "unknown", "detail": "no Management API"},
    ]
    values = {"plan": PLAN_WITH_HOOK, "lifecycle": "drift",
              "drift": {"in_sync": False, "drifted": 1, "checks": checks}}  # fmt: skip
    posts, vault = Posts(), FakeVault()
    view = RunView("run-d", "done", values=values)
    assert notify_drift(view, vault, home=tmp_path, env={}, post=posts)
    ((url, message),) = posts.sent
    assert url == HOOK and vault.reads == ["op://ACL/Slack/url"]
    assert message["text"] == (
        f"vaultborn: drift run run-d found drift: {TARGET}. Look with: vaultborn show run-d"
    )
    assert HOOK not in json.dumps(message)
    assert not notify_drift(view, vault, home=tmp_path, env={}, post=Posts(500))  # never raises
