"""``runs`` and ``approvals`` read the views that moving a run keeps, and only while current.

Each test compares what the kept views say with what LangGraph works out from the checkpoints
(``list_runs``), and proves a view was (or was not) kept by making LangGraph's way fail.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.rundb import state_db_of
from tests.scale.plans import demo_plan_text
from vaultborn.runner import view_cache
from vaultborn.runner.runs import StateDb, list_runs


def _plan(tmp_path: Path, number: int) -> str:
    """A plan of its own account (``agent-NN@example.com``), so runs do not share one."""
    path = tmp_path / f"agent-{number:02d}.toml"
    path.write_text(demo_plan_text(number))
    return str(path)


def _run_id(cli: Run, *args: str) -> str:
    result = cli(*args, "--json")
    assert result.code in (0, 3), result
    shown = json.loads(result.out)
    return str((shown[0] if isinstance(shown, list) else shown)["run_id"])  # --queue: a list


def _db(home: Path, key: bytes | None = None) -> StateDb:
    """The home's run database: sealed with its run keys, or with ``key``."""
    return state_db_of(home) if key is None else StateDb(f"sqlite:///{home / 'state.db'}", key)


def _worked_out(db: StateDb) -> list[dict[str, Any]]:
    with db.open() as saver:
        return [v.as_dict() for v in list_runs(saver)]


class Counted:
    """``view_run`` that counts its calls (or refuses them)."""

    def __init__(self, real: Any, *, refuse: bool = False) -> None:
        self.real, self.refuse, self.calls = real, refuse, 0

    def __call__(self, saver: Any, run_id: str) -> Any:
        self.calls += 1
        if self.refuse:
            raise AssertionError(f"{run_id} was worked out by LangGraph, not read from its view")
        return self.real(saver, run_id)


@pytest.fixture
def langgraph_view(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Swap ``runner.runs.view_run`` for a ``Counted`` one: ``langgraph_view(refuse=…)``."""
    import vaultborn.runner.runs

    real = vaultborn.runner.runs.view_run

    def swap(*, refuse: bool = False) -> Counted:
        counted = Counted(real, refuse=refuse)
        monkeypatch.setattr(vaultborn.runner.runs, "view_run", counted)
        return counted

    return swap


def _many_runs(cli: Run, tmp_path: Path) -> dict[str, str]:
    """Runs in each state a look can find: at the session, at a gate, rejected, queued."""
    session = _run_id(cli, "setup")
    gate = _run_id(cli, "setup", "--plan", _plan(tmp_path, 1))
    assert cli("approve", gate).code == 3
    rejected = _run_id(cli, "setup", "--plan", _plan(tmp_path, 2))
    assert cli("reject", rejected, "--reason", "not today").code == 1  # a rejected run ends as 1
    queued = _run_id(cli, "setup", "--plan", _plan(tmp_path, 3), "--queue")
    return {"session": session, "gate": gate, "rejected": rejected, "queued": queued}


def test_a_look_says_what_langgraph_says_without_it(
    cli: Run, home: Path, tmp_path: Path, langgraph_view: Any
) -> None:
    made = _many_runs(cli, tmp_path)
    expected = _worked_out(_db(home))
    langgraph_view(refuse=True)

    listed = json.loads(cli("runs", "--json").out)
    waiting = json.loads(cli("approvals", "--json").out)

    assert listed[: len(expected)] == expected
    assert [(v["run_id"], v["status"]) for v in listed[len(expected) :]] == [
        (made["queued"], "queued")
    ]
    statuses = {v["run_id"]: v["status"] for v in listed}
    assert statuses[made["rejected"]] == "rejected"
    assert {v["run_id"] for v in waiting} == {made["session"], made["gate"]}
    assert waiting == [v for v in expected if v["status"] == "waiting"]


def test_a_checkpoint_written_since_is_worked_out_again(
    cli: Run, home: Path, langgraph_view: Any
) -> None:
    from vaultborn.graphs.setup import build_graph

    run_id = _run_id(cli, "setup")
    with _db(home).open() as saver:
        build_graph(saver).update_state(
            {"configurable": {"thread_id": run_id}}, {"reason": "changed behind the cache"}
        )
    counted = langgraph_view()

    first = json.loads(cli("runs", "--json").out)
    again = json.loads(cli("runs", "--json").out)

    assert counted.calls == 1  # the first look worked it out and kept it; the second read it
    assert first[0]["reason"] == "changed behind the cache"
    assert first == again == _worked_out(_db(home))


def test_a_write_since_the_view_is_a_miss(cli: Run, home: Path, langgraph_view: Any) -> None:
    run_id = _run_id(cli, "setup")
    counted = langgraph_view()
    cli("runs")
    assert counted.calls == 0
    with sqlite3.connect(home / "state.db") as conn:
        # What an answer or an error adds at the same checkpoint (no new checkpoint row).
        conn.execute(
            "INSERT INTO writes SELECT thread_id, checkpoint_ns, checkpoint_id, 'a-task', '', 0,"
            " 'branch:x', 'null', x'' FROM checkpoints WHERE thread_id = ?"
            " ORDER BY checkpoint_id DESC LIMIT 1",
            (run_id,),
        )

    cli("runs")

    assert counted.calls == 1


def test_another_version_of_vaultborn_works_views_out_again(
    cli: Run, home: Path, langgraph_view: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_id(cli, "setup")
    counted = langgraph_view()
    monkeypatch.setattr(view_cache, "__version__", "0.0.0-other")

    cli("runs")

    assert counted.calls == 1


def _sealed_home(cli: Run, monkeypatch: pytest.MonkeyPatch) -> bytes:
    key = os.urandom(32)
    created = cli("item", "create", "--vault", "ACL", "--title", "State key", "--category",
                  "password", f"password={base64.b64encode(key).decode()}")  # fmt: skip
    assert created.code == 0, created
    monkeypatch.setenv("VAULTBORN_CHECKPOINT_KEY", "op://ACL/State key/password")
    return key


def test_sealed_views_hold_nothing_readable_and_open_only_where_kept(
    cli: Run, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, langgraph_view: Any
) -> None:
    key = _sealed_home(cli, monkeypatch)
    first = _run_id(cli, "setup", "--plan", _plan(tmp_path, 4))
    second = _run_id(cli, "setup", "--plan", _plan(tmp_path, 5))
    refused = langgraph_view(refuse=True)
    looked = cli("runs", "--json")
    assert looked.code == 0, looked
    assert [v["run_id"] for v in json.loads(looked.out)] == [second, first]
    assert refused.calls == 0
    with sqlite3.connect(home / "state.db") as conn:
        rows = dict(conn.execute("SELECT run_id, kind FROM run_views").fetchall())
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert rows == {first: "json+aesgcm", second: "json+aesgcm"}
    on_disk = b"".join(p.read_bytes() for p in home.glob("state.db*"))
    emails = (b"agent-04@example.com", b"agent-05@example.com")
    for plain in (*emails, b"create_item", b"vault_session"):
        assert plain not in on_disk

    with sqlite3.connect(home / "state.db") as conn:
        # Another run's sealed view, moved under this run's current head: it must not open.
        conn.execute(
            "UPDATE run_views SET view = (SELECT view FROM run_views WHERE run_id = ?)"
            " WHERE run_id = ?",
            (second, first),
        )
    counted = langgraph_view()

    listed = json.loads(cli("runs", "--json").out)
    calls = counted.calls

    assert calls == 1
    assert listed == _worked_out(_db(home, key))
    assert listed[1]["run_id"] == first


def test_a_look_at_a_missing_database_creates_nothing(cli: Run, home: Path) -> None:
    assert cli("runs").out.strip() == "no runs"
    assert cli("approvals").out.strip() == "nothing waits"
    assert not (home / "state.db").exists()
