"""The project installs under one name: ``vaultborn`` and its sub-packages, nothing else.

The layers live in folders at the repository root (``vault/``, ``idp/`` …) and are reached as
``vaultborn.vault``, ``vaultborn.idp`` … A module imported under its bare folder name as well
would exist twice (two classes of every name, ``isinstance`` failing across them), so nothing
may import it that way.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import vaultborn

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("core", "vault", "idp", "stores", "browser", "approvals", "nodes", "graphs", "runner")
_BARE = re.compile(
    rf'(?:^|[\s"])(?:from|import) ({"|".join(LAYERS)})(?:\.\w+)*(?: import|\s*$)', re.M
)


def _project_files() -> list[Path]:
    folders = ("vaultborn", *LAYERS, "tests", "bench", "notebooks", "docs")
    files = [ROOT / "dev", ROOT / "README.md"]
    for folder in folders:
        base = ROOT / folder
        files += [p for p in base.rglob("*") if p.suffix in (".py", ".ipynb", ".md")]
    return [p for p in files if "node_modules" not in p.parts and not p.is_symlink()]


def test_no_file_imports_a_layer_by_its_bare_folder_name() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {found.group(0).strip()}"
        for path in _project_files()
        for found in _BARE.finditer(path.read_text(errors="replace"))
    ]
    assert offenders == []


def test_importing_every_module_loads_no_bare_layer() -> None:
    for module in pkgutil.walk_packages(vaultborn.__path__, "vaultborn."):
        if module.name.endswith(("__main__", ".fake")):
            continue  # programs: importing them runs them
        importlib.import_module(module.name)
    assert not [name for name in sys.modules if name.split(".")[0] in LAYERS]


@pytest.mark.robustness("install: one name in site-packages")
def test_the_wheel_installs_only_vaultborn(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: a build writes build/ and *.egg-info where it runs
    for folder in ("vaultborn", *LAYERS):
        shutil.copytree(ROOT / folder, source / folder, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("vaultborn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"vaultborn"}
    for layer in LAYERS:
        assert f"vaultborn/{layer}/__init__.py" in names
        assert f"vaultborn/{layer}/py.typed" in names
    assert "vaultborn/vault/local/backend.py" in names
    assert "vaultborn/idp/devserver/server.py" in names
