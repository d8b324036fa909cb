"""The warm server forks (a spare child, a `check` child) while its threads start git: a fork in
the middle of subprocess.Popen copies the new child's pipes into a process that never execs, and
the thread then waits for git's end of file until that process exits (minutes, for a spare)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import threading
import time

import pytest

from promptlint.repo import files
from promptlint.server import PromptlintServer

from .repo_helpers import git, write

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/self/fd")


def _pipe_write_ends() -> set[int]:
    """The inodes of the pipes this process holds a write end of."""
    out = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            st = os.fstat(int(name))
            writable = fcntl.fcntl(int(name), fcntl.F_GETFL) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)
        except OSError:
            continue
        if writable and (st.st_mode & 0o170000) == 0o010000:  # a FIFO: a pipe
            out.add(st.st_ino)
    return out


def test_a_fork_while_git_is_being_started_keeps_none_of_gits_pipes(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    write(root, "a.py", "x = 1\n")
    git(root, "init", "-q")
    spawning, made = threading.Event(), {}
    execute_child = subprocess.Popen._execute_child

    def slow_execute_child(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        made["pipes"] = _pipe_write_ends()  # git's stdout pipe is made, not yet handed over
        spawning.set()
        time.sleep(0.5)  # the window a fork in another thread falls into
        return execute_child(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "_execute_child", slow_execute_child)
    before = _pipe_write_ends()
    command = threading.Thread(target=files._git, args=(root, "rev-parse", "--is-inside-work-tree"))
    command.start()
    assert spawning.wait(10)
    said_r, said_w = os.pipe()
    pid = PromptlintServer()._fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(said_w, json.dumps(sorted(_pipe_write_ends())).encode())
        finally:
            os._exit(0)
    os.close(said_w)
    held = set(json.loads(os.read(said_r, 1 << 20)))
    os.close(said_r)
    os.waitpid(pid, 0)
    command.join(30)
    gits = made["pipes"] - before
    assert gits and not (held & gits), "the forked child holds git's pipe"
