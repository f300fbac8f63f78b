"""What the notebooks draw: an audit table that fits 1200 px, token calls one panel per way of
calling, and the checkpoint timeline as a picture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from vaultborn.approvals.audit import AuditEvent
from vaultborn.browser.chromium import LAUNCH_ARGS, find_chromium
from vaultborn.notebook_agent import MODES
from vaultborn.notebook_plots import as_svg, checkpoint_timeline, token_calls_panels
from vaultborn.notebook_view import audit_rows, table

DIGEST = "sha256:" + "0123456789abcdef" * 4
REF = "op://5wmyabcdefghijklmnopqrstuv/lhqiabcdefghijklmnopqrstuv/password"


def _events() -> list[AuditEvent]:
    detail = {"decision": "approved", "digest": DIGEST, "approver": "notebook", "ref": REF}
    return [
        AuditEvent(
            n,
            "run-1a2b3c4d5e6f",
            1000.0 + n,
            "decision",
            f"{REF} {DIGEST}",
            detail,
            "0" * 64,
            "f" * 64,
        )
        for n in range(1, 8)
    ]


def test_audit_rows_cut_digests_and_keep_everything_else() -> None:
    (row, *_) = audit_rows(_events())

    assert row["detail"]["digest"] == "sha256:0123456789ab…"
    assert row["detail"]["ref"] == REF and row["detail"]["approver"] == "notebook"
    assert row["subject"] == f"{REF} sha256:0123456789ab…"
    assert row["hash"] == "f" * 12 + "…"


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")
def test_the_audit_table_fits_a_1200_px_page() -> None:
    columns = ["seq", "at", "kind", "subject", "detail", "hash"]
    html = table(audit_rows(_events()), columns, title="audit trail")._repr_html_()
    chromium = find_chromium()
    assert chromium is not None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium.path), headless=True, args=list(LAUNCH_ARGS)
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.set_content(f"<html><body style='margin:8px'>{html}</body></html>")
            wide = page.evaluate("document.documentElement.scrollWidth")
        finally:
            browser.close()
    assert wide <= 1200


def test_token_calls_get_one_panel_per_way_of_calling() -> None:
    callers = [1, 2, 5, 10, 20, 50]
    rows = [{MODES[0]: n, **{m: 1 for m in MODES[1:]}} for n in callers]

    fig = token_calls_panels(callers, rows, MODES)

    panels = fig.get_axes()
    assert [ax.get_title() for ax in panels] == list(MODES)
    assert all(len(ax.get_lines()) == 1 for ax in panels)  # no line drawn on top of another
    drawn = [np.asarray(ax.get_lines()[0].get_ydata()).tolist() for ax in panels]
    assert drawn == [callers, *[[1] * 6] * 3]


def test_the_checkpoint_timeline_is_a_picture_of_every_checkpoint() -> None:
    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    timeline = [
        {"step": step, "checkpoint_id": f"cp-{step}", "next": nxt, "status": status,
         "waiting": waiting, "created_at": (start + timedelta(seconds=at)).isoformat()}
        for step, nxt, status, waiting, at in [
            (-1, ["__start__"], "", False, 0),
            (0, ["session_gate"], "running", False, 0.1),
            (1, ["session_gate"], "waiting", True, 0.2),
            (2, ["enroll_totp"], "running", False, 40),
            (3, [], "done", False, 41),
        ]
    ]  # fmt: skip

    fig = checkpoint_timeline(timeline, title="run-1")
    svg = as_svg(fig)

    (ax,) = fig.get_axes()
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "-1  → __start__", "0  → session_gate", "1  → session_gate", "2  → enroll_totp", "3  → end"
    ]  # fmt: skip
    assert any(t.get_text() == "40 s" for t in ax.texts)  # the long gap, marked
    assert svg.startswith("<?xml") and "enroll_totp" in svg and "run-1" in svg
