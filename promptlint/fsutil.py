"""File access that untrusted paths cannot turn against us.

A repository's files, a prompt path, a transcript path or a config file can name a FIFO (a read
blocks forever), a device (`/dev/zero`: reads until memory runs out), a huge file, or reach outside
the repository through a symlinked folder. Every read of such a path goes through
:func:`read_regular`: a non-blocking open that refuses anything but a regular file (checked with
fstat on the opened descriptor, so the check and the read see the same file), a size cap, and,
with ``root``, a check that the resolved path stays inside the root. Reads of many files below a
repository root go through :class:`Beneath`, which walks each folder with O_NOFOLLOW descriptors, so
no symlink, even one swapped in between a listing and the read, leads outside the root.

Caches and runtime folders go through :func:`private_dir`: created 0700, and trusted only when ours
and not writable by anyone else.

Writes go through :func:`atomic_write`: a temporary file beside the target, then rename, so a
reader never sees half of one.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
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
        if not follow_symlinks and exc.errno in (errno.ELOOP, errno.EMLINK):
            raise NotRegularFile(path, "a symlink") from None
        raise
    try:
        return _read_fd(fd, path, limit, tail)
    finally:
        os.close(fd)


def _read_fd(fd: int, path: str | os.PathLike[str], limit: int, tail: bool = False) -> bytes:
    """The checks and the bounded read of :func:`read_regular`, on an open descriptor."""
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


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NOCTTY", 0))
# openat() with O_NOFOLLOW on every component: the race-free way to stay below a root (POSIX).
_HAVE_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY") and hasattr(os, "O_NOFOLLOW")


class Beneath:
    """Reads of files *below* a root (paths relative to it, POSIX separators) that no symlink can
    lead out of, even one swapped in while we read: each folder on the way is opened relative to
    its parent's descriptor with O_NOFOLLOW, so a folder replaced by a symlink (`rm -rf lib;
    ln -s /elsewhere lib`) is refused, and the descriptors of the current folder chain are reused
    for the next path (listings are sorted, so neighbours share folders). Not thread-safe: one per
    thread or process. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = os.fspath(root)
        self._root_fd: int | None = None
        self._chain: list[tuple[str, int]] = []  # (folder name, fd), from the root down

    def __enter__(self) -> "Beneath":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for _, fd in self._chain:
            os.close(fd)
        self._chain.clear()
        if self._root_fd is not None:
            os.close(self._root_fd)
            self._root_fd = None

    @staticmethod
    def _parts(rel: str) -> list[str]:
        parts = rel.split("/")
        if any(p in ("", ".", "..") for p in parts) or rel.startswith("/"):
            raise OutsideRoot(rel, "not a plain path below the repository")
        return parts

    def _folder_fd(self, rel: str, folders: list[str]) -> int:
        if self._root_fd is None:
            self._root_fd = os.open(self.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        chain = self._chain
        keep = 0
        while keep < len(chain) and keep < len(folders) and chain[keep][0] == folders[keep]:
            keep += 1
        while len(chain) > keep:
            os.close(chain.pop()[1])
        fd = chain[-1][1] if chain else self._root_fd
        for name in folders[keep:]:
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise OutsideRoot(rel, "goes through a symlink or a non-folder") from None
                raise
            chain.append((name, fd))
        return fd

    def read(self, rel: str, limit: int) -> bytes:
        """The bytes of the regular file ``rel`` (at most ``limit``); UnsafeRead or OSError otherwise."""
        if not _HAVE_DIR_FD:
            self._parts(rel)
            return read_regular(os.path.join(self.root, rel), limit, root=self.root, follow_symlinks=False)
        parts = self._parts(rel)
        parent = self._folder_fd(rel, parts[:-1])
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):
                raise NotRegularFile(rel, "a symlink") from None
            raise
        try:
            return _read_fd(fd, rel, limit)
        finally:
            os.close(fd)

    def lstat(self, rel: str) -> os.stat_result:
        """lstat of ``rel`` reached without following a symlink on the way (OSError if none)."""
        if not _HAVE_DIR_FD:
            self._parts(rel)
            full = os.path.join(self.root, rel)
            if not inside(os.path.dirname(full) or self.root, self.root):
                raise OutsideRoot(rel, "resolves outside the repository")
            return os.lstat(full)
        parts = self._parts(rel)
        parent = self._folder_fd(rel, parts[:-1])
        return os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)


def read_beneath(root: str | os.PathLike[str], rel: str, limit: int) -> bytes:
    """One :meth:`Beneath.read`: a regular file below ``root`` reached without any symlink."""
    with Beneath(root) as reader:
        return reader.read(rel, limit)


def is_file_beneath(root: str | os.PathLike[str], rel: str) -> bool:
    """Whether ``rel`` is a regular file below ``root``, reached without following any symlink."""
    try:
        with Beneath(root) as reader:
            return stat.S_ISREG(reader.lstat(rel).st_mode)
    except (OSError, ValueError):
        return False


def cache_dir() -> Path:
    """promptlint's cache folder: $PROMPTLINT_CACHE_DIR, else the user's cache folder."""
    override = os.environ.get("PROMPTLINT_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("promptlint", appauthor=False))


def private_dir(path: Path, *, ours: bool = False) -> str | None:
    """Create ``path`` (0700) if needed; None when it is ours to trust, else why not: a cache or
    runtime folder that another user owns or can write could hand us data of their choosing.

    Its parent must be ours and writable by nobody else too. A parent we create is made 0700; with
    ``ours`` (the parent is promptlint's own default folder, not one the user named), a parent of
    ours that an older, looser umask left group-writable is tightened instead of refused. A folder
    the user named is never chmod'ed (a shared 1777 folder must keep its sticky bit)."""
    try:
        parent = path.parent
        if not parent.exists():
            parent.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.mkdir(parent, 0o700)
            except FileExistsError:
                pass
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        for folder, own in ((parent, False), (path, True)):
            st = os.stat(folder) if not own else os.lstat(folder)
            if own and not stat.S_ISDIR(st.st_mode):
                return f"{folder} is {describe_mode(st.st_mode)}, not a folder"
            if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
                return f"{folder} belongs to another user"
            if st.st_mode & 0o022:
                if ours and not own and not os.path.islink(folder):
                    os.chmod(folder, stat.S_IMODE(st.st_mode) & ~0o022)
                    continue
                return f"{folder} is writable by other users"
        if stat.S_IMODE(os.lstat(path).st_mode) & 0o077:
            os.chmod(path, 0o700)  # ours, and only readable by others: make it private
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


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


# Held while subprocess.Popen starts a child, and by the warm server while it forks (server._fork):
# a fork in between copies the pipes Popen made for that child (its stdout's write end, the pipe
# that reports the exec) into a process that never execs, so the parent waits for an end of file
# that comes only when that process exits (a spare child waits for minutes).
spawn_lock = threading.Lock()
