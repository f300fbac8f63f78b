"""Chromium discovery with fake executables: search order, the env var, version parsing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vaultborn.browser.chromium import (
    DISABLED_FEATURES,
    LAUNCH_ARGS,
    PLAYWRIGHT_DISABLED_FEATURES,
    ChromiumInfo,
    chromium_for,
    chromium_version,
    find_chromium,
    find_headless_shell,
    playwright_browsers_dir,
)
from vaultborn.core.errors import ConfigurationError

DEBIAN = "Chromium 156.0.8078.108 built on Debian GNU/Linux 12 (bookworm)"


def fake_exe(path: Path, stdout: str = DEBIAN, *, body: str | None = None) -> Path:
    """Write an executable shell script at ``path`` that prints ``stdout`` (or runs ``body``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body if body is not None else f'echo {stdout!r}'}\n")
    path.chmod(0o755)
    return path


def pw_browser(root: Path, dir_name: str, exe: str, *, complete: bool = True) -> Path:
    """Lay out one browser the way ``playwright install`` does; return its executable."""
    if complete:
        (root / dir_name).mkdir(parents=True, exist_ok=True)
        (root / dir_name / "INSTALLATION_COMPLETE").touch()
    return fake_exe(root / dir_name / exe, f"Google Chrome for Testing 159.0.{dir_name[-4:]}")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment with an empty PATH directory and a HOME with no browsers."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "home").mkdir()
    return {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home")}


def test_nothing_found_returns_none(env: dict[str, str]) -> None:
    assert find_chromium(env) is None


def test_env_var_wins_over_playwright_and_system(tmp_path: Path, env: dict[str, str]) -> None:
    pw_browser(tmp_path / "home/.cache/ms-playwright", "chromium-1255", "chrome-linux64/chrome")
    fake_exe(tmp_path / "bin/chromium")
    chosen = fake_exe(tmp_path / "opt/my-chrome", "Chromium 150.0.1.2")
    env["VAULTBORN_CHROMIUM"] = str(chosen)
    assert find_chromium(env) == ChromiumInfo(chosen, "env", "Chromium 150.0.1.2")


def test_env_var_bare_name_is_looked_up_on_path(tmp_path: Path, env: dict[str, str]) -> None:
    exe = fake_exe(tmp_path / "bin/my-chromium")
    env["VAULTBORN_CHROMIUM"] = "my-chromium"
    assert find_chromium(env) == ChromiumInfo(exe, "env", "Chromium 156.0.8078.108")


@pytest.mark.parametrize("kind", ["missing", "not-executable", "directory"])
def test_env_var_unusable_is_a_configuration_error(
    tmp_path: Path, env: dict[str, str], kind: str
) -> None:
    target = tmp_path / "chrome"
    if kind == "not-executable":
        target.write_text("#!/bin/sh\n")
    elif kind == "directory":
        target.mkdir()
    fake_exe(tmp_path / "bin/chromium")  # a fallback exists, but an explicit choice must not fall
    env["VAULTBORN_CHROMIUM"] = str(target)
    with pytest.raises(ConfigurationError, match=r"^VAULTBORN_CHROMIUM=.*chrome is not an exec"):
        find_chromium(env)


def test_empty_env_var_counts_as_unset(tmp_path: Path, env: dict[str, str]) -> None:
    exe = fake_exe(tmp_path / "bin/chromium")
    env["VAULTBORN_CHROMIUM"] = ""
    assert find_chromium(env) == ChromiumInfo(exe, "system", "Chromium 156.0.8078.108")


def test_playwright_wins_over_system(tmp_path: Path, env: dict[str, str]) -> None:
    fake_exe(tmp_path / "bin/chromium")
    exe = pw_browser(
        tmp_path / "home/.cache/ms-playwright", "chromium-1255", "chrome-linux64/chrome"
    )
    assert find_chromium(env) == ChromiumInfo(
        exe, "playwright", "Google Chrome for Testing 159.0.1255"
    )


def test_playwright_newest_revision_and_full_browser_first(
    tmp_path: Path, env: dict[str, str]
) -> None:
    root = tmp_path / "browsers"
    env["PLAYWRIGHT_BROWSERS_PATH"] = str(root)
    pw_browser(
        root, "chromium_headless_shell-1300", "chrome-headless-shell-linux64/chrome-headless-shell"
    )
    pw_browser(root, "chromium-999", "chrome-linux/chrome")
    newest = pw_browser(root, "chromium-1255", "chrome-linux64/chrome")
    info = find_chromium(env)
    assert info is not None
    assert info.path == newest


def test_playwright_headless_shell_when_no_full_browser(
    tmp_path: Path, env: dict[str, str]
) -> None:
    root = tmp_path / "xdg/ms-playwright"
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    exe = pw_browser(
        root, "chromium_headless_shell-1255", "chrome-headless-shell-linux64/chrome-headless-shell"
    )
    info = find_chromium(env)
    assert info is not None
    assert (info.path, info.source) == (exe, "playwright")


def test_playwright_incomplete_install_is_skipped(tmp_path: Path, env: dict[str, str]) -> None:
    root = tmp_path / "home/.cache/ms-playwright"
    pw_browser(root, "chromium-1300", "chrome-linux64/chrome", complete=False)
    exe = pw_browser(root, "chromium-1255", "chrome-linux64/chrome")
    info = find_chromium(env)
    assert info is not None
    assert info.path == exe


def test_a_headless_session_takes_the_headless_shell_and_a_window_the_full_browser(
    tmp_path: Path, env: dict[str, str]
) -> None:
    full = fake_exe(tmp_path / "bin/chromium")
    shell = fake_exe(tmp_path / "bin/chromium-headless-shell", "Chromium 156.0.8078.129")
    assert chromium_for(headed=False, env=env) == ChromiumInfo(
        shell, "system", "Chromium 156.0.8078.129"
    )
    assert chromium_for(headed=True, env=env) == ChromiumInfo(
        full, "system", "Chromium 156.0.8078.108"
    )
    assert find_chromium(env) == ChromiumInfo(full, "system", "Chromium 156.0.8078.108")


def test_without_a_headless_shell_a_headless_session_takes_the_full_browser(
    tmp_path: Path, env: dict[str, str]
) -> None:
    full = fake_exe(tmp_path / "bin/chromium")
    assert find_headless_shell(env) is None
    assert chromium_for(headed=False, env=env) == ChromiumInfo(
        full, "system", "Chromium 156.0.8078.108"
    )


def test_the_env_var_is_the_choice_for_headless_sessions_too(
    tmp_path: Path, env: dict[str, str]
) -> None:
    fake_exe(tmp_path / "bin/chromium-headless-shell")
    chosen = fake_exe(tmp_path / "opt/my-chrome", "Chromium 150.0.1.2")
    env["VAULTBORN_CHROMIUM"] = str(chosen)
    assert chromium_for(headed=False, env=env) == ChromiumInfo(chosen, "env", "Chromium 150.0.1.2")


def test_playwrights_headless_shell_wins_over_the_systems(
    tmp_path: Path, env: dict[str, str]
) -> None:
    fake_exe(tmp_path / "bin/chromium-headless-shell")
    root = tmp_path / "home/.cache/ms-playwright"
    pw_browser(root, "chromium-1300", "chrome-linux64/chrome")
    exe = pw_browser(
        root, "chromium_headless_shell-1255", "chrome-headless-shell-linux64/chrome-headless-shell"
    )
    assert find_headless_shell(env) == ChromiumInfo(
        exe, "playwright", "Google Chrome for Testing 159.0.1255"
    )


def test_system_names_in_order_not_path_order(tmp_path: Path, env: dict[str, str]) -> None:
    fake_exe(tmp_path / "first/google-chrome")
    (tmp_path / "first/chromium").write_text("not executable")  # skipped like a shell would
    exe = fake_exe(tmp_path / "second/chromium")
    env["PATH"] = f"{tmp_path / 'first'}:{tmp_path / 'second'}"
    assert find_chromium(env) == ChromiumInfo(exe, "system", "Chromium 156.0.8078.108")


def test_browsers_dir_defaults_and_overrides(tmp_path: Path) -> None:
    assert playwright_browsers_dir({"HOME": "/h"}) == Path("/h/.cache/ms-playwright")
    assert playwright_browsers_dir({"HOME": "/h", "XDG_CACHE_HOME": "/x"}) == Path(
        "/x/ms-playwright"
    )
    assert playwright_browsers_dir({"HOME": "/h", "PLAYWRIGHT_BROWSERS_PATH": "/b"}) == Path("/b")
    assert playwright_browsers_dir({"HOME": "/h", "PLAYWRIGHT_BROWSERS_PATH": "0"}) is None
    assert playwright_browsers_dir({}) is None


def test_browsers_dir_on_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert playwright_browsers_dir({"HOME": "/h", "XDG_CACHE_HOME": "/x"}) == Path(
        "/h/Library/Caches/ms-playwright"
    )


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        (DEBIAN, "Chromium 156.0.8078.108"),
        ("Google Chrome 120.0.6099.109 ", "Google Chrome 120.0.6099.109"),
        ("Google Chrome for Testing 159.0.8154.6", "Google Chrome for Testing 159.0.8154.6"),
        ("\nChromium 159.0.8154.6\n", "Chromium 159.0.8154.6"),
        ("no version here", None),
        ("", None),
    ],
)
def test_version_parsing(tmp_path: Path, stdout: str, expected: str | None) -> None:
    assert chromium_version(fake_exe(tmp_path / "chrome", stdout)) == expected


def test_version_ignores_stderr_noise(tmp_path: Path) -> None:
    body = (
        "echo '/usr/bin/chromium: 9: [: 25325268992: unexpected operator' >&2\necho 'Chromium 1.2'"
    )
    assert chromium_version(fake_exe(tmp_path / "chrome", body=body)) == "Chromium 1.2"


def test_version_failure_modes(tmp_path: Path) -> None:
    assert (
        chromium_version(fake_exe(tmp_path / "fails", body="echo 'Chromium 1.2'; exit 1")) is None
    )
    assert chromium_version(tmp_path / "missing") is None
    hangs = fake_exe(tmp_path / "hangs", body="exec sleep 30")
    assert chromium_version(hangs, timeout=0.2) is None


def test_launch_args_are_plain_flags() -> None:
    features = [arg for arg in LAUNCH_ARGS if arg.startswith("--disable-features=")]
    flags = [arg for arg in LAUNCH_ARGS if arg not in features]
    assert all(arg.startswith("--") and "=" not in arg for arg in flags)
    # One list only: Chromium keeps the last --disable-features, so ours repeats Playwright's.
    assert len(features) == 1
    listed = features[0].removeprefix("--disable-features=").split(",")
    assert set(PLAYWRIGHT_DISABLED_FEATURES) | set(DISABLED_FEATURES) == set(listed)
    assert len(set(LAUNCH_ARGS)) == len(LAUNCH_ARGS)
    # Playwright adds --no-sandbox itself while chromium_sandbox is False; see the module.
    assert "--no-sandbox" not in LAUNCH_ARGS
