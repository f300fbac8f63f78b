"""What the README says outside its runnable blocks, held to the code: exit codes, the Studio
answer, the optional extras.

The runnable blocks are ``tests/docs/test_readme.py``'s; these are the sentences and the
examples a reader copies by hand.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from vaultborn.approvals.action import Action
from vaultborn.approvals.request import ApprovalRequest, Approved, parse_decision
from vaultborn.core.errors import RunStateError, UsageError

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _block(how: str) -> str:
    found = re.search(rf"<!-- readme-test: {re.escape(how)} -->\n```\w*\n(.*?)\n```", README, re.S)
    assert found, f"the README has no block marked {how!r}"
    return found[1]


def test_the_exit_codes_say_a_run_elsewhere_is_an_error_not_a_usage_mistake() -> None:
    codes = README.split("**Exit codes:**", 1)[1].split("\n\n", 1)[0]
    assert "2 usage mistake" in codes and "1 error" in codes
    assert "no run waits" in codes and "unfinished" in codes and "error (1)" in codes
    assert RunStateError("x").exit_code == 1 and UsageError("x").exit_code == 2


def test_the_studio_answer_as_written_is_accepted() -> None:
    action = Action(name="create_item", args={"title": "t"}, effects=("vault.create_item",),
                    summary="Create t")  # fmt: skip
    request = ApprovalRequest("run-1", action, requested_at=100.0, expires_at=200.0)
    written = _block("studio answer")
    filled = written.replace("sha256:…", request.digest).replace("run-…", request.run_id)
    answer = json.loads(
        filled.replace('"request_id": "…"', f'"request_id": "{request.request_id}"')
    )

    decision = parse_decision(answer, request, now=150.0)

    assert isinstance(decision, Approved) and decision.approver == "you@example.com"
    assert "sha256:…" in written  # the reader copies these from the interrupt


def _extra(name: str) -> list[str]:
    extras: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
    assert name in extras, f"pyproject.toml has no [{name}] extra"
    return extras[name]


def test_the_extras_the_readme_installs_bring_studio_and_html_export() -> None:
    installed = set(re.findall(r"pip install -e '\.\[(\w+)\]'", README))
    assert {"studio", "jupyter"} <= installed
    assert any(r.startswith("langgraph-cli[inmem]") for r in _extra("studio"))
    assert any(r.startswith("nbconvert") for r in _extra("jupyter"))
    assert any(r.startswith("jupyterlab") for r in _extra("jupyter"))
    # Not pulled into every CI run: the tests need neither.
    test_extras = " ".join(_extra("test"))
    assert "langgraph-cli" not in test_extras and "nbconvert" not in test_extras
    assert "studio" not in test_extras and "jupyter" not in test_extras
