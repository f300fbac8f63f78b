"""``graphs.picture``: the layered layout and the SVG drawn from a graph's nodes and edges."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from types import SimpleNamespace

from vaultborn.graphs.picture import SETUP_LEGEND, layout, render_svg, setup_kinds
from vaultborn.graphs.setup import build_graph

SVG = "{http://www.w3.org/2000/svg}"


def _graph(nodes: list[str], edges: list[tuple[str, str, bool]]) -> SimpleNamespace:
    """A stand-in for ``langchain_core``'s ``Graph``: ``nodes`` by id, ``edges`` with flags."""
    return SimpleNamespace(
        nodes={n: SimpleNamespace(id=n, name=n) for n in nodes},
        edges=[SimpleNamespace(source=s, target=t, conditional=c) for s, t, c in edges],
    )


def test_a_chain_is_one_column_top_to_bottom() -> None:
    where = layout(["__start__", "a", "b", "__end__"],
                   [("__start__", "a"), ("a", "b"), ("b", "__end__")])  # fmt: skip

    assert [where.layer[n] for n in ("__start__", "a", "b", "__end__")] == [0, 1, 2, 3]
    assert set(where.column.values()) == {0}
    assert where.back == frozenset()


def test_a_cycle_is_broken_by_a_back_edge_and_self_loops_are_back_edges() -> None:
    edges = [("__start__", "ask"), ("ask", "do"), ("do", "ask"), ("ask", "ask"), ("do", "__end__")]

    where = layout(["__start__", "ask", "do", "__end__"], edges)

    assert where.back == frozenset({("do", "ask"), ("ask", "ask")})
    assert where.layer["ask"] < where.layer["do"] < where.layer["__end__"]


def test_a_node_that_feeds_one_step_sits_just_above_it_in_a_side_column() -> None:
    # "help" is reachable early but only leads into "c": it is drawn next to "b2", beside the
    # main line (the longest path), not up next to "b".
    edges = [("__start__", "a"), ("a", "help"), ("a", "b"), ("b", "b2"), ("b2", "c"),
             ("help", "c"), ("c", "__end__")]  # fmt: skip

    where = layout(["__start__", "a", "help", "b", "b2", "c", "__end__"], edges)

    assert where.layer["help"] == where.layer["b2"] == where.layer["c"] - 1
    assert (where.column["b2"], where.column["help"]) == (0, 1)


def test_the_svg_is_well_formed_with_a_box_per_node_and_dashed_conditional_edges() -> None:
    graph = _graph(
        ["__start__", "gate <1>", "effect", "__end__"],
        [("__start__", "gate <1>", False), ("gate <1>", "effect", True),
         ("gate <1>", "__end__", True), ("effect", "__end__", False)],
    )  # fmt: skip

    svg = render_svg(graph, kinds={"gate <1>": "gate"}, legend={"gate": "asks"}, title="a & b")

    root = ET.fromstring(svg)  # noqa: S314 - our own output
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles == ["__start__", "gate <1>", "effect", "__end__"]
    paths = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(paths) == 4
    assert sum(1 for p in paths if p.get("stroke-dasharray")) == 2
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "a & b" in texts and "asks" in texts and "start" in texts and "end" in texts
    gate_box = next(g for g in root.iter(f"{SVG}g") if g.find(f"{SVG}title").text == "gate <1>")  # type: ignore[union-attr]
    assert gate_box.find(f"{SVG}rect").get("fill") == "#fde68a"  # type: ignore[union-attr]


def test_the_setup_graph_shows_every_gate_effect_and_route() -> None:
    graph = build_graph().get_graph()
    edges = {(e.source, e.target) for e in graph.edges}

    # The routes' path maps let LangGraph see each gate's three ways out and each effect's next
    # step; without them get_graph() stops after the session gate.
    for step in ("create_item", "create_user", "enroll_totp", "seed", "verify"):
        gate = f"gate_{step}"
        ways = {
            (f"propose_{step}", gate),
            (gate, step),
            (gate, f"propose_{step}"),
            (gate, "__end__"),
        }
        assert ways <= edges
    assert {("enroll_totp", "human_step"), ("human_step", "enroll_totp"),
            ("seed", "propose_seed"), ("verify", "done")} <= edges  # fmt: skip

    svg = render_svg(graph, kinds=setup_kinds, legend=SETUP_LEGEND)
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert {t.text for t in root.iter(f"{SVG}title")} == set(graph.nodes)


def test_setup_kinds_name_each_family_of_nodes() -> None:
    names = ("__start__", "session_gate", "gate_seed", "propose_seed", "seed", "verify",
             "human_step", "done")  # fmt: skip
    kinds = {n: setup_kinds(n) for n in names}

    assert kinds == {
        "__start__": "terminal", "session_gate": "gate", "gate_seed": "gate",
        "propose_seed": "propose", "seed": "effect", "verify": "check",
        "human_step": "human", "done": "terminal",
    }  # fmt: skip
