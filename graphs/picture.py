"""A picture of a compiled graph as SVG, drawn offline: no mermaid.ink, no Graphviz.

``render_svg(build_graph().get_graph())`` lays the nodes out in layers, top to bottom:

- edges that close a cycle (found by a depth-first walk from ``__start__``) are set aside as
  back edges; the rest form a DAG;
- each node's layer is as low as its successors allow (longest path to a sink, counted from
  the bottom), so ``__end__`` is last and a node that feeds one step sits just above it;
- in each layer the node on a longest ``__start__`` → ``__end__`` path takes the main column,
  the others the columns to its right;
- adjacent-layer edges are straight; longer forward edges bow out to the left, back edges and
  edges to a side column to the right. Conditional edges are dashed, as LangGraph draws them.

Node kinds (``kinds``: name → kind) choose the fill colour; ``setup_kinds`` names those of the
setup graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

__all__ = ["KIND_COLOURS", "SETUP_LEGEND", "Layout", "layout", "render_svg", "setup_kinds"]

START, END = "__start__", "__end__"
KIND_COLOURS = {
    "terminal": "#e5e7eb",
    "gate": "#fde68a",
    "human": "#fecaca",
    "propose": "#f3f4f6",
    "effect": "#bfdbfe",
    "check": "#bbf7d0",
    "node": "#ffffff",
}
"""Fill colour per node kind."""
_NODE_H, _V_GAP, _H_GAP, _CHAR_W, _MARGIN = 26, 18, 28, 7.2, 24


@dataclass(frozen=True)
class Layout:
    """Where each node goes: its layer (row) and column, and which edges point back up."""

    layer: Mapping[str, int]
    column: Mapping[str, int]
    back: frozenset[tuple[str, str]]


def _back_edges(nodes: list[str], succ: Mapping[str, list[str]]) -> set[tuple[str, str]]:
    """Edges that close a cycle in a depth-first walk (from START first, then the rest)."""
    state: dict[str, int] = {}  # 1: on the walk's path, 2: finished
    back: set[tuple[str, str]] = set()
    roots = [START] if START in succ else []
    for root in [*roots, *nodes]:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))
    return back


def layout(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> Layout:
    """Layers and columns for ``nodes`` and ``edges`` (see the module docstring)."""
    names = list(dict.fromkeys(nodes))
    pairs = list(dict.fromkeys(edges))
    succ: dict[str, list[str]] = {n: [] for n in names}
    for src, dst in pairs:
        succ[src].append(dst)
    back = _back_edges(names, succ)
    forward = {n: [d for d in succ[n] if (n, d) not in back and d != n] for n in names}
    height: dict[str, int] = {}

    def up(node: str) -> int:  # longest forward path from node to a sink (a DAG: it ends)
        if node not in height:
            height[node] = 1 + max((up(d) for d in forward[node]), default=-1)
        return height[node]

    top = max((up(n) for n in names), default=0)
    layer = {n: top - up(n) for n in names}
    depth = {n: 0 for n in names}
    for node in sorted(names, key=lambda n: layer[n]):
        for d in forward[node]:
            depth[d] = max(depth[d], depth[node] + 1)
    longest = max((depth[n] + height[n] for n in names), default=0)
    column: dict[str, int] = {}
    for row in range(top + 1):
        here = [n for n in names if layer[n] == row]
        here.sort(key=lambda n: (depth[n] + height[n] != longest, names.index(n)))
        column.update({n: i for i, n in enumerate(here)})
    return Layout(layer, column, frozenset(back))


def render_svg(
    graph: Any,
    *,
    kinds: Mapping[str, str] | Callable[[str], str] | None = None,
    legend: Mapping[str, str] | None = None,
    title: str = "",
) -> str:
    """The SVG of ``graph`` (a ``langchain_core`` ``Graph``, e.g. from ``get_graph()``).

    Args:
        graph: Has ``nodes`` (id → node with ``id`` and ``name``) and ``edges`` (``source``,
            ``target``, ``conditional``).
        kinds: Each node's kind (a key of ``KIND_COLOURS``), by name or as a function.
        legend: A line of text per kind, drawn under the title.
        title: Drawn at the top.
    """
    names = [node.id for node in graph.nodes.values()]
    labels = {node.id: _label(node.name) for node in graph.nodes.values()}
    edges = [(e.source, e.target, bool(e.conditional)) for e in graph.edges]
    where = layout(names, [(s, t) for s, t, _ in edges])
    kind_of = kinds if callable(kinds) else (lambda n: (kinds or {}).get(n, "node"))
    width = max((len(label) for label in labels.values()), default=4) * _CHAR_W + 20
    routes = [_route(s, t, where, i) for i, (s, t, _) in enumerate(edges)]
    left = _MARGIN + max((bow for side, bow in routes if side == "left"), default=0)
    columns = 1 + max(where.column.values(), default=0)
    right = _MARGIN + max((bow for side, bow in routes if side == "right"), default=0)
    total_w = max(left + columns * (width + _H_GAP) + right, 2 * _MARGIN + 200)
    head = (30 if title else 0) + 18 * len(legend or {})
    rows = 1 + max(where.layer.values(), default=0)
    total_h = head + 2 * _MARGIN + rows * (_NODE_H + _V_GAP)

    def box(n: str) -> tuple[float, float]:  # the top-left corner of n
        x = left + where.column[n] * (width + _H_GAP)
        return x, head + _MARGIN + where.layer[n] * (_NODE_H + _V_GAP)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>',
        '<rect width="100%" height="100%" fill="#fff"/>',
    ]
    if title:
        out.append(f'<text x="{_MARGIN}" y="22" font-size="15" font-weight="bold">'
                   f"{escape(title)}</text>")  # fmt: skip
    for row, (kind, text) in enumerate((legend or {}).items()):
        top = (30 if title else 0) + 18 * row + 6
        fill = KIND_COLOURS.get(kind, KIND_COLOURS["node"])
        swatch = (
            f'<rect x="{_MARGIN}" y="{top}" width="12" height="12" fill="{fill}" stroke="#333"/>'
        )
        out.append(f'{swatch}<text x="{_MARGIN + 18}" y="{top + 10}">{escape(text)}</text>')
    for (src, dst, conditional), (side, bow) in zip(edges, routes, strict=True):
        path = _edge_path(src, dst, where, box, width, side, bow)
        dash = ' stroke-dasharray="5,3"' if conditional else ""
        stroke = f'fill="none" stroke="#555" stroke-width="1.2"{dash}'
        out.append(f'<path d="{path}" {stroke} marker-end="url(#arrow)"/>')
    for n in names:
        x, y = box(n)
        fill = KIND_COLOURS.get(kind_of(n), KIND_COLOURS["node"])
        radius = _NODE_H / 2 if n in (START, END) else 5
        out.append(
            f'<g><title>{escape(n)}</title><rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{_NODE_H}" rx="{radius:.0f}" fill="{fill}" stroke="#333"/>'
            f'<text x="{x + width / 2:.1f}" y="{y + _NODE_H / 2 + 4:.1f}" '
            f'text-anchor="middle">{escape(labels[n])}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _label(name: str) -> str:
    return {START: "start", END: "end"}.get(name, name)


def _route(src: str, dst: str, where: Layout, index: int) -> tuple[str, float]:
    """Which way the edge goes (``straight``, ``left``, ``right``) and how far it bows out."""
    span = where.layer[dst] - where.layer[src]
    if src == dst:
        return "right", 40.0
    if span == 1 and (src, dst) not in where.back:
        return "straight", 0.0
    bow = 24.0 + 10 * abs(span) + 3 * (index % 4)
    if (src, dst) in where.back or where.column[dst] > 0 or where.column[src] > 0:
        return "right", bow
    return "left", bow


def _edge_path(
    src: str,
    dst: str,
    where: Layout,
    box: Callable[[str], tuple[float, float]],
    width: float,
    side: str,
    bow: float,
) -> str:
    """An SVG path from ``src`` to ``dst``."""
    (sx, sy), (dx, dy) = box(src), box(dst)
    if src == dst:  # a loop on the right side
        x, y = sx + width, sy + _NODE_H / 2
        return (f"M{x:.1f},{y - 6:.1f} C{x + bow:.1f},{y - 26:.1f} {x + bow:.1f},{y + 26:.1f} "
                f"{x:.1f},{y + 6:.1f}")  # fmt: skip
    if side == "straight":
        return (f"M{sx + width / 2:.1f},{sy + _NODE_H:.1f} "
                f"L{dx + width / 2:.1f},{dy:.1f}")  # fmt: skip
    if side == "right":
        x1, x2 = sx + width, dx + width
        mid = max(x1, x2) + bow
    else:
        x1, x2 = sx, dx
        mid = min(x1, x2) - bow
    y1, y2 = sy + _NODE_H / 2, dy + _NODE_H / 2
    return f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


SETUP_LEGEND = {
    "gate": "gate: waits for a person's approval (a LangGraph interrupt)",
    "propose": "propose: builds the action and its digest",
    "effect": "effect: runs once its exact action is approved (idempotent)",
    "check": "verify: read-only checks of the chain",
    "human": "hand-off: a page needs a person's clicks",
}
"""The legend of the setup graph's kinds (dashed edges: conditional)."""


def setup_kinds(name: str) -> str:
    """The kind of a setup-graph node, by its name (see ``graphs.setup``)."""
    if name in (START, END, "done"):
        return "terminal"
    if name == "human_step":
        return "human"
    if name == "session_gate" or name.startswith("gate_"):
        return "gate"
    if name.startswith("propose_"):
        return "propose"
    return "check" if name == "verify" else "effect"
