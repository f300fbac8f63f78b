"""A page only a person may pass (the dev IdP's human check) becomes a ``human_step`` wait.

Headless, nobody can tick the box in the run's own browser, so the run waits with the page's
address; an acknowledgement makes the step look at the page again (and wait again), and no
effect before it is repeated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graph.kit import embedded_run
from vaultborn.browser.chromium import find_chromium

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("fault: a page only a person may pass"),
]


def test_human_check_waits_for_a_person_without_repeating_effects(tmp_path: Path) -> None:
    with embedded_run(tmp_path, human=True) as run:
        first, again = run.drive("run-human", {"done": True, "by": "ana"})

        assert run.deps.browser.pool.launches == 1  # one Chromium for both attempts
        assert first.status == "waiting"
        assert first.waiting == {
            "kind": "human_step",
            "run_id": "run-human",
            "url": run.idp.base_url + "guardian/enroll",
            "instructions": "complete the human check on 'human-check' in the browser window",
        }
        assert again.status == "waiting" and again.waiting is not None
        assert again.waiting["kind"] == "human_step"
        assert again.values["user"] == first.values["user"]
        with run.management() as mgmt:
            assert len(mgmt.users_by_email("admin@example.com")) == 1
        kinds = [(e.kind, e.subject) for e in run.audit.events("run-human")]
        assert kinds.count(("effect", "create_user")) == 1
        assert ("human_step", run.idp.base_url + "guardian/enroll") in kinds
