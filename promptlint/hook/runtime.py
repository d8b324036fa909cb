"""Where the warm server listens, and the checks that keep another local user out of it.

The server's folder holds a Unix socket that receives every prompt and answers with text Claude
Code puts in front of the model, so whoever owns that folder or that socket can read prompts and
inject instructions. The folder is therefore chosen from places only this user controls, created
by us with mode 0700, and checked (a real directory, not a symlink, owned by this user, no group or
other permissions) before every use; the socket is checked too (owned by this user, and on Linux
the peer's credentials after connecting). A folder that fails a check is refused with one line on
stderr and the prompt goes through: we never chmod or take over a folder we did not create.

Where, in order:
1. ``$PROMPTLINT_RUNTIME_DIR``: used as is when it is private; when it is shared (``/tmp``, mode
   1777) a private ``promptlint-<uid>`` folder inside it;
2. ``$XDG_RUNTIME_DIR/promptlint`` when ``$XDG_RUNTIME_DIR`` is this user's private folder;
3. ``$XDG_CACHE_HOME/promptlint/run`` (``~/.cache/promptlint/run``) when the home folder is this
   user's: a shared ``/tmp`` is where the hijack happens, so it is the last resort;
4. ``<tmp>/promptlint-<uid>``.

Standard library only, and only its cheapest part (``_socket``, not ``socket``, which imports enum;
string paths, not pathlib, which imports re): the hook client imports this on every prompt.
"""

from __future__ import annotations

import _socket
import os
import stat
import sys

# Unix socket paths are limited to 108 bytes (104 on macOS), the terminating NUL included.
_MAX_SOCKET_PATH = 100


class UnsafeRuntimeDir(OSError):
    """The runtime folder or its socket is not this user's own: refuse it."""


class NotASocket(ConnectionRefusedError):
    """Something other than a socket sits at the socket path in our own private folder (a crash
    left it, or a mistake): no server listens there, and the server replaces it when it starts."""


def _uid() -> int:
    return os.getuid()


def _private(st: os.stat_result) -> bool:
    return stat.S_ISDIR(st.st_mode) and st.st_uid == _uid() and not st.st_mode & 0o077


def _owned_dir(path: str) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == _uid()


def runtime_dir() -> str:
    uid = _uid()
    override = os.environ.get("PROMPTLINT_RUNTIME_DIR")
    if override:
        override = os.path.abspath(override)
        try:
            st = os.lstat(override)
        except OSError:
            return override  # ensure_runtime_dir creates it, private
        return override if _private(st) else os.path.join(override, f"promptlint-{uid}")
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        try:
            if _private(os.lstat(base)):
                return os.path.join(base, "promptlint")
        except OSError:
            pass
    home = os.path.expanduser("~")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    candidate = os.path.join(cache, "promptlint", "run")
    if os.path.isabs(candidate) and _owned_dir(home) and len(candidate) + len("/server.sock") <= _MAX_SOCKET_PATH:
        return candidate
    return os.path.join(_tmp(), f"promptlint-{uid}")


def _tmp() -> str:
    """tempfile.gettempdir() without importing tempfile (and random, shutil...) on every prompt."""
    for name in ("TMPDIR", "TEMP", "TMP"):
        value = os.environ.get(name)
        if value and os.path.isabs(value) and os.path.isdir(value):
            return value
    return "/tmp"


def socket_path() -> str:
    return os.path.join(runtime_dir(), "server.sock")


def cli_socket_path() -> str:
    """Where the server runs `check`, `rewrite` and `advise` for the command line (promptlint.remote)."""
    return os.path.join(runtime_dir(), "cli.sock")


def pid_path() -> str:
    return os.path.join(runtime_dir(), "server.pid")


def starting_path() -> str:
    """Marks a server start in progress, so concurrent hooks do not each spawn one."""
    return os.path.join(runtime_dir(), "server.starting")


def failed_path() -> str:
    """Written by a server that could not start, so hooks stop waiting for it for a while."""
    return os.path.join(runtime_dir(), "server.failed")


def check_runtime_dir(folder: str | None = None) -> str:
    """The runtime folder, after checking it is a private directory of this user (not a symlink)."""
    folder = folder or runtime_dir()
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UnsafeRuntimeDir(f"cannot check {folder}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeRuntimeDir(f"{folder} is a symlink; refusing it")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeRuntimeDir(f"{folder} is not a directory; refusing it")
    if st.st_uid != _uid():
        raise UnsafeRuntimeDir(f"{folder} belongs to uid {st.st_uid}, not to you; refusing it (someone else may be listening there)")
    if st.st_mode & 0o077:
        raise UnsafeRuntimeDir(f"{folder} has mode {stat.S_IMODE(st.st_mode):04o}, not 0700; refusing it")
    return folder


def ensure_runtime_dir() -> str:
    """Create the runtime folder (0700) when it is missing, then check it."""
    folder = runtime_dir()
    if not os.path.lexists(folder):
        os.makedirs(os.path.dirname(folder), mode=0o700, exist_ok=True)
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass  # another process made it first: the check below decides
    return check_runtime_dir(folder)


def check_socket_file(path: str) -> None:
    """Before connecting: the socket file is a socket owned by this user."""
    st = os.lstat(path)  # FileNotFoundError: no server
    if not stat.S_ISSOCK(st.st_mode):
        raise NotASocket(f"{path} is not a socket")
    if st.st_uid != _uid():
        raise UnsafeRuntimeDir(f"{path} belongs to uid {st.st_uid}, not to you; refusing it")


def peer_uid(sock) -> int | None:  # type: ignore[no-untyped-def]
    """The uid of the process at the other end of a connected Unix socket, where the OS says
    (Linux: SO_PEERCRED, a struct ucred of three C ints: pid, uid, gid)."""
    if hasattr(_socket, "SO_PEERCRED"):
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        return int.from_bytes(creds[4:8], sys.byteorder, signed=True)
    return None


def check_peer(sock) -> None:  # type: ignore[no-untyped-def]
    uid = peer_uid(sock)
    if uid is not None and uid != _uid():
        raise UnsafeRuntimeDir(f"the process on the server socket runs as uid {uid}, not as you; refusing it")


def check_client(sock) -> None:  # type: ignore[no-untyped-def]
    """The server's check of a client: this user (SO_PEERCRED), and one that sees the same files.

    The server reads the paths a request names (a `check` command line, its cwd, the hook's cwd and
    transcript) and answers with what it found, so a process of this user that is confined to a
    narrower view (a sandbox's own mount namespace or a chroot: Claude Code's sandboxed Bash, a
    container sharing the folder) would otherwise read through the server what it cannot read
    itself. Refused unless its mount namespace and root are the server's (Linux; elsewhere the uid
    check alone)."""
    check_peer(sock)
    if not hasattr(_socket, "SO_PEERCRED"):
        return
    pid = int.from_bytes(sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)[0:4], sys.byteorder, signed=True)
    for name in ("ns/mnt", "root"):
        try:
            mine = os.stat(f"/proc/self/{name}")
        except OSError:
            return  # no /proc here: nothing to compare with
        try:
            theirs = os.stat(f"/proc/{pid}/{name}") if pid > 0 else None
        except OSError:
            theirs = None
        if theirs is None or (theirs.st_dev, theirs.st_ino) != (mine.st_dev, mine.st_ino):
            raise UnsafeRuntimeDir(f"the client (pid {pid}) sees another file system ({name} differs); refusing it")


def connect(path: str | None = None, timeout: float = 1.0):  # type: ignore[no-untyped-def]
    """A connected, checked socket to the server. FileNotFoundError / ConnectionRefusedError when
    none runs; UnsafeRuntimeDir when the folder or the socket is not this user's."""
    folder = check_runtime_dir()
    path = path or os.path.join(folder, "server.sock")
    check_socket_file(path)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(max(0.001, timeout))
        sock.connect(path)
        check_peer(sock)
    except BaseException:
        sock.close()
        raise
    return sock
