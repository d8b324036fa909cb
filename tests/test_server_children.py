"""What the warm server's forked children hold, and what a client gets when one dies before it
took the request (promptlint/server.py): a spare or a `check` child must not keep the server's
lock or its listeners, and a request its child never read is run by the client in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import PROMPTS, REPOS

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/<pid>/fd")

EXE = str(Path(sys.executable).with_name("promptlint"))


def _status(env: dict) -> dict | None:
    proc = subprocess.run([EXE, "server", "--status"], env=env, capture_output=True, text=True, timeout=30)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


@pytest.fixture
def server(tmp_path):
    env = {**os.environ, "PROMPTLINT_RUNTIME_DIR": str(tmp_path / "rt"), "PROMPTLINT_STATE_DIR": str(tmp_path / "state"),
           "PROMPTLINT_CACHE_DIR": str(tmp_path / "cache")}
    # the HTTP front end is on when the user has a secret
    subprocess.run([sys.executable, "-c", "from promptlint.hook import httpd; httpd.ensure_secret()"], env=env, check=True, timeout=60)
    proc = subprocess.Popen([EXE, "server", "--idle-timeout", "120"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            status = _status(env)
            if status is not None and status.get("spare"):
                break
            time.sleep(0.1)
        else:
            pytest.fail("server (with a spare) did not start")
        yield env, proc.pid
    finally:
        subprocess.run([EXE, "server", "--stop"], env=env, capture_output=True, timeout=30)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _fd_targets(pid: int) -> set[str]:
    out = set()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.add(os.readlink(f"/proc/{pid}/fd/{name}"))
        except OSError:
            pass
    return out


def _listening_inode(port: int) -> str:
    with open("/proc/net/tcp") as fh:
        for line in fh.read().splitlines()[1:]:
            fields = line.split()
            if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":
                return fields[9]
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def test_a_spare_child_holds_neither_the_server_lock_nor_the_http_listener(server):
    env, pid = server
    rt = Path(env["PROMPTLINT_RUNTIME_DIR"])
    spare = _status(env)["spare"]
    port = json.loads((rt / "http.json").read_text())["port"]
    listener = f"socket:[{_listening_inode(port)}]"
    lock = str((rt / "server.lock").resolve())
    parent = _fd_targets(pid)
    assert lock in parent and listener in parent  # what the test looks for is there to be found
    child = _fd_targets(spare)
    assert lock not in child, "the spare keeps the server's flock: no new server can start while it lives"
    assert listener not in child, "the spare keeps the HTTP port bound"


def test_a_request_the_spare_never_read_is_run_in_process(server):
    """The spare takes the request off a socket pair; one that dies before reading it (killed,
    out of memory) loses it without a byte written to the client. The server sees it never said
    it took the request, and refuses; the client then runs the command itself: the same answer,
    no error, no hang."""
    env, _ = server
    args = [EXE, "check", str(PROMPTS / "orders-table.prompt"), "--format", "concise"]
    local = subprocess.run([*args, "--server", "never"], cwd=REPOS / "ts-api", env=env, capture_output=True, timeout=120)
    status = _status(env)
    spare = status["spare"]
    os.kill(spare, signal.SIGSTOP)  # alive, but reads nothing: the request waits in its socket
    try:
        client = subprocess.Popen([*args, "--server", "auto"], cwd=REPOS / "ts-api", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for polls in range(1, 300):  # until the server has the request (each status call counts one too)
            if _status(env)["requests"] > status["requests"] + polls:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # and has handed it over
    finally:
        os.kill(spare, signal.SIGKILL)
    out, err = client.communicate(timeout=120)
    assert (client.returncode, out, err) == (local.returncode, local.stdout, local.stderr)
    assert local.returncode == 1 and b"\n" in local.stdout  # a real answer, with findings
