"""The notebooks' pictures: token calls per way of calling, and a run's checkpoint timeline.

Figures built from what the notebooks already show as tables (counts, checkpoint ids, the
node that ran next, statuses and times), never a value. matplotlib comes with the
``notebooks`` extra; nothing else imports this module.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure

__all__ = ["as_svg", "checkpoint_timeline", "token_calls_panels"]

_STATUS_COLOURS = {
    "running": "#4c72b0",
    "waiting": "#dd8452",
    "failed": "#c44e52",
    "interrupted": "#c44e52",
    "done": "#55a868",
    "rejected": "#8c8c8c",
}


def token_calls_panels(
    callers: Sequence[int], rows: Sequence[Mapping[str, int]], modes: Sequence[str]
) -> Figure:
    """One panel per way of calling, side by side, one y scale: lines that are all 1 still show.

    Args:
        callers: The N of each row.
        rows: For each N, the IdP token calls of each mode.
        modes: The ways of calling, one panel each, in order.
    """
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, len(modes), sharey=True)
    top = max((row[mode] for row in rows for mode in modes), default=1)
    for ax, mode in zip(axes, modes, strict=True):
        counts = [row[mode] for row in rows]
        ax.plot(callers, counts, "o-", markersize=6)
        ax.set_title(mode, fontsize=10)
        ax.set_xlabel("callers (cold cache)")
        ax.set_xscale("log")
        ax.set_xticks(list(callers), [str(n) for n in callers])
        ax.set_ylim(0, top * 1.1 + 1)
        ax.grid(alpha=0.3)
        for n, count in zip(callers, counts, strict=True):
            ax.annotate(str(count), (n, count), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=8)  # fmt: skip
    axes[0].set_ylabel("POST /oauth/token at the IdP")
    fig.suptitle("one token request per cache miss, however many callers share a source")
    return fig


def checkpoint_timeline(timeline: Sequence[Mapping[str, Any]], title: str = "") -> Figure:
    """A run's checkpoints on a time line: one dot per checkpoint, named by what ran next.

    Dots are coloured by the run's status there (waiting at a gate, failed …); a long gap
    (a step that waits for a page or a TOTP window, a process that stopped and one that
    resumed) is shaded and marked with its length.

    Args:
        timeline: The checkpoints oldest first, as ``DemoSession.history`` gives them
            (``step``, ``next``, ``status``, ``waiting``, ``created_at`` ISO 8601).
        title: The figure's title.
    """
    times = [datetime.fromisoformat(str(p["created_at"])) for p in timeline]
    start = times[0] if times else None
    seconds = [(t - start).total_seconds() for t in times] if start is not None else []
    fig = Figure(figsize=(12, 0.28 * len(timeline) + 1.6), layout="constrained")
    ax = fig.subplots()
    labels, said = [], ""
    for row, (point, at) in enumerate(zip(timeline, seconds, strict=True)):
        status = "waiting" if point.get("waiting") else str(point.get("status") or "running")
        ax.plot([at], [row], "o", color=_STATUS_COLOURS.get(status, "#4c72b0"), markersize=7)
        ahead = ", ".join(point.get("next") or []) or "end"
        labels.append(f"{point.get('step')}  → {ahead}")
        if status != said:  # where the status changes, not on every dot
            ax.annotate(status, (at, row), textcoords="offset points", xytext=(8, -3), fontsize=8)
            said = status
    ax.plot(seconds, range(len(seconds)), "-", color="#bbbbbb", zorder=0)
    for row in range(1, len(seconds)):
        gap = seconds[row] - seconds[row - 1]
        if gap > max(5.0, 0.2 * (seconds[-1] or 1)):
            ax.axvspan(seconds[row - 1], seconds[row], color="#eeeeee", zorder=-1)
            middle = (seconds[row - 1] + seconds[row]) / 2
            ax.annotate(f"{gap:.0f} s", (middle, row - 0.5), ha="center", fontsize=8,
                        color="#555555")  # fmt: skip
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first checkpoint")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or "checkpoint timeline (step → the node that runs next)", fontsize=10)
    return fig


def as_svg(fig: Figure) -> str:
    """``fig`` as SVG text (its words kept as text, no date in it), for ``IPython.display.SVG``."""
    out = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "vaultborn"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
