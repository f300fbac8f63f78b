"""The demo notebooks run top to bottom, headless, and none of their outputs holds a secret.

Each notebook runs once per module in a fresh kernel (``python3``: this virtualenv's Python),
with ``notebooks/`` as its working directory, a private ``VAULTBORN_HOME`` and a private
``HOME`` (no ``~/.aws`` or ``~/.vaultborn`` of the developer's); any cell error fails it. The
canary scan then takes every secret value the vaults under that home hold (OTP seeds on their
own too) and looks for each one in every output of every cell — streams, text, HTML, SVG,
images and their metadata — and in every file the run left under both homes (the dev IdP's own
database excepted: it holds the TOTP seed, as any IdP must).

Under ``pytest -n``, a notebook's tests can land on two workers; the first worker to need a
notebook runs it and leaves the executed notebook in the run's shared temporary directory, and
the other reads it there (an flock per notebook), so no notebook runs twice in one run.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.faults.clikit import IDP_OWN_FILES, secrets_in_vault
from vaultborn.browser.chromium import find_chromium
from vaultborn.vault.local import LocalVault
from vaultborn.vault.secret import Secret

ROOT = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(p.name for p in ROOT.glob("*.ipynb"))
CELL_TIMEOUT = 300
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


@dataclass
class Executed:
    """A notebook after its run: the notebook with outputs, its homes and how long it took."""

    nb: Any = field(repr=False)  # a failure's traceback shows arguments: not the outputs
    home: Path
    user_home: Path
    seconds: float


@pytest.fixture(scope="module")
def executed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Executed]]:
    """The run of a notebook, by file name.

    The notebooks this session's tests ask for start together, each in its own kernel: most of
    a run is spent waiting (a TOTP window, a page), so they overlap well even on two cores.
    """
    wanted = sorted(
        {
            item.callspec.params["name"]
            for item in request.session.items
            if "executed" in getattr(item, "fixturenames", ()) and hasattr(item, "callspec")
        }
    )
    shared = _shared_dir(tmp_path_factory)
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores, shared with other work
        runs = {
            name: pool.submit(_execute_once, ROOT / name, tmp_path_factory, shared)
            for name in wanted
        }
        yield lambda name: runs[name].result()


def _shared_dir(factory: pytest.TempPathFactory) -> Path | None:
    """A directory every xdist worker of this run sees (None without xdist)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not os.environ.get("PYTEST_XDIST_WORKER") or not run:
        return None
    shared = factory.getbasetemp().parent / f"notebooks-{run}"
    shared.mkdir(exist_ok=True)
    return shared


def _execute_once(path: Path, factory: pytest.TempPathFactory, shared: Path | None) -> Executed:
    """``_execute``, or the run another worker made of the same notebook in this test run."""
    if shared is None:
        return _execute(path, factory.mktemp(path.stem))
    with open(shared / f"{path.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held while running: the other worker waits here
        done, saved = shared / f"{path.stem}.json", shared / f"{path.stem}.ipynb"
        if done.exists():
            meta = json.loads(done.read_text())
            nb = nbformat.read(saved, as_version=4)
            return Executed(nb, Path(meta["home"]), Path(meta["user_home"]), meta["seconds"])
        run = _execute(path, factory.mktemp(path.stem))
        nbformat.write(run.nb, saved)
        meta = {"home": str(run.home), "user_home": str(run.user_home), "seconds": run.seconds}
        done.write_text(json.dumps(meta))
        return run


def _execute(path: Path, root: Path) -> Executed:
    home, user_home = root / "vaultborn-home", root / "user-home"
    user_home.mkdir()
    # tests/conftest.py has scrubbed VAULTBORN_*, AWS_* and OP_* from this environment.
    env = {**os.environ, "VAULTBORN_HOME": str(home), "HOME": str(user_home)}
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.monotonic()
    # A loop of this thread's own, closed at the end (client.execute would leave one open).
    asyncio.run(client.async_execute(env=env))
    return Executed(nb, home, user_home, time.monotonic() - started)


def output_strings(nb: Any) -> Iterator[tuple[int, str]]:
    """(cell number, string) for every string in every cell output: streams, MIME bundles,
    metadata, errors."""
    for number, cell in enumerate(nb.cells, start=1):
        for text in _strings(cell.get("outputs", [])):
            yield number, text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def vault_secrets(home: Path) -> list[Secret]:
    """The secret values of every local vault under ``home`` (a notebook may make several).

    Kept as ``Secret`` so that a failure's traceback (which shows arguments) shows none.
    """
    found: set[str] = set()
    for db in sorted(home.rglob("vault.db")):
        found |= secrets_in_vault(LocalVault(db.parent))
    return [Secret(value, label="vault canary") for value in sorted(found)]


def assert_no_secret(values: list[Secret], run: Executed) -> None:
    """No value of ``values`` in an output of ``run``'s notebook nor in a file under its homes.

    Fails naming the cell or the file, never the value.
    """
    assert values, "the vaults hold no secrets: the scan would prove nothing"
    for number, text in output_strings(run.nb):
        if any(value.reveal() in text for value in values):
            pytest.fail(f"a vault secret is in an output of cell {number}")
    for home in (run.home, run.user_home):
        for path in sorted(p for p in home.rglob("*") if p.is_file()):
            if path.name.startswith(IDP_OWN_FILES):
                continue
            data = path.read_bytes()
            if any(value.reveal().encode() in data for value in values):
                pytest.fail(f"a vault secret rests in {path.relative_to(home)}")


@needs_chromium
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name: str, executed: Callable[[str], Executed]) -> None:
    run = executed(name)  # a cell that raises fails here (nbclient's CellExecutionError)

    assert all(c.execution_count for c in run.nb.cells if c.cell_type == "code")
    print(f"{name}: {run.seconds:.1f} s")


@needs_chromium
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_nothing_is_said_on_stderr(name: str, executed: Callable[[str], Executed]) -> None:
    """A notebook draws stderr as a red box: a notice there reads as an error."""
    run = executed(name)

    said = [  # cell numbers only: what a cell printed may be what the canary scan looks for
        number
        for number, cell in enumerate(run.nb.cells, start=1)
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    ]
    assert said == []


@needs_chromium
@pytest.mark.robustness("secret canaries: notebooks")
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_secret_in_outputs_or_files(name: str, executed: Callable[[str], Executed]) -> None:
    run = executed(name)

    assert_no_secret(vault_secrets(run.home), run)


@pytest.mark.robustness("secret canaries: notebooks")
def test_the_scan_finds_a_planted_secret(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    planted = Secret("s3cret-VALUE-from-the-vault")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", {"image/svg+xml": f"<svg><title>{planted.reveal()}</title>"}
        )
    ]
    nb.cells.append(cell)
    (tmp_path / "vaultborn-home").mkdir()
    (tmp_path / "user-home").mkdir()

    run = Executed(nb, tmp_path / "vaultborn-home", tmp_path / "user-home", 0.0)
    with pytest.raises(pytest.fail.Exception, match="in an output of cell 1"):
        assert_no_secret([planted], run)
    (run.home / "state.db").write_bytes(b"..." + planted.reveal().encode() + b"...")
    with pytest.raises(pytest.fail.Exception, match=r"rests in state\.db"):
        assert_no_secret(
            [planted], Executed(nbformat.v4.new_notebook(), run.home, run.user_home, 0)
        )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_stripped(name: str) -> None:
    nb = nbformat.read(ROOT / name, as_version=4)

    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_there_are_three_demo_notebooks() -> None:
    assert [n[:3] for n in NOTEBOOKS] == ["01_", "02_", "03_"]


def test_a_notebook_another_worker_ran_is_read_not_run_again(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", f"test-{time.time_ns()}")
    ran: list[Path] = []

    def execute(path: Path, root: Path) -> Executed:
        ran.append(path)
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell("1", execution_count=1))
        return Executed(nb, root / "vaultborn-home", root / "user-home", 1.5)

    monkeypatch.setattr(f"{__name__}._execute", execute)
    shared = _shared_dir(tmp_path_factory)
    assert shared is not None

    first = _execute_once(ROOT / "x.ipynb", tmp_path_factory, shared)
    again = _execute_once(ROOT / "x.ipynb", tmp_path_factory, shared)  # as the other worker

    assert ran == [ROOT / "x.ipynb"]
    assert (again.home, again.user_home, again.seconds) == (first.home, first.user_home, 1.5)
    assert again.nb.cells[0].execution_count == 1
