"""File access that untrusted paths cannot turn against us.

A repository's files, a prompt path, a transcript path or a config file can name a FIFO (a read
blocks forever), a device (`/dev/zero`: reads until memory runs out), a huge file, or reach outside
the repository through a symlinked folder. Every read of such a path goes through
:func:`read_regular`: a non-blocking open that refuses anything but a regular file (checked with
fstat on the opened descriptor, so the check and the read see the same file), a size cap, and,
with ``root``, a check that the resolved path stays inside the root.

Writes go through :func:`atomic_write`: a temporary file beside the target, then rename, so a
reader never sees half of one.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class UnsafeRead(OSError):
    """The path is not something we read: not a regular file, too large, or outside the root."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        super().__init__(reason)
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class NotRegularFile(UnsafeRead):
    pass


class TooLarge(UnsafeRead):
    def __init__(self, path: str | os.PathLike[str], size: int, limit: int):
        super().__init__(path, f"{size} bytes is over the {limit}-byte limit")
        self.size = size
        self.limit = limit


class OutsideRoot(UnsafeRead):
    pass


_KIND = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symlink",
}


def describe_mode(mode: int) -> str:
    return _KIND.get(stat.S_IFMT(mode), "not a regular file")


def inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether ``path``, with every symlink on the way resolved, is ``root`` or below it."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def read_regular(path: str | os.PathLike[str], limit: int, *, root: str | os.PathLike[str] | None = None,
                 follow_symlinks: bool = True, tail: bool = False) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (or its last ``limit`` bytes with
    ``tail``). Raises :class:`UnsafeRead` (an OSError) for anything else; other OSErrors as usual."""
    if root is not None and not inside(path, root):
        raise OutsideRoot(path, "resolves outside the repository")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and exc.errno in (getattr(os, "ELOOP", -1), getattr(os, "EMLINK", -1)):
            raise NotRegularFile(path, "a symlink") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, describe_mode(st.st_mode))
        if st.st_size > limit and not tail:
            raise TooLarge(path, st.st_size, limit)
        if tail and st.st_size > limit:
            os.lseek(fd, st.st_size - limit, os.SEEK_SET)
        chunks: list[bytes] = []
        remaining = limit + 1  # one byte more than allowed tells a file that grew meanwhile
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            if tail:
                return data[-limit:]
            raise TooLarge(path, len(data), limit)
        return data
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
