"""The small files a user names (plans, env files, tenant files), read with a bound.

A path may name anything: ``/dev/zero``, a FIFO nobody writes to, a log of many gigabytes.
``read_small_file`` reads a regular file, or a pipe (``--env-file <(…)``), of at most
``MAX_FILE_BYTES`` and refuses anything else with an ``OSError`` whose ``strerror`` says why in
a few words, so a caller's one-line message ("plan F: cannot read it: …") names the file and
the reason, never a ``MemoryError`` or a hang.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["MAX_FILE_BYTES", "read_small_file"]

MAX_FILE_BYTES = 1 << 20
"""1 MiB: a plan, an env file or a tenant file is a few kilobytes; anything near this is a
mistake (a wrong path), not configuration."""

_READ = 1 << 16


def read_small_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``, a regular file or a pipe of at most ``limit`` bytes.

    Raises:
        FileNotFoundError, PermissionError, IsADirectoryError: As ``open`` would.
        OSError: ``path`` is a device, socket or the like (``strerror`` "not a regular file"),
            or holds more than ``limit`` bytes ("larger than the 1 MiB limit").
    """
    # Non-blocking open: opening a FIFO for reading would otherwise wait for a writer forever.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if stat.S_ISFIFO(mode):
            os.set_blocking(fd, True)
        elif not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file")
        elif os.fstat(fd).st_size > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, min(_READ, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # a pipe, or a file that grew while being read
                raise _too_large(limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_large(limit: int) -> OSError:
    shown = f"{limit >> 20} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"
    return OSError(errno.EFBIG, f"larger than the {shown} limit")
