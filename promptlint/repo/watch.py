"""Whether anything below a repository changed since an index of it was built (Linux inotify).

A warm server answers `check` from the index it already has when nothing changed, instead of
rescanning the tree on every run (the rescan, about 0.1 s on django, was most of a one-shot check
through the server). The watcher is armed *before* the scan that builds the index, so an edit made
during the scan counts as a change too; any doubt counts as a change (a full event queue, a folder
that could not be watched, an error, a platform without inotify): the caller then rescans.

Every listed folder is watched (not ignored ones such as node_modules: they are not listed), and
`.git` itself, whose index and HEAD decide which files are tracked. Forked `check` children share
the descriptor: they only ask how many bytes of events are pending (FIONREAD), never read them,
so that the server still sees every event.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct
import sys
import termios
from typing import Iterable

_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
# modify, attrib, close_write, moved_from, moved_to, create, delete, delete_self, move_self
_MASK = 0x00000002 | 0x00000004 | 0x00000008 | 0x00000040 | 0x00000080 | 0x00000100 | 0x00000200 | 0x00000400 | 0x00000800
_IN_ONLYDIR = 0x01000000
_IN_DONT_FOLLOW = 0x02000000
MAX_FOLDERS = 20_000  # beyond this a rescan is cheaper than the watches (and the user's limit is near)

_libc = None


def _lib():  # type: ignore[no-untyped-def]
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.inotify_init1.argtypes = [ctypes.c_int]
        _libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    return _libc


class Watcher:
    """inotify watches on a repository's folders; ``changed()`` says whether any event came."""

    def __init__(self, fd: int, owner: int) -> None:
        self.fd = fd
        self._owner = owner  # the pid that may drain the queue (a forked child must not)
        self._dirty = False

    @classmethod
    def arm(cls, root: str, folders: Iterable[str]) -> "Watcher | None":
        """Watch ``root``, its ``.git`` folder and the given folders (relative to root); None when
        inotify is not available or a folder cannot be watched (too many, the user's limit)."""
        if not sys.platform.startswith("linux"):
            return None
        wanted = sorted({"", ".git", *folders})
        if len(wanted) > MAX_FOLDERS:
            return None
        try:
            libc = _lib()
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        watcher = cls(fd, os.getpid())
        flags = _MASK | _IN_ONLYDIR | _IN_DONT_FOLLOW
        for rel in wanted:
            path = os.path.join(root, rel) if rel else root
            if libc.inotify_add_watch(fd, os.fsencode(path), flags) < 0:
                err = ctypes.get_errno()
                if rel == ".git" and err in (errno.ENOENT, errno.ENOTDIR):
                    continue  # not a git checkout, or a worktree whose .git is a file
                watcher.close()
                return None  # a folder we cannot watch: we could not tell its changes
        return watcher

    def pending(self) -> bool:
        """Whether events wait in the queue (read by no one: safe in a forked child)."""
        buf = bytearray(4)
        try:
            fcntl.ioctl(self.fd, termios.FIONREAD, buf)
        except OSError:
            return True
        return struct.unpack("i", bytes(buf))[0] > 0

    def changed(self) -> bool:
        """True once any event came since arming (or the watcher failed); stays True."""
        if self._dirty or self.fd < 0:
            return True
        if self.pending():
            self._dirty = True
            if os.getpid() == self._owner:
                self._drain()
        return self._dirty

    def _drain(self) -> None:
        try:
            while os.read(self.fd, 65536):
                pass
        except OSError:
            pass

    def close(self) -> None:
        if self.fd >= 0 and os.getpid() == self._owner:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd = -1

    def __del__(self) -> None:
        self.close()


def folders_of(paths: Iterable[str]) -> set[str]:
    """Every folder (relative, POSIX) on the way to the given relative file paths."""
    out: set[str] = set()
    for path in paths:
        folder = path.rpartition("/")[0]
        while folder and folder not in out:
            out.add(folder)
            folder = folder.rpartition("/")[0]
    return out
