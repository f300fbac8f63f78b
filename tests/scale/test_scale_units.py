"""The scale-out pieces one by one: database URLs, migrations, the run board, worker choices,
and the one-line errors of the new commands — on SQLite and PostgreSQL where it matters."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.pgserver import PgServer, fresh_database
from tests.scale.plans import demo_plan_text, write_demo_plans
from vaultborn.core.database import (
    DatabaseUrl,
    database_kind,
    database_url,
    libpq_url,
    shown,
    sqlalchemy_url,
)
from vaultborn.core.errors import ConfigurationError, UsageError
from vaultborn.graphs.checkpoint import DATABASE_ENV, open_checkpointer
from vaultborn.runner.board import RunBoard
from vaultborn.runner.fleet import FleetItem, FleetProgress
from vaultborn.runner.runs import RunView, StateDb
from vaultborn.runner.worker import Worker, WorkerConfig

pytestmark = pytest.mark.robustness("scale: database URLs, board, worker choices, CLI input")

_AT_LEAST_ONE = "Invalid value for '--concurrency': 0 is not in the range 1<=x<=256"
_AT_MOST_MAX = "Invalid value for '--concurrency': 100000 is not in the range 1<=x<=256"
_NEGATIVE = "Invalid value for '--concurrency': -3 is not in the range 1<=x<=256"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite:////tmp/x/state.db", "sqlite"),
        ("postgresql://u@h/db", "postgresql"),
        ("postgres://u@h/db", "postgresql"),
        ("postgresql+psycopg://u@h/db", "postgresql"),
    ],
)
def test_a_url_selects_its_engine(url: str, kind: str) -> None:
    assert database_kind(url) == kind


@pytest.mark.parametrize("url", ["mysql://h/db", "sqlite:///", "relative.db", "postgresql://"])
def test_other_urls_are_one_line_usage_errors(url: str) -> None:
    with pytest.raises(UsageError, match="unsupported database URL scheme"):
        database_kind(url)


def test_each_library_gets_its_spelling() -> None:
    assert libpq_url("postgres://u@h/db") == "postgresql://u@h/db"
    assert libpq_url("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("sqlite:////a.db") == "sqlite:////a.db"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://vaultborn:hunter2-canary@db.internal:5432/vb",
        "postgres://vaultborn:hunter2-canary@db.internal/vb?sslmode=require",
        "postgresql://db.internal/vb?user=vaultborn&password=hunter2-canary",
    ],
)
def test_a_password_in_a_url_is_never_shown(url: str) -> None:
    assert "hunter2-canary" not in shown(url)
    assert "db.internal" in shown(url)
    parsed = DatabaseUrl.parse(url)  # the value prints as its shown form, however it is printed
    for text in (str(parsed), repr(parsed), f"{parsed}", repr(StateDb(url, b"k" * 32))):
        assert "hunter2-canary" not in text and "db.internal" in text
    assert "hunter2-canary" in parsed.text and "hunter2-canary" in parsed.libpq


def test_a_url_is_checked_once_and_spelt_for_each_library(tmp_path: Path) -> None:
    pg = DatabaseUrl.parse("postgres://u@h/db")
    assert (pg.kind, pg.libpq, pg.sqlalchemy) == (
        "postgresql", "postgresql://u@h/db", "postgresql+psycopg://u@h/db",
    )  # fmt: skip
    assert DatabaseUrl.parse(pg) is pg  # a checked URL is not checked again
    lite = database_url(tmp_path)
    assert (lite.kind, lite.path) == ("sqlite", tmp_path / "state.db")
    assert StateDb(lite).url is lite and StateDb(lite.text).url == lite
    with pytest.raises(UsageError, match="is not a SQLite file"):
        _ = pg.path
    with pytest.raises(UsageError, match="unsupported database URL scheme 'mysql'"):
        DatabaseUrl.parse("mysql://u:hunter2-canary@h/db")


def test_an_unmigrated_postgres_database_says_what_to_run(pg_server: PgServer) -> None:
    url = fresh_database(pg_server)
    with pytest.raises(ConfigurationError, match="run: vaultborn db migrate") as caught:
        open_checkpointer(url).__enter__()
    assert "\n" not in str(caught.value)


def test_an_unreachable_database_is_one_line_without_its_password(cli: Run) -> None:
    result = cli("runs", "--db", "postgresql://vb:hunter2-canary@127.0.0.1:1/vb")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "cannot use the state database postgresql://vb:***@127.0.0.1:1/vb" in result.err
    assert "hunter2-canary" not in result.err + result.out


def test_migrate_is_idempotent_and_says_what_it_set_up(cli: Run, run_database: str) -> None:
    first = cli("db", "migrate", "--json")
    again = cli("db", "migrate", "--json")
    assert first.code == again.code == 0, first.err
    assert json.loads(first.out)["migrated"] == json.loads(again.out)["migrated"] == [
        "checkpoints", "audit log", "run leases", "run board", "TOTP steps used",
    ]  # fmt: skip
    assert cli("runs", "--json").code == 0


def _board_url(home: Path) -> str:
    home.mkdir(parents=True, exist_ok=True)
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{home / 'state.db'}"


def test_queued_runs_are_listed_and_a_newer_answer_replaces_an_older(
    cli: Run, home: Path, tmp_path: Path, run_database: str
) -> None:
    write_demo_plans(tmp_path / "plans", 2)
    queued = cli("setup", "--plan-dir", str(tmp_path / "plans"), "--queue", "--json")
    assert queued.code == 0, queued.err
    ids = [q["run_id"] for q in json.loads(queued.out)]
    listed = json.loads(cli("runs", "--json").out)
    assert sorted((r["run_id"], r["status"]) for r in listed) == sorted((i, "queued") for i in ids)

    with RunBoard(_board_url(home)) as board:
        board.queue_answer("run-x", "interrupt-1", {"decision": "approve"})
        board.queue_answer("run-x", "interrupt-1", {"decision": "reject", "reason": "no"})
        (only,) = board.queued("run-x")
        assert only.payload == {"decision": "reject", "reason": "no"}
        assert sorted(board.active()) == []  # queued runs are not "left moving"


def test_marking_a_run_says_where_it_stood(home: Path) -> None:
    """``advance`` learns a run's last status from the write that marks it running."""
    with RunBoard(_board_url(home)) as board:
        assert board.mark("run-1", "running") is None  # not on the board yet
        assert board.mark("run-1", "done") == "running"
        assert board.mark("run-1", "running") == "done"
        assert board.status("run-1") == "running"


def test_a_worker_gives_an_answer_only_to_the_interrupt_it_was_queued_for(home: Path) -> None:
    url = _board_url(home)
    lines: list[str] = []
    worker = Worker(StateDb(url), None, WorkerConfig(), log=lines.append)  # type: ignore[arg-type]
    with RunBoard(url) as board:
        board.queue_answer("run-1", "gate-a", {"decision": "approve"})
        (queued,) = board.queued("run-1")
        still = RunView("run-1", "waiting", interrupt_id="gate-a")
        assert worker._work("run-1", queued, still, board) == (None, {"decision": "approve"})

        moved_on = RunView("run-1", "waiting", interrupt_id="gate-b")
        assert worker._work("run-1", queued, moved_on, board) == (None, None)
        assert board.queued("run-1") == []
        assert worker.report.dropped_answers == 1
        assert "dropped a queued answer" in lines[-1]


def test_a_queued_start_of_a_run_that_already_started_becomes_a_resume(home: Path) -> None:
    url = _board_url(home)
    worker = Worker(StateDb(url), None, WorkerConfig(), log=[].append)  # type: ignore[arg-type]
    with RunBoard(url) as board:
        board.queue_start("run-1", {"run_id": "run-1"})
        (queued,) = board.queued("run-1")
        assert worker._work("run-1", queued, None, board) == ({"run_id": "run-1"}, None)
        started = RunView("run-1", "failed")
        assert worker._work("run-1", queued, started, board) == (None, None)
        assert board.queued("run-1") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan-dir", "/nonexistent/plans"], "--plan-dir /nonexistent/plans: not a directory"),
        (["--plan-dir", "EMPTY"], "no *.toml plans in it"),
        (["--plan-dir", "TWINS"], "both set up agent-01@example.com: one run per account"),
        (["--run", "run-1", "--plan-dir", "PLANS"], "--run continues one run"),
        (["--plan-dir", "PLANS", "--concurrency", "0"], _AT_LEAST_ONE),
        (["--plan-dir", "PLANS", "--queue", "--concurrency", "0"], _AT_LEAST_ONE),
        (["--plan", "PLANS/agent-01.toml", "--concurrency", "-3"], _NEGATIVE),
        (["--plan-dir", "PLANS", "--concurrency", "100000"], _AT_MOST_MAX),
    ],
)
def test_setup_of_several_plans_refuses_bad_input_in_one_line(
    cli: Run, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "EMPTY").mkdir()
    write_demo_plans(tmp_path / "PLANS", 2)
    twins = tmp_path / "TWINS"
    twins.mkdir()
    for name in ("a.toml", "b.toml"):
        (twins / name).write_text(demo_plan_text(1), encoding="utf-8")
    folders = ("EMPTY", "TWINS", "PLANS")
    named = [str(tmp_path / a) if a.split("/")[0] in folders else a for a in args]
    result = cli("setup", "--auto-approve", *named)
    assert result.code == 2, result.err
    assert message in result.err
    assert result.err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0"], _AT_LEAST_ONE),
        (["--concurrency", "100000"], _AT_MOST_MAX),
        (["--lease-seconds", "1"], "--lease-seconds must be between 3 and 86400"),
        (["--lease-seconds", "inf"], "--lease-seconds must be between 3 and 86400"),
        (["--lease-seconds", "nan"], "--lease-seconds must be between 3 and 86400"),
        (["--lease-seconds", "86401"], "--lease-seconds must be between 3 and 86400"),
        (["--poll", "0"], "--poll must be between 0 and 3600"),
    ],
)
def test_worker_refuses_bad_options_in_one_line(cli: Run, args: list[str], message: str) -> None:
    result = cli("worker", "--exit-when-idle", *args)
    assert result.code == 2
    assert message in result.err
    assert result.err.count("\n") == 1


def test_an_idle_worker_stops_when_asked_to(cli: Run, run_database: str) -> None:
    result = cli("worker", "--exit-when-idle", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "moved": 0, "statuses": {}, "skipped_busy": 0, "dropped_answers": 0, "scheduled": 0,
    }  # fmt: skip


def test_sealed_checkpoints_on_postgres_seal_every_blob(pg_server: PgServer) -> None:
    import asyncio
    import secrets
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    from tests.rundb import postgres_rows
    from vaultborn.graphs.checkpoint import open_async_checkpointer
    from vaultborn.graphs.serde import CheckpointTampered
    from vaultborn.runner.migrate import migrate

    class State(TypedDict):
        status: str
        info: dict[str, str]

    graph: StateGraph[State] = StateGraph(State)
    graph.add_node("a", lambda s: {"status": "status-canary", "info": {"k": "blob-canary"}})
    graph.add_edge(START, "a")
    graph.add_edge("a", END)
    url, key, config = (
        fresh_database(pg_server),
        secrets.token_bytes(32),
        {"configurable": {"thread_id": "t"}},
    )
    migrate(url)

    async def run() -> None:
        async with open_async_checkpointer(url, key=key) as saver:
            await graph.compile(checkpointer=saver).ainvoke(
                {"status": "", "info": {}}, config, durability="sync"
            )

    asyncio.run(run())
    with open_checkpointer(url, key=key) as saver:
        assert graph.compile(checkpointer=saver).get_state(config).values["info"] == {
            "k": "blob-canary"
        }
    rows = postgres_rows(url)
    assert b"blob-canary" not in rows  # sealed
    assert b"status-canary" in rows  # PostgresSaver's inline text, as the README says
    with pytest.raises(CheckpointTampered), open_checkpointer(url) as saver:
        graph.compile(checkpointer=saver).get_state(config)


@pytest.mark.parametrize("value", ["abc", "0", "100000"])
def test_a_bad_pool_size_is_a_one_line_usage_error(
    cli: Run, postgres_database: str, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("VAULTBORN_DB_POOL_SIZE", value)
    result = cli("worker", "--exit-when-idle")
    assert result.code == 2
    assert "VAULTBORN_DB_POOL_SIZE must be a number of connections (1-1000)" in result.err
    assert result.err.count("\n") == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _progress_of(stream: io.StringIO) -> FleetProgress:
    items = [FleetItem("run-a", "plans/a.toml", {}), FleetItem("run-b", "plans/b.toml", {})]
    progress = FleetProgress(stream=stream)
    progress.start(items)
    progress.moving("run-a")
    progress.step("run-a", "gate_create_item")  # not an effect: no line of its own
    progress.step("run-a", "create_item")
    progress.ended("run-a", "waiting")
    progress.stop()
    return progress


def test_progress_without_a_terminal_is_a_line_per_effect_and_per_stop() -> None:
    stream = io.StringIO()
    _progress_of(stream)
    assert stream.getvalue().splitlines() == [
        "vaultborn: run-a (plans/a.toml): create_item done",
        "vaultborn: run-a (plans/a.toml): waiting",
    ]


def test_progress_in_a_terminal_is_a_table_of_every_run() -> None:
    stream = _Terminal()
    _progress_of(stream)
    shown_text = stream.getvalue()
    for expected in ("run-a", "plans/a.toml", "waiting", "create_item (2)", "run-b", "queued"):
        assert expected in shown_text
