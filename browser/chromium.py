"""Find a Chromium to drive, without downloading anything.

Used by ``vaultborn doctor`` now and by the browser layer to launch Playwright with an explicit
``executable_path``. The search order is the one ``./dev`` reports:

1. ``VAULTBORN_CHROMIUM`` — an explicit choice; when it is set but unusable that is an error, not
   a reason to fall through to another browser;
2. a browser that ``playwright install`` put in its cache (newest revision first, the full browser
   before the headless shell, which cannot run ``--headed``);
3. a system browser on ``PATH`` (``chromium``, ``chromium-browser``, ``google-chrome``).

A headless session launches the headless shell instead when there is one (``chromium_for``):
Chromium's old headless mode, a build with no windows at all. It does the same work for a
fraction of the CPU per browser context (``bench/browser_cpu.py``: 0.4 s of the browser
process's CPU per enrollment against 1.0 s), which is what many enrollments at once, and the
tests, pay for. ``VAULTBORN_CHROMIUM`` still overrides it, and ``--headed`` needs the full
browser.

Playwright's cache layout is read from the directory tree, never from Playwright's private
modules: the layout is stable across releases, its internals are not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vaultborn.core.errors import ConfigurationError

__all__ = [
    "DISABLED_FEATURES",
    "ENV_VAR",
    "LAUNCH_ARGS",
    "PLAYWRIGHT_DISABLED_FEATURES",
    "SYSTEM_NAMES",
    "ChromiumInfo",
    "ChromiumSource",
    "chromium_for",
    "chromium_version",
    "find_chromium",
    "find_headless_shell",
    "playwright_browsers_dir",
]

ENV_VAR = "VAULTBORN_CHROMIUM"
"""Names the Chromium executable to use, overriding every other source."""

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome")
"""Executable names looked up on ``PATH``, in this order."""

SHELL_NAMES = ("chromium-headless-shell", "chrome-headless-shell")
"""Headless-shell names looked up on ``PATH``: Debian's package, then Chrome for Testing's."""

# Flags verified as root and offline (toolchain-notes §3): no GPU, no calls home, no updates.
# --no-sandbox is deliberately absent: Playwright adds it itself while `chromium_sandbox` is False
# (its default), and listing it here would silently keep the sandbox off for anyone who turns
# `chromium_sandbox` on as a normal user. --disable-dev-shm-usage is always on: a small /dev/shm
# (Docker's 64 MB) crashes Chromium, and for our few small pages /tmp costs nothing measurable.
_FLAGS: tuple[str, ...] = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)

PLAYWRIGHT_DISABLED_FEATURES: tuple[str, ...] = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
"""The features Playwright's own ``--disable-features`` turns off (Playwright 1.65).

Chromium keeps only the last ``--disable-features`` of its command line, and Playwright puts
its own before ours: ours repeats these, or adding one feature would turn all of them back on.
A browser test reads the launched command line and fails when Playwright's list outgrows this.
"""

DISABLED_FEATURES: tuple[str, ...] = (
    # Every new window (Playwright opens one per page) builds the omnibox's WebUI popups: two
    # chrome:// pages in a renderer of their own, ~1 s of CPU per context, never shown headless.
    "WebUIOmniboxPopup",
    "WebUIOmniboxAimPopup",
    # Chromium keeps a spare renderer warm for the context used last; with a context per flow it
    # is mostly for the wrong one, so it is killed and relaunched on almost every navigation
    # (about ten renderer launches per enrollment instead of two).
    "SpareRendererForSitePerProcess",
    # Every navigation builds a new frame host in the browser and a new frame in the renderer
    # ("a RenderFrameHost per document"), instead of reusing them within one site: about 17 of
    # the 57 ms of browser CPU a page load costs the headless shell, six loads per enrollment.
    # Site isolation is unchanged: which process a site gets does not depend on it.
    "RenderDocument",
)
"""Features vaultborn turns off beside Playwright's: work a headless capture never uses."""

LAUNCH_ARGS: tuple[str, ...] = (
    *_FLAGS,
    "--disable-features=" + ",".join((*PLAYWRIGHT_DISABLED_FEATURES, *DISABLED_FEATURES)),
)
"""Extra command-line flags for every Chromium launch (pass as Playwright's ``args``)."""

ChromiumSource = Literal["env", "playwright", "system"]

# Executables inside one Playwright browser directory (e.g. chromium-1255/), per kind. Both the
# Chrome-for-Testing layout (chrome-linux64/, …app) and the older Chromium one (chrome-linux/).
_FULL_GLOBS = ("chromium-*", ("chrome-linux*/chrome", "chrome-mac*/*.app/Contents/MacOS/*"))
_SHELL_GLOBS = (
    "chromium_headless_shell-*",
    ("chrome-headless-shell-*/chrome-headless-shell", "chrome-linux/headless_shell"),
)
# Playwright writes this file last; without it the download was interrupted.
_COMPLETE_MARKER = "INSTALLATION_COMPLETE"
_REVISION = re.compile(r"-(\d+)$")
# "Chromium 156.0.8078.108 built on Debian …", "Google Chrome for Testing 159.0.8154.6".
_VERSION = re.compile(r"^(?P<name>[A-Za-z][A-Za-z ]*?)\s+(?P<number>\d+(?:\.\d+)+)")


@dataclass(frozen=True)
class ChromiumInfo:
    """A Chromium executable that was found.

    Attributes:
        path: The executable, as found (not resolved: Debian's wrapper script sets flags).
        source: Where it was found: ``env``, ``playwright`` or ``system``.
        version: What ``--version`` printed, e.g. ``"Chromium 156.0.8078.108"``; None if unknown.
    """

    path: Path
    source: ChromiumSource
    version: str | None


def find_chromium(env: Mapping[str, str] = os.environ) -> ChromiumInfo | None:
    """Find a Chromium executable, in the order described in the module docstring.

    Args:
        env: The environment to read (``VAULTBORN_CHROMIUM``, ``PLAYWRIGHT_BROWSERS_PATH``,
            ``HOME``, ``XDG_CACHE_HOME``, ``PATH``); the process environment by default.

    Returns:
        The first Chromium found, with its version, or None when there is none.

    Raises:
        ConfigurationError: ``VAULTBORN_CHROMIUM`` is set but does not name an executable file.
    """
    configured = env.get(ENV_VAR, "")
    if configured:
        path = _resolve_configured(configured, env)
        return ChromiumInfo(path, "env", chromium_version(path))
    return _installed(env, (_FULL_GLOBS, _SHELL_GLOBS), SYSTEM_NAMES)


def find_headless_shell(env: Mapping[str, str] = os.environ) -> ChromiumInfo | None:
    """Find Chromium's headless shell: Playwright's (newest first), then one on ``PATH``.

    Args:
        env: The environment to read, as for ``find_chromium``.

    Returns:
        The headless shell with its version, or None when there is none.
    """
    return _installed(env, (_SHELL_GLOBS,), SHELL_NAMES)


def chromium_for(*, headed: bool, env: Mapping[str, str] = os.environ) -> ChromiumInfo | None:
    """The Chromium a browser session launches.

    ``VAULTBORN_CHROMIUM`` when it is set; else, headless, the headless shell if there is one;
    else (and always for a window) the full browser of ``find_chromium``.

    Raises:
        ConfigurationError: ``VAULTBORN_CHROMIUM`` is set but does not name an executable file.
    """
    if not headed and not env.get(ENV_VAR, ""):
        shell = find_headless_shell(env)
        if shell is not None:
            return shell
    return find_chromium(env)


def chromium_version(path: Path, timeout: float = 10.0) -> str | None:
    """Ask a Chromium executable for its version.

    Args:
        path: The executable.
        timeout: Seconds to wait before giving up; a browser that hangs yields None.

    Returns:
        The product name and version number, e.g. ``"Chromium 156.0.8078.108"``, or None when the
        executable fails, hangs, or prints nothing that looks like a version.
    """
    try:
        # The path comes from the user's own environment or a directory they installed into.
        done = subprocess.run(  # noqa: S603
            [str(path), "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    # Only stdout: Debian's wrapper prints a harmless shell error on stderr at every start.
    for line in done.stdout.splitlines():
        match = _VERSION.match(line.strip())
        if match:
            return f"{match['name']} {match['number']}"
    return None


def playwright_browsers_dir(env: Mapping[str, str] = os.environ) -> Path | None:
    """Return the directory where ``playwright install`` puts browsers, as Playwright computes it.

    Args:
        env: The environment to read; the process environment by default.

    Returns:
        The directory (it may not exist), or None when it cannot be known: no ``HOME``, or
        ``PLAYWRIGHT_BROWSERS_PATH=0``, which puts browsers inside Playwright's own package.
    """
    configured = env.get("PLAYWRIGHT_BROWSERS_PATH", "")
    if configured == "0":
        return None
    if configured:
        return Path(configured)
    home = env.get("HOME", "")
    if not home:
        return None
    if sys.platform == "darwin":
        return Path(home, "Library", "Caches", "ms-playwright")
    return Path(env.get("XDG_CACHE_HOME") or Path(home, ".cache"), "ms-playwright")


def _resolve_configured(configured: str, env: Mapping[str, str]) -> Path:
    """Turn ``VAULTBORN_CHROMIUM`` into an executable path, or raise ConfigurationError."""
    # A bare name ("chromium") is looked up on PATH, as a shell would.
    if os.sep not in configured:
        found = shutil.which(configured, path=env.get("PATH", os.defpath))
        if found is not None:
            return Path(found)
    path = Path(configured)
    if not _is_executable(path):
        raise ConfigurationError(
            f"{ENV_VAR}={configured} is not an executable file; "
            "point it at a Chromium binary or unset it"
        )
    return path


_Globs = tuple[str, tuple[str, ...]]


def _installed(
    env: Mapping[str, str], kinds: tuple[_Globs, ...], names: tuple[str, ...]
) -> ChromiumInfo | None:
    """The first of Playwright's browsers of ``kinds``, else the first of ``names`` on PATH."""
    installed = next(_playwright_candidates(env, kinds), None)
    if installed is not None:
        return ChromiumInfo(installed, "playwright", chromium_version(installed))
    search_path = env.get("PATH", os.defpath)
    for name in names:
        found = shutil.which(name, path=search_path)
        if found is not None:
            return ChromiumInfo(Path(found), "system", chromium_version(Path(found)))
    return None


def _playwright_candidates(env: Mapping[str, str], kinds: tuple[_Globs, ...]) -> Iterator[Path]:
    """Yield Playwright-installed executables of ``kinds`` in order, newest revision first."""
    root = playwright_browsers_dir(env)
    if root is None or not root.is_dir():
        return
    for dir_glob, exe_globs in kinds:
        for browser_dir in sorted(root.glob(dir_glob), key=_revision, reverse=True):
            if not (browser_dir / _COMPLETE_MARKER).is_file():
                continue
            for exe_glob in exe_globs:
                yield from sorted(p for p in browser_dir.glob(exe_glob) if _is_executable(p))


def _revision(browser_dir: Path) -> int:
    """Playwright's revision number from a directory name like ``chromium-1255`` (0 if none)."""
    match = _REVISION.search(browser_dir.name)
    return int(match.group(1)) if match else 0


def _is_executable(path: Path) -> bool:
    """Whether ``path`` is a file this process may execute."""
    return path.is_file() and os.access(path, os.X_OK)
