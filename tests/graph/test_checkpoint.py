"""The checkpointer factory and the sealed serializer, on a real SQLite file."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pytest

from vaultborn.core.errors import UsageError
from vaultborn.graphs.checkpoint import database_url, open_checkpointer, sqlite_path
from vaultborn.graphs.serde import CheckpointTampered, SealedSerializer

pytestmark = pytest.mark.robustness("at rest: checkpoints")


class Counter(TypedDict):
    count: int
    note: str


def _run_graph(url: str, key: bytes | None, note: str) -> int:
    from langgraph.graph import END, START, StateGraph

    def bump(state: Counter) -> dict[str, int]:
        return {"count": state.get("count", 0) + 1}

    builder = StateGraph(Counter)
    builder.add_node("bump", bump)
    builder.add_edge(START, "bump")
    builder.add_edge("bump", END)
    with open_checkpointer(url, key=key) as saver:
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t1"}}
        previous = graph.get_state(config).values.get("count", 0)
        graph.invoke({"count": previous, "note": note}, config, durability="sync")
        return int(graph.get_state(config).values["count"])


def test_state_survives_a_new_checkpointer(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    assert _run_graph(url, None, "first") == 1
    assert _run_graph(url, None, "second") == 2
    assert (tmp_path / "state.db").stat().st_mode & 0o777 == 0o600


def test_sealed_blobs_hide_the_state_and_refuse_plaintext(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    key = os.urandom(32)
    marker = "CANARY-" + os.urandom(6).hex()
    assert _run_graph(url, key, marker) == 1
    raw = (tmp_path / "state.db").read_bytes()
    assert marker.encode() not in raw
    with pytest.raises(CheckpointTampered, match="does not open with this key"):
        _run_graph(url, os.urandom(32), marker)
    plain = database_url(tmp_path / "plain")
    _run_graph(plain, None, marker)
    with pytest.raises(CheckpointTampered, match="refusing a plaintext checkpoint blob"):
        _run_graph(plain, key, marker)


def test_sealed_serializer_round_trip_and_tamper() -> None:
    serde = SealedSerializer(os.urandom(32))
    tag, blob = serde.dumps_typed({"a": 1})
    assert tag.endswith("+aesgcm")
    assert serde.loads_typed((tag, blob)) == {"a": 1}
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(CheckpointTampered):
        serde.loads_typed((tag, flipped))


def test_database_urls(tmp_path: Path) -> None:
    assert sqlite_path(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    with pytest.raises(UsageError, match="unsupported database URL scheme 'mysql'"):
        sqlite_path("mysql://host/db")


@pytest.mark.parametrize(
    "first",
    [
        "vaultborn.runner.runs",
        "vaultborn.nodes.gating",
        "vaultborn.graphs.setup",
        "vaultborn.approvals.gate",
        "vaultborn.cli",
    ],
)
def test_strict_msgpack_is_on_whatever_is_imported_first(first: str) -> None:
    # LangGraph reads the flag once, at its first import: check in a fresh interpreter.
    probe = (
        f"import {first}\n"
        "from langgraph.checkpoint.serde import _msgpack\n"
        "print(_msgpack.STRICT_MSGPACK_ENABLED)"
    )
    env = {k: v for k, v in os.environ.items() if k != "LANGGRAPH_STRICT_MSGPACK"}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


def test_a_damaged_state_database_is_one_line(cli: Any, home: Path) -> None:
    home.mkdir(parents=True, mode=0o700)
    (home / "state.db").write_bytes(os.urandom(4096))
    for args in (("runs",), ("setup", "--json")):
        result = cli(*args)
        assert result.code == 1
        assert result.err.strip().endswith(
            "move it aside to start over (its runs cannot be resumed)"
        )
        assert "file is not a database" in result.err
        assert "Traceback" not in result.err and "internal error" not in result.err


def test_the_setup_graph_is_compiled_once_and_bound_to_each_checkpointer(tmp_path: Path) -> None:
    from vaultborn.graphs import setup

    with open_checkpointer(database_url(tmp_path)) as saver:
        first, second = setup.build_graph(saver), setup.build_graph(saver)
        compiled = setup._compile(None, saver)  # what a fresh compile makes of the same saver
    # One compile, two bindings: the nodes are the same objects.
    assert first is not second and first.nodes["gate_seed"] is second.nodes["gate_seed"]
    assert setup.build_graph(None) is setup.build_graph(None)
    assert first.checkpointer is not saver  # allowlisted like compile's own copy
    bound, fresh = first.checkpointer.serde, compiled.checkpointer.serde  # type: ignore[union-attr]
    assert bound._allowed_msgpack_modules == fresh._allowed_msgpack_modules
    assert ("vaultborn.approvals.policy", "Policy") in {
        tuple(m[:2]) for m in fresh._allowed_msgpack_modules
    }


@dataclass
class Stranger:
    """A type no graph state declares."""

    x: int


def test_sealed_checkpoints_take_the_graphs_allowlist_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from vaultborn.graphs import setup

    with (
        caplog.at_level(logging.WARNING),
        open_checkpointer(database_url(tmp_path), key=os.urandom(32)) as saver,
    ):
        serde = setup.build_graph(saver).checkpointer.serde  # type: ignore[union-attr]
    assert not [r.getMessage() for r in caplog.records if "allowlist" in r.getMessage()]
    assert isinstance(serde, SealedSerializer)
    assert ("vaultborn.approvals.policy", "Policy") in {
        tuple(m[:2]) for m in serde._allowed_msgpack_modules
    }
    sealed = serde.dumps_typed(Stranger(1))
    assert sealed[0].endswith("+aesgcm")
    with caplog.at_level(logging.WARNING):
        assert serde.loads_typed(sealed) == {"x": 1}  # refused as a type: its fields only
    assert "Blocked deserialization" in caplog.text
    allowing = serde.with_msgpack_allowlist([(__name__, "Stranger")])
    assert isinstance(allowing, SealedSerializer)
    assert allowing.loads_typed(sealed) == Stranger(1)  # the same key, a wider allowlist
