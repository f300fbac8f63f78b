"""The README's two commands: ``./dev demo`` runs here; ``./dev test`` is what runs this test.

``./dev demo`` on an already set-up checkout skips installing (its stamp matches), checks the
machine with ``vaultborn doctor`` and, with no terminal, runs the guided setup with
``--auto-approve`` on the embedded defaults, in a private data directory.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from vaultborn.browser.chromium import find_chromium

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")
def test_dev_demo_runs_the_guided_setup_to_done(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "VAULTBORN_HOME": str(tmp_path / ".vaultborn"),
    }
    demo = subprocess.run(
        [str(ROOT / "dev"), "demo", "--json"], cwd=tmp_path, env=env,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "no terminal: running the demo with --auto-approve" in demo.stderr
    assert "ok   chromium" in demo.stdout
    assert json.loads(demo.stdout[demo.stdout.index("{") :])["status"] == "done"


def test_dev_test_runs_ruff_mypy_and_pytest() -> None:
    script = (ROOT / "dev").read_text()
    assert 'test) shift; setup; ensure_postgres; ensure_oidc_op; run_tests "$@"' in script
    for tool in ("ruff", "mypy", "pytest"):
        assert f'"$VENV/bin/{tool}"' in script or f"-m {tool}" in script


def test_a_full_run_takes_its_worker_count_and_distribution_from_the_environment() -> None:
    script = (ROOT / "dev").read_text()
    assert '-n "${VAULTBORN_TEST_WORKERS:-2}" --dist "${VAULTBORN_TEST_DIST:-worksteal}"' in script
