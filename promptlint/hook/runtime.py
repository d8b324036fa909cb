"""Where the warm server listens: a per-user folder (0700) in the runtime dir with a 0600 socket.
Standard library only: the hook client imports this on every prompt."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def runtime_dir() -> Path:
    override = os.environ.get("PROMPTLINT_RUNTIME_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base):
        return Path(base) / "promptlint"
    return Path(tempfile.gettempdir()) / f"promptlint-{os.getuid()}"


def socket_path() -> Path:
    return runtime_dir() / "server.sock"


def pid_path() -> Path:
    return runtime_dir() / "server.pid"


def starting_path() -> Path:
    """Marks a server start in progress, so concurrent hooks do not each spawn one."""
    return runtime_dir() / "server.starting"


def ensure_runtime_dir() -> Path:
    folder = runtime_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder
