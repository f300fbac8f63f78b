"""Core dumps off (``core.hardening``), checked in fresh processes as the kernel sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.robustness("at rest: core dumps"),
    pytest.mark.skipif(sys.platform != "linux", reason="prctl and /proc are Linux's"),
]

# Where the probe process may start holding values: the function itself, the CLI (any
# command), the dev IdP server.
ENTRIES = {
    "function": "from vaultborn.core import hardening\nhardening.disable_core_dumps()\n",
    "cli": "from vaultborn.cli import main\nmain(['--version'])\n",
    "dev idp": (
        "import sys\n"
        "from pathlib import Path\n"
        "from tests.idp.devkit import ENV\n"
        "from vaultborn.idp.devserver.server import start_dev_idp\n"
        "from vaultborn.idp.devserver.tenant import demo_tenant\n"
        "with start_dev_idp(demo_tenant(), db=Path(sys.argv[1]) / 'idp.db', env=ENV):\n"
        "    pass\n"
    ),
}
PROBE = """
import ctypes, json, resource
from pathlib import Path
libc = ctypes.CDLL(None, use_errno=True)
limits = Path('/proc/self/limits').read_text().splitlines()
print(json.dumps({
    'dumpable': libc.prctl(3, 0, 0, 0, 0),
    'rlimit': resource.getrlimit(resource.RLIMIT_CORE),
    'limits': [line.split()[4:6] for line in limits if line.startswith('Max core file size')],
    'status': [l for l in Path('/proc/self/status').read_text().splitlines()
               if l.startswith('CoreDumping')],
}))
"""
# Raises the soft core limit to the hard one before the probe runs, so that a probe which
# did not turn dumps off would show it.
CORES_ON = (
    "import resource\n"
    "_, hard = resource.getrlimit(resource.RLIMIT_CORE)\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))\n"
)


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_each_entry_turns_core_dumps_off(entry: str, tmp_path: Path) -> None:
    code = CORES_ON + ENTRIES[entry] + PROBE
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).parents[2],  # tests.idp.devkit importable
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.splitlines()[-1])
    assert seen["dumpable"] == 0  # PR_GET_DUMPABLE
    assert seen["rlimit"] == [0, 0]  # soft and hard: a child cannot raise it back
    assert seen["limits"] == [["0", "0"]]
    assert seen["status"] == ["CoreDumping:\t0"]


def test_it_is_idempotent_and_reports_itself() -> None:
    code = (
        "from vaultborn.core.hardening import disable_core_dumps, dumpable\n"
        "before = dumpable()\n"
        "disable_core_dumps(); disable_core_dumps()\n"
        "print(before, dumpable())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.split() == ["True", "False"]
