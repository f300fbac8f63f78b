"""Where an approval inbox serves: ``$VAULTBORN_HOME/inbox.json``, while it serves.

``vaultborn inbox`` writes its address (never its token) and process id there; messages that
tell a person where to answer (the MCP server's, the notifications') point at it while that
process lives, and at the CLI's commands otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["LINK_FILE", "clear_link", "serving_inbox", "write_link"]

LINK_FILE = "inbox.json"


def write_link(home: Path, base_url: str) -> Path:
    """Record that this process serves an inbox at ``base_url``; the file's path."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / LINK_FILE
    path.write_text(json.dumps({"url": base_url, "pid": os.getpid()}) + "\n", encoding="utf-8")
    return path


def clear_link(home: Path) -> None:
    """Forget this process's inbox (another process's record is left alone)."""
    path = home / LINK_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def serving_inbox(home: Path) -> str | None:
    """The address of the inbox serving for ``home``, if its process still lives."""
    try:
        data = json.loads((home / LINK_FILE).read_text(encoding="utf-8"))
        url, pid = data["url"], data["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(url, str) or not url.startswith("http://127.0.0.1:"):
        return None
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        pass
    return url
