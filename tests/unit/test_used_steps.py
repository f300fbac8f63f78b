"""The TOTP steps used, shared through the run database between processes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vaultborn.browser.totp_steps import StepLedger
from vaultborn.runner.used_steps import KEPT_STEPS, SharedStepLedger, create_used_steps_table

KEY = "vault:ACL/Auth0 — admin@example.com"


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_steps_marked_by_one_process_are_known_to_another(tmp_path: Path) -> None:
    setup = SharedStepLedger(StepLedger(), _url(tmp_path))
    setup.mark(KEY, 100)
    setup.mark(KEY, 101)
    setup.mark("vault:ACL/another", 7)
    setup.close()

    later = SharedStepLedger(StepLedger(), _url(tmp_path))  # a fresh process's memory
    try:
        assert later.used(KEY) == {100, 101}
        assert later.used("vault:ACL/another") == {7}
        assert later.used("vault:ACL/none") == frozenset()
    finally:
        later.close()


def test_marks_go_to_the_process_memory_too(tmp_path: Path) -> None:
    memory = StepLedger()
    shared = SharedStepLedger(memory, _url(tmp_path))
    shared.mark(KEY, 5)
    shared.mark(KEY, 5)  # marked twice: one row
    shared.close()
    assert memory.used(KEY) == {5}
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("SELECT item, step FROM totp_used_steps").fetchall() == [(KEY, 5)]


def test_old_steps_are_forgotten(tmp_path: Path) -> None:
    shared = SharedStepLedger(StepLedger(), _url(tmp_path))
    for step in range(40):
        shared.mark(KEY, step)
    shared.close()
    with sqlite3.connect(tmp_path / "state.db") as conn:
        steps = [row[0] for row in conn.execute("SELECT step FROM totp_used_steps ORDER BY step")]
    assert steps == list(range(39 - KEPT_STEPS, 40))


def test_a_database_that_cannot_be_used_leaves_the_memory(tmp_path: Path) -> None:
    (tmp_path / "state.db").mkdir()  # not a database file: every open fails
    memory = StepLedger()
    shared = SharedStepLedger(memory, _url(tmp_path))
    shared.mark(KEY, 3)  # no error: the flow goes on with what this process knows
    assert shared.used(KEY) == {3}
    assert memory.used(KEY) == {3}
    shared.close()


def test_the_table_is_made_by_migrate_once_and_again(tmp_path: Path) -> None:
    create_used_steps_table(_url(tmp_path))
    create_used_steps_table(_url(tmp_path))
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("SELECT count(*) FROM totp_used_steps").fetchone() == (0,)
