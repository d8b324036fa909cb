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


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for_new_spare(env: dict, old: int | None, seconds: float = 120) -> int:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        spare = (_status(env) or {}).get("spare")
        if spare and spare != old:
            return spare
        time.sleep(0.1)
    pytest.fail("no new spare")


def test_a_spare_stopped_for_good_does_not_hold_its_client(server):
    """A spare that is stopped (SIGSTOP) and never dies used to leave its client waiting for
    ever: the request sat in its socket, the server waited on it, the client on the server. The
    server gives the spare a bounded time to offer, kills it, and a fresh child answers: the
    same output as in-process."""
    env, _ = server
    args = [EXE, "check", str(PROMPTS / "orders-table.prompt"), "--format", "concise"]
    local = subprocess.run([*args, "--server", "never"], cwd=REPOS / "ts-api", env=env, capture_output=True, timeout=120)
    spare = _status(env)["spare"]
    os.kill(spare, signal.SIGSTOP)
    try:
        remote = subprocess.run([*args, "--server", "auto"], cwd=REPOS / "ts-api", env=env, capture_output=True, timeout=60)
    finally:
        if _alive(spare):
            os.kill(spare, signal.SIGKILL)
    assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)
    assert local.returncode == 1 and b"\n" in local.stdout
    assert not _alive(spare), "the stopped spare is left behind"
    assert _wait_for_new_spare(env, spare)  # and the server goes on with a new one


def test_a_stopped_server_does_not_hold_a_check_client(server):
    """A server that is itself stopped accepts nothing (the kernel queues the connection): the
    client waits a bounded time for a child to offer, then runs the command in-process."""
    env, pid = server
    args = [EXE, "check", str(PROMPTS / "orders-table.prompt"), "--format", "json"]
    local = subprocess.run([*args, "--server", "never"], cwd=REPOS / "ts-api", env=env, capture_output=True, timeout=120)
    os.kill(pid, signal.SIGSTOP)
    try:
        remote = subprocess.run([*args, "--server", "auto"], cwd=REPOS / "ts-api", env=env, capture_output=True, timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)


def test_a_stopped_spare_leaves_the_hook_within_its_deadline(server):
    """The hook is answered by the server's threads, not a child: a stopped spare must not hold
    it (it passed before the fix too; it pins that nothing a child does can)."""
    env, _ = server
    spare = _status(env)["spare"]
    os.kill(spare, signal.SIGSTOP)
    try:
        data = {"session_id": "s", "transcript_path": "", "cwd": str(REPOS / "ts-api"), "hook_event_name": "UserPromptSubmit",
                "prompt": "Add a database table for customer orders"}
        started = time.monotonic()
        proc = subprocess.run([EXE, "hook", "claude-code", "--deadline", "3"], input=json.dumps(data).encode(), env=env,
                              capture_output=True, timeout=30)
        seconds = time.monotonic() - started
    finally:
        os.kill(spare, signal.SIGKILL)
    assert proc.returncode == 0 and seconds < 4.0
    assert proc.stdout == b"" or "hookSpecificOutput" in json.loads(proc.stdout)


def _sockets(pid: int) -> list[str]:
    return sorted(t for t in _fd_targets(pid) if t.startswith("socket:"))


def _pipe_of(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


def test_children_hold_only_their_own_client_s_connection(server):
    """A child forked while other clients are connected used to inherit their connections (and
    the spare's socket end): it could read or write another client's stream, and a stuck one kept
    that connection open. Client A's `check -` waits on its stdin in the spare; client B's check
    runs meanwhile; the spare forked after B must hold one socket, its own end, and nothing of A."""
    env, _ = server
    spare_a = _status(env)["spare"]
    a = subprocess.Popen([EXE, "check", "-", "--server", "auto"], cwd=REPOS / "ts-api", env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(600):  # until A's child runs: it holds A's stdin pipe
            if _alive(spare_a) and _pipe_of(a.stdin.fileno()) in _fd_targets(spare_a):
                break
            time.sleep(0.05)
        else:
            pytest.fail("A's check never reached the spare")
        assert len(_sockets(spare_a)) == 2  # its own end towards the server, and A's connection
        b = subprocess.run([EXE, "check", str(PROMPTS / "orders-table.prompt"), "--server", "auto"], cwd=REPOS / "ts-api",
                           env=env, capture_output=True, timeout=120)
        assert b.returncode == 1 and b.stdout
        for _ in range(100):  # a spare the server keeps (one forked before it warmed B's repository is replaced)
            spare_c = _wait_for_new_spare(env, spare_a)
            time.sleep(0.5)  # past its first instructions after the fork
            try:
                held = _fd_targets(spare_c)
            except FileNotFoundError:
                continue
            if _status(env)["spare"] == spare_c:
                break
        else:
            pytest.fail("no spare stayed")
        assert len([t for t in held if t.startswith("socket:")]) == 1, f"the new spare holds other clients' sockets: {held}"
        for fd in (a.stdin.fileno(), a.stdout.fileno(), a.stderr.fileno()):
            assert _pipe_of(fd) not in held
        assert a.poll() is None  # A still waits on its stdin, untouched by B
        out, err = a.communicate(b"Add a database table for customer orders", timeout=120)
        assert a.returncode == 1 and b"CON004" in out
    finally:
        if a.poll() is None:
            a.kill()


def test_a_forked_child_drops_other_clients_descriptors_and_keeps_its_own_files(tmp_path):
    """_drop_inherited, in a real fork: a registered client stream and an unlisted socket become
    /dev/null (the number stays taken), the kept socket and this process's own files stay."""
    import socket
    import stat as stat_mod

    from promptlint import server as srv

    other_r, other_w = os.pipe()
    mine_a, mine_b = socket.socketpair()
    stray_a, stray_b = socket.socketpair()
    own = os.open(tmp_path / "index.db", os.O_RDWR | os.O_CREAT, 0o600)
    report_r, report_w = os.pipe()
    with srv._client_fds_lock:
        srv._client_fds.update((other_r, other_w))
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                srv._drop_inherited({mine_a.fileno(), report_w})
                kinds = []
                for fd in (other_r, other_w, stray_a.fileno(), mine_a.fileno(), own):
                    mode = os.fstat(fd).st_mode
                    kinds.append("chr" if stat_mod.S_ISCHR(mode) else "sock" if stat_mod.S_ISSOCK(mode) else "reg" if stat_mod.S_ISREG(mode) else "other")
                os.write(report_w, " ".join(kinds).encode())
            finally:
                os._exit(0)
        os.close(report_w)
        os.waitpid(pid, 0)
        report = os.read(report_r, 1000).decode()
    finally:
        with srv._client_fds_lock:
            srv._client_fds.difference_update((other_r, other_w))
        for fd in (other_r, other_w, own, report_r):
            os.close(fd)
        for s in (mine_a, mine_b, stray_a, stray_b):
            s.close()
    assert report == "chr chr chr sock reg"


def test_a_client_that_never_says_go_gets_no_byte_on_its_streams(server, tmp_path):
    """The handshake that lets a client give up and run the command itself: a child offers and
    runs nothing until the client says go. A client that reads the offer and stays silent gets
    the server's refusal (the child is killed in time) and not a byte on its stdout."""
    import socket

    from promptlint.hook import runtime
    from promptlint.remote import _field

    env, _ = server
    out_r, out_w = os.pipe()
    argv = ["check", str(PROMPTS / "orders-table.prompt")]
    fields = [str(REPOS / "ts-api"), "utf-8", str(len(argv)), *argv, *(f"{k}={v}" for k, v in env.items())]
    body = b"".join(_field(f) for f in fields)
    old = os.environ.get("PROMPTLINT_RUNTIME_DIR")
    os.environ["PROMPTLINT_RUNTIME_DIR"] = env["PROMPTLINT_RUNTIME_DIR"]
    try:
        path = runtime.cli_socket_path()
    finally:
        if old is None:
            del os.environ["PROMPTLINT_RUNTIME_DIR"]
        else:
            os.environ["PROMPTLINT_RUNTIME_DIR"] = old
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    try:
        sock.connect(path)
        sock.sendall(b"cli2 %d\n" % len(body) + body)
        got = b""
        while not got.endswith(b"\n"):
            got += sock.recv(1)
        assert got == b"send\n"
        socket.send_fds(sock, [b"+"], [0, out_w, out_w])
        got = b""
        while not got.endswith(b"\n"):
            got += sock.recv(1)
        assert got == b"taken\n"
        got = b""
        while not got.endswith(b"\n"):  # we say nothing: the server gives up on that child
            chunk = sock.recv(1)
            if not chunk:
                break
            got += chunk
        assert got == b"refused lost\n"
    finally:
        sock.close()
        os.close(out_w)
    os.set_blocking(out_r, False)
    try:
        leaked = os.read(out_r, 1000)
    except BlockingIOError:
        leaked = b""
    finally:
        os.close(out_r)
    assert leaked == b""


def test_the_server_s_warm_up_imports_everything_a_lint_against_a_repository_needs(tmp_path):
    """A child forked while another thread imports a module inherits that module's import lock
    held and hangs at its own first import of it (the first `check` against a repository did, with
    promptlint/repo/resolve.py half read): after the warm-up, which runs before any fork, a lint
    against a repository (index built, then read back) imports nothing more."""
    repo = REPOS / "ts-api"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from promptlint import pipeline\n"
        "from promptlint.config import Config\n"
        "from promptlint.server import PromptlintServer\n"
        "PromptlintServer().warm_up()\n"
        "before = set(sys.modules)\n"
        "linter = pipeline.shared_linter(Config())\n"
        "repo = Path(sys.argv[1])\n"
        "linter.lint('Fix the handler in src/index.ts and its getUsr call', repo=repo)\n"
        "pipeline._warm_repos.clear()\n"
        "linter.lint('Fix the handler in src/index.ts and its getUsr call', repo=repo)\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    env = {**os.environ, "PROMPTLINT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", script, str(repo)], env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == []


def test_a_child_forked_while_a_grammar_loads_gets_its_own_grammar_lock():
    """The server's background warm-up may hold the grammar table's lock (loading a grammar)
    when a `check` child is forked; the child must still load grammars, not wait for ever."""
    script = (
        "import os, sys, threading\n"
        "from promptlint.repo import languages\n"
        "languages._lock.acquire()\n"  # as a thread of the parent loading a grammar would hold it
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    signal = __import__('signal'); signal.alarm(20)\n"
        "    os._exit(0 if languages.toolkit('python') is not None else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "0"


def _pending(sock) -> bytes:
    sock.setblocking(False)
    try:
        return sock.recv(64)
    except BlockingIOError:
        return b""


def test_only_the_spare_next_in_line_is_told_to_warm_up(monkeypatch):
    """A warm-up lint writes (and so copies) pages the spare shares with the server: a second warm
    spare cost as much memory again. The spare next in line is told to warm up; the one behind it
    only when the first is taken (its warm-up then runs while the first serves)."""
    import socket

    from promptlint import server as srv_mod

    srv = srv_mod.PromptlintServer(idle_timeout=60)
    sleepers: list[subprocess.Popen] = []
    ends: list[socket.socket] = []

    def fork_spare(state):  # a real process stands in for each spare, so that discarding one kills only it
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ends.append(theirs)
        sleepers.append(subprocess.Popen(["sleep", "60"]))
        return srv_mod._Spare(sleepers[-1].pid, ours, state)

    monkeypatch.setattr(srv, "_fork_spare", fork_spare)
    srv.server = object()  # serving (replenish_spare forks only while it is)
    try:
        srv.replenish_spare()
        assert len(ends) == srv_mod.SPARES == 2
        assert [_pending(end) for end in ends] == [srv_mod._WARM, b""]
        taken = srv._take_spare()
        assert taken is not None and taken.pid == sleepers[0].pid
        assert _pending(ends[1]) == srv_mod._WARM
        srv.replenish_spare()  # a new one behind the now-first spare, cold
        assert len(ends) == 3 and _pending(ends[2]) == b"" and _pending(ends[1]) == b""
    finally:
        srv.server = None
        for proc in sleepers:
            proc.kill()
            proc.wait()
