"""The login drill runs in the page the enrollment handed on, and proves a login or runs again.

A page of its own would cost the drill a renderer process; the enrollment's page, wiped of its
cookies and storage, does the same work without one. What the drill must never do is pass on
what the enrollment left behind: a drill in a handed-on page counts only if it typed the
password into a login form and a code, else it runs again in a fresh context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.graph.kit import embedded_run
from vaultborn.browser.chromium import find_chromium
from vaultborn.browser.flow import Goal
from vaultborn.browser.runner import FlowReport
from vaultborn.nodes import verification
from vaultborn.nodes.verification import proves_a_login

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


def test_the_drill_runs_in_the_enrollments_page(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        (view,) = run.drive("run-drill-page")
        pool = run.deps.browser.pool

    assert view.status == "done", view.reason
    assert view.values["verify"]["login_drill"] == "success-screen"
    assert (pool.contexts, pool.reused) == (1, 1)


def test_a_drill_the_handed_on_page_let_through_runs_again_in_a_fresh_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_drill = verification.login_drill
    pages: list[str] = []

    async def remembered_session(page: Any, *args: Any, **kwargs: Any) -> FlowReport:
        # An IdP that still knew the enrollment's browser would show its signed-in page at
        # once: the drill sees success without a login form or a code.
        pages.append(page.url)
        if page.url != "about:blank":
            return FlowReport(goal=Goal.LOGIN, outcome="already-done", screens=("x:success",))
        return await real_drill(page, *args, **kwargs)

    monkeypatch.setattr(verification, "login_drill", remembered_session)
    with embedded_run(tmp_path) as run:
        (view,) = run.drive("run-drill-again")
        pool = run.deps.browser.pool

    assert view.status == "done", view.reason
    assert view.values["verify"]["login_drill"] == "success-screen"
    assert len(pages) == 2 and pages[0] != "about:blank" and pages[1] == "about:blank"
    assert (pool.contexts, pool.reused) == (2, 1)


@pytest.mark.parametrize(
    ("outcome", "codes", "screens", "proves"),
    [
        ("success-screen", 1, ("auth0:login", "auth0:code", "auth0:success"), True),
        ("left-login", 1, ("generic:login", "generic:code", "generic:unknown"), True),
        ("already-done", 0, ("auth0:success",), False),
        ("success-screen", 1, ("auth0:code", "auth0:success"), False),  # no password typed
        ("success-screen", 0, ("auth0:login", "auth0:success"), False),  # no code
    ],
)
def test_what_proves_a_login(
    outcome: str, codes: int, screens: tuple[str, ...], proves: bool
) -> None:
    report = FlowReport(goal=Goal.LOGIN, outcome=outcome, codes_sent=codes, screens=screens)
    assert proves_a_login(report) is proves
