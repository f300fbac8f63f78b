"""Sealed by default, and an approval written into a checkpoint is not an approval.

Issue 18, item 3: a decision written into an unsealed checkpoint made ``create_user`` run with
no decision in the audit log. Now the run database's keys are born in the vault on the first
setup and seal every checkpoint; with sealing opted out, the effect still refuses an approval
that is not in the keyed audit chain. A database from before the keys keeps working, unsealed,
and ``doctor`` says so.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.rundb import audit_log_of, state_db_of
from tests.scale.plans import demo_plan_text
from vaultborn.runner import run_keys
from vaultborn.runner import state_db as state_db_module
from vaultborn.runner.run_keys import KEYS_TAG, KEYS_TITLE, KeysHome, make_keys, recorded_keys
from vaultborn.runner.state_db import StateDb
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.robustness("approval integrity: gate and audit chain")


def _json(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _at_create_user(cli: Run) -> tuple[str, dict[str, Any]]:
    """A run whose item is made, waiting for the approval of create_user."""
    first = cli("setup", "--json")
    assert first.code == 3, first
    run_id = _json(first.out)["run_id"]
    for expected in ("create_item", "create_user"):
        moved = cli("approve", run_id, "--json")
        assert moved.code == 3, moved
        waiting = _json(moved.out)["waiting"]
        assert waiting["action"]["name"] == expected
    return run_id, waiting


def _types(home: Path) -> set[str]:
    with sqlite3.connect(home / "state.db") as conn:
        rows = conn.execute("SELECT type FROM checkpoints UNION SELECT type FROM writes").fetchall()
    return {r[0] for r in rows if r[0] is not None}


def _forge_approval(db: StateDb, run_id: str, digest: str, *, plaintext: bool = False) -> None:
    """What the red team did: an approval of create_user written into the run's checkpoint.

    ``plaintext``: into a sealed database, written unsealed (by someone who knows the state
    but not the key: here the test reads it with the key, and writes without).
    """
    from vaultborn.graphs.setup import build_graph

    forged = {"digest": digest, "approver": "mallory", "at": time.time()}
    with _forger(db) if plaintext else db.open() as saver:
        graph = build_graph(saver)
        config = {"configurable": {"thread_id": run_id}}
        approvals = {**graph.get_state(config).values.get("approvals", {}), "create_user": forged}
        graph.update_state(
            config, {"approvals": approvals, "pending": {}}, as_node="gate_create_user"
        )


@contextmanager
def _forger(db: StateDb) -> Iterator[Any]:
    """A checkpointer that reads the sealed checkpoints and writes plaintext ones."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    from vaultborn.graphs.serde import SealedSerializer

    class Plaintext(SealedSerializer):
        def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
            return JsonPlusSerializer.dumps_typed(self, obj)

    assert db.key is not None
    conn = sqlite3.connect(db.url.path, check_same_thread=False)
    try:
        yield SqliteSaver(conn, serde=Plaintext(db.key))
    finally:
        conn.close()


def test_a_first_setup_seals_with_keys_born_in_the_vault(cli: Run, home: Path) -> None:
    first = cli("setup", "--json")
    assert first.code == 3, first

    record = recorded_keys(state_db_of(home).url)
    assert record is not None and record.backend == "local" and record.sealed
    vault = LocalVault(home)
    try:
        (item,) = vault.find_items("ACL", title=KEYS_TITLE)
        assert KEYS_TAG in item.tags and record.reference.endswith(f"/{item.id}/password")
        value = vault.read(record.reference).reveal()
    finally:
        vault.close()
    assert _types(home) and all(t.endswith("+aesgcm") for t in _types(home))
    assert value.encode() not in (home / "state.db").read_bytes()
    assert cli("runs", "--json").code == 0
    doctor = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)}
    assert doctor["checkpoints"]["status"] == "ok"
    assert doctor["checkpoints"]["detail"].startswith("sealed with the run keys op://")


def test_a_plaintext_checkpoint_forged_into_a_sealed_database_is_refused(
    cli: Run, home: Path
) -> None:
    run_id, waiting = _at_create_user(cli)
    _forge_approval(state_db_of(home), run_id, waiting["digest"], plaintext=True)
    assert any(not t.endswith("+aesgcm") for t in _types(home))

    resumed = cli("resume", run_id, "--json")

    assert resumed.code == 1
    assert "refusing a plaintext checkpoint blob" in resumed.err
    assert resumed.err.count("\n") == 1 and "Traceback" not in resumed.err


def test_an_approval_written_into_an_unsealed_checkpoint_does_not_run_the_effect(
    cli: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULTBORN_CHECKPOINT_KEY", "off")  # the explicit opt-out
    run_id, waiting = _at_create_user(cli)
    assert not any(t.endswith("+aesgcm") for t in _types(home))
    _forge_approval(state_db_of(home), run_id, waiting["digest"])

    resumed = cli("resume", run_id, "--json")

    assert resumed.code == 1, resumed
    assert "create_user: the approval in the run's state is not in the audit log" in resumed.err
    assert resumed.err.count("\n") <= 2 and "Traceback" not in resumed.err
    shown = _json(cli("show", run_id, "--json").out)
    assert "user" not in shown["state"]  # no IdP user was made
    refused = [e for e in shown["audit"] if e["kind"] == "refused"]
    assert refused[-1]["subject"] == "create_user"
    assert refused[-1]["detail"]["digest"] == waiting["digest"]
    audit = audit_log_of(home)
    try:
        assert audit.verify().ok
    finally:
        audit.close()


def test_a_decision_row_forged_beside_it_is_not_one_either(
    cli: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vaultborn.approvals.audit_chain import row_digest

    monkeypatch.setenv("VAULTBORN_CHECKPOINT_KEY", "off")
    run_id, waiting = _at_create_user(cli)
    _forge_approval(state_db_of(home), run_id, waiting["digest"])
    detail = json.dumps({"approver": "mallory", "decision": "approved",
                         "digest": waiting["digest"]}, separators=(",", ":"))  # fmt: skip
    with sqlite3.connect(home / "state.db") as conn:
        seq, last = conn.execute("SELECT max(seq), hash FROM audit_events").fetchone()
        forged = row_digest(None, last, seq + 1, run_id, 1.0, "decision", "create_user", detail)
        conn.execute(
            "INSERT INTO audit_events VALUES (?, ?, 1.0, 'decision', 'create_user', ?, ?, ?)",
            (seq + 1, run_id, detail, last, forged),
        )

    resumed = cli("resume", run_id, "--json")

    assert resumed.code == 1
    assert "is not in the audit log" in resumed.err
    assert "user" not in _json(cli("show", run_id, "--json").out)["state"]
    verified = cli("audit", "verify")
    assert verified.code == 1 and "it was forged" in verified.out


def test_a_database_from_before_the_keys_keeps_working_unsealed(
    cli: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before_keys:  # vaultborn as it was: no keys, nothing sealed
        before_keys.setattr(state_db_module, "recorded_keys", lambda url: None)
        before_keys.setattr(run_keys, "make_keys", lambda url, where, vault: None)
        first = cli("setup", "--json")
        assert first.code == 3, first
        old = _json(first.out)["run_id"]
        assert cli("approve", old).code == 3  # at create_item, approved before the keys
    assert recorded_keys(state_db_of(home).url) is None
    assert cli("runs").code == 0  # read unsealed, as it was written
    doctor = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)}
    assert doctor["checkpoints"]["detail"].startswith("unsealed: no run keys yet")

    plan = home.parent / "other.toml"
    plan.write_text(demo_plan_text(1))  # another account: the old run holds the demo's
    new = cli("setup", "--plan", str(plan), "--json")  # a new run: the database gets its keys
    assert new.code == 3, new
    record = recorded_keys(state_db_of(home).url)
    assert record is not None and not record.sealed  # it held unsealed checkpoints
    assert not any(t.endswith("+aesgcm") for t in _types(home))
    doctor = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)}
    assert doctor["checkpoints"]["status"] == "warn"
    assert "written before sealing was the default" in doctor["checkpoints"]["detail"]

    approved = cli("approve", old, "--json")  # create_item runs on the old, unkeyed approval
    assert approved.code == 3, approved
    assert _json(approved.out)["waiting"]["action"]["name"] == "create_user"
    verified = cli("audit", "verify")
    assert verified.code == 0, verified
    assert "were written before the log was keyed" in verified.out


def test_two_processes_making_keys_at_once_keep_one(home: Path) -> None:
    from vaultborn.graphs.checkpoint import prepare_database

    url = state_db_of(home).url
    prepare_database(url)
    vault = LocalVault(home)
    try:
        winner = make_keys(url, KeysHome("local", "ACL"), vault)
        real = recorded_keys
        calls: list[int] = []

        def late(url: Any) -> Any:  # the loser read "no keys" before the winner recorded them
            calls.append(1)
            return None if len(calls) == 1 else real(url)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(run_keys, "recorded_keys", late)
            kept = make_keys(url, KeysHome("local", "ACL"), vault)
        assert kept == winner
        items = vault.find_items("ACL", title=KEYS_TITLE)
        assert len(items) == 2
        assert sorted(KEYS_TAG in i.tags for i in items) == [False, True]
    finally:
        vault.close()
