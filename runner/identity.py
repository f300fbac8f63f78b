"""Who runs this process, as far as it can prove it: the OS account by its uid.

An answer names its approver (a name a person gives, or the account's); nothing in it proves
who sent it. What the process that records a decision can prove goes beside it in the audit
row as ``identity``: the uid the kernel runs it under and that account's name from the
password database — never ``$USER`` or ``$LOGNAME``, which any caller sets as it likes.
"""

from __future__ import annotations

import os
import pwd

__all__ = ["os_account", "os_identity"]


def os_identity() -> dict[str, str | int]:
    """``{"os_uid": UID, "os_user": NAME}`` of this process (no name when the uid has none)."""
    uid = os.getuid()
    try:
        return {"os_uid": uid, "os_user": pwd.getpwuid(uid).pw_name}
    except KeyError:  # a uid without an entry (a container's): the number is the proof
        return {"os_uid": uid}


def os_account() -> str:
    """The OS account running this process, by its uid (``uid-1000`` when it has no name)."""
    found = os_identity()
    return str(found.get("os_user") or f"uid-{found['os_uid']}")
