"""Block mode's memory: a prompt that was held back goes through when the user sends it again soon.

The user read the advice and insists; a linter that blocks the same prompt twice gets uninstalled.
What is kept is a salted digest of (project, prompt) and when it was blocked, never the prompt
itself: one small JSON file per user in the runtime dir (0700), 0600, read and rewritten under an
flock so the Unix-socket and HTTP front ends of one server, or two servers racing at start, agree
(a torn file reads as empty: the worst case is one more block).
Bounded: expired entries go, and at most MAX_ENTRIES stay.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

from . import runtime

WINDOW = 120.0  # seconds in which sending the same prompt again lets it through
MAX_ENTRIES = 64
_MAX_FILE = 64_000


def _path() -> Path:
    return Path(runtime.runtime_dir()) / "block-memory.json"


def _key(prompt: str, project: str | None) -> str:
    # Salted by the user's id so the file says nothing comparable across users.
    data = f"{os.getuid()}\0{project or ''}\0{prompt.strip()}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:32]


def _read(fd: int) -> dict[str, float]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, _MAX_FILE + 1)
    if not raw or len(raw) > _MAX_FILE:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)}


def _write(fd: int, entries: dict[str, float]) -> None:
    data = json.dumps(entries, sort_keys=True).encode()
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)


def _open() -> int:
    runtime.ensure_runtime_dir()
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(_path(), flags, 0o600)
    st = os.fstat(fd)
    if st.st_uid != os.getuid():
        os.close(fd)
        raise PermissionError("block memory file is owned by another user")
    if st.st_mode & 0o077:
        os.fchmod(fd, 0o600)
    return fd


def _prune(entries: dict[str, float], now: float) -> dict[str, float]:
    live = {k: t for k, t in entries.items() if abs(now - t) <= WINDOW}  # a racing writer may be a moment ahead
    if len(live) > MAX_ENTRIES:
        live = dict(sorted(live.items(), key=lambda kv: kv[1])[-MAX_ENTRIES:])
    return live


def _update(change, now: float):  # type: ignore[no-untyped-def]
    """Apply `change(entries) -> result` to the live entries under the file's lock and write them
    back; None when the file cannot be used (the callers then act as if nothing was remembered)."""
    try:
        fd = _open()
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        entries = _prune(_read(fd), now)
        result = change(entries)
        _write(fd, _prune(entries, now))
        return result
    except OSError:
        return None
    finally:
        os.close(fd)


def insists(prompt: str, project: str | None, now: float | None = None) -> bool:
    """True when this prompt was blocked within the window: the user is sending it again.

    The pass is used up (a third send of the same prompt is judged afresh). Any trouble with
    the file counts as "not insisting": the caller blocks as usual and says how to get through."""
    now = time.time() if now is None else now
    key = _key(prompt, project)
    return bool(_update(lambda entries: entries.pop(key, None) is not None, now))


def remember_block(prompt: str, project: str | None, now: float | None = None) -> bool:
    """Note that this prompt was just blocked; False when it could not be noted."""
    now = time.time() if now is None else now
    key = _key(prompt, project)

    def note(entries: dict[str, float]) -> bool:
        entries[key] = now
        return True

    return bool(_update(note, now))
