"""`check`, `rewrite` and `advise` through the warm server give exactly what they give in-process
(issue 13): same stdout, stderr and exit code, byte for byte, in a pipe and on a terminal, with the
client's folder, environment and stdin."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import PROMPTS, REPOS

EXE = str(Path(sys.executable).with_name("promptlint"))
TS = REPOS / "ts-api"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    rt = tmp_path_factory.mktemp("remote") / "rt"
    env = {**os.environ, "PROMPTLINT_RUNTIME_DIR": str(rt)}
    proc = subprocess.Popen([EXE, "server", "--idle-timeout", "300"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if subprocess.run([EXE, "server", "--status"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail("server did not start")
    yield env
    subprocess.run([EXE, "server", "--stop"], env=env, capture_output=True)
    proc.wait(timeout=30)


def requests(env: dict) -> int:
    return json.loads(subprocess.run([EXE, "server", "--status"], env=env, capture_output=True, text=True).stdout)["requests"]


def both(env: dict, *args: str, cwd: Path = TS, input: bytes | None = None, extra_env: dict | None = None):
    runs = []
    for mode in ("never", "auto"):
        e = {**env, **(extra_env or {})}
        runs.append(subprocess.run([EXE, *args, "--server", mode], cwd=cwd, env=e, input=input, capture_output=True, timeout=120))
    return runs


CASES = [
    ("check", str(PROMPTS / "orders-table.prompt")),
    ("check", str(PROMPTS / "orders-table.prompt"), "--format", "json"),
    ("check", "../../prompts/fix-it.prompt", "--format", "sarif"),  # relative to the client's folder
    ("check", str(PROMPTS / "orders-table-explicit.prompt"), "-v"),
    ("check", str(PROMPTS), "--format", "concise", "--select", "VAG,CON"),
    ("check", "/dev/zero"),  # an input error: exit 2 and one line either way
    ("check", "--select", "", str(PROMPTS / "fix-it.prompt")),  # a usage error
    ("rewrite", str(PROMPTS / "orders-table.prompt"), "--diff"),
    ("advise", str(PROMPTS / "orders-table.prompt"), "--format", "json"),
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a)[-60:])
def test_the_server_gives_the_in_process_output(server, args):
    import re

    before = requests(server)
    local, remote = both(server, *args)
    # -v reports how long the index took: the one thing that may differ
    seconds = re.compile(rb"\d+\.\d\d s\)")
    assert (remote.returncode, seconds.sub(b"", remote.stdout), remote.stderr) == (local.returncode, seconds.sub(b"", local.stdout), local.stderr)
    assert requests(server) > before + 1  # it really went through the server (the status call counts too)


@pytest.mark.parametrize("where", [["--no-repo"], ["--repo", str(TS)]], ids=["no-repo", "repo"])
@pytest.mark.parametrize("fmt", ["text", "concise", "json", "sarif", "github"])
def test_every_format_is_the_same_through_the_server(server, fmt, where):
    """Every output format, text-only and against a repository (warm in the server after the first
    check there), on prompts that give findings of every severity and none at all."""
    args = ("check", "--format", fmt, *where, str(PROMPTS / "orders-table.prompt"), str(PROMPTS / "fix-it.prompt"),
            str(PROMPTS / "orders-table-explicit.prompt"))
    for attempt in range(2):  # the first may index the repository in the child; the second runs on the server's own index
        if attempt and where[0] == "--repo":
            for _ in range(300):
                if str(TS.resolve()) in status(server)["warm"]:
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"the server never indexed {TS}: {status(server)}")
        local, remote = both(server, *args)
        assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)
        assert remote.stdout


def test_stdin_and_the_clients_environment_reach_the_child(server, tmp_path):
    user = tmp_path / "user.toml"
    user.write_text('select = ["VAG"]\n')
    local, remote = both(server, "check", "-", "--no-repo", "--format", "concise", input=b"validate the name, email, phone etc. on the form\n", extra_env={"PROMPTLINT_USER_CONFIG": str(user)})
    assert remote.stdout == local.stdout and remote.returncode == local.returncode == 0  # VAG003 is info
    assert b"VAG003" in remote.stdout and b"CON00" not in remote.stdout  # the client's user config, not the server's


def _on_a_terminal(env: dict, args: list[str]) -> bytes:
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(TS)
        os.execve(EXE, [EXE, *args], {**env, "COLUMNS": "100", "TERM": "xterm-256color"})
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return out


def test_colours_on_a_terminal_are_the_same(server):
    args = ["check", str(PROMPTS / "orders-table.prompt")]
    local = _on_a_terminal(server, [*args, "--server", "never"])
    remote = _on_a_terminal(server, [*args, "--server", "auto"])
    assert b"\x1b[" in local  # rich saw a terminal and coloured the output
    assert remote == local


def test_never_and_no_server_run_in_process(tmp_path):
    env = {**os.environ, "PROMPTLINT_RUNTIME_DIR": str(tmp_path / "none")}
    proc = subprocess.run([EXE, "check", str(PROMPTS / "fix-it.prompt"), "--no-repo", "--format", "concise"], env=env, capture_output=True, timeout=120)
    assert proc.returncode == 1 and b"VAG001" in proc.stdout
    assert not (tmp_path / "none").exists()  # auto does not start a server


def status(env: dict) -> dict:
    return json.loads(subprocess.run([EXE, "server", "--status"], env=env, capture_output=True, text=True).stdout)


def test_a_check_through_the_server_leaves_its_repository_warm_for_the_next(server, tmp_path):
    """What a forked child indexes dies with it: the server indexes that repository itself, so the
    next `check` there starts from a warm index and search structures instead of the disk cache."""
    import shutil

    repo = tmp_path / "fresh-repo"
    shutil.copytree(TS, repo)
    assert str(repo.resolve()) not in status(server)["warm"]
    run = subprocess.run([EXE, "check", "--server", "auto", "--exit-zero", "--repo", str(repo), str(PROMPTS / "orders-table.prompt")],
                         env=server, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    for _ in range(300):
        if str(repo.resolve()) in status(server)["warm"]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the server never indexed {repo}: {status(server)}")
    # The warm-up also reads the message literals (built on first need, not by the index), so the
    # first pasted error there does not pay for them: saved beside the index for its content.
    from promptlint.repo.index import build_index
    from promptlint.repo.search import _MESSAGES_DERIVED

    for _ in range(300):
        if build_index(repo).load_derived(_MESSAGES_DERIVED) is not None:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the server's warm-up did not build the message field")
    # and the next check there gives the same answer as one in-process
    again = both(server, "check", "--repo", str(repo), str(PROMPTS / "orders-table.prompt"))
    assert again[0].stdout == again[1].stdout and again[0].returncode == again[1].returncode == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=40), st.integers(min_value=0, max_value=10**9)), max_size=20))
def test_the_child_s_word_on_its_repositories_survives_the_pipe(keys):
    from promptlint.server import _read_said, _say_repos

    said = [(Path("/" + root.replace("\0", "")), size) for root, size in keys]
    r, w = os.pipe()
    try:
        _say_repos(w, said)
        heard = _read_said(r)[1]
    finally:
        os.close(r)
        os.close(w)
    assert heard == said  # any path, tabs and line breaks included


def test_the_warm_server_never_answers_from_a_stale_index(server, tmp_path):
    """The server answers from the index it has while its watcher saw no change; a file deleted
    or created meanwhile must count at once, exactly as in a fresh in-process run."""
    import shutil

    repo = tmp_path / "watched-repo"
    shutil.copytree(TS, repo)
    orders = repo / "src" / "db" / "orders.ts"
    orders.write_text("export function total(): number { return 0; }\n")
    prompt = tmp_path / "task.prompt"
    prompt.write_text("Fix the crash in src/db/orders.ts when the total is negative.\n")
    args = ("check", "--format", "concise", "--repo", str(repo), str(prompt))
    first = both(server, *args)
    assert b"REF002" not in first[1].stdout and first[0].stdout == first[1].stdout
    for _ in range(300):  # the server has indexed it and watches it now
        if str(repo.resolve()) in status(server)["watched"]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the server does not watch {repo}: {status(server)}")
    unchanged = both(server, *args)
    assert unchanged[1].stdout == first[1].stdout
    assert str(repo.resolve()) in status(server)["watched"]  # a check changes nothing
    orders.unlink()  # the index it has lists the file: only a rescan knows it is gone
    removed = both(server, *args)
    assert b"REF002" in removed[1].stdout, removed[1].stdout
    assert removed[0].stdout == removed[1].stdout and removed[0].returncode == removed[1].returncode
    orders.write_text("export function total(): number { return 1; }\n")
    created = both(server, *args)
    assert b"REF002" not in created[1].stdout and created[0].stdout == created[1].stdout


def test_the_warm_server_sees_an_edit_inside_one_file(server, tmp_path):
    """No file created or deleted, the listing the same: only a file's content changed. The server
    answers from its index while nothing changed, so the edit must still count at once (a symbol
    it defines is known to the very next check), exactly as in-process."""
    import shutil

    repo = tmp_path / "edited-repo"
    shutil.copytree(TS, repo)
    prompt = tmp_path / "task.prompt"
    prompt.write_text("Make `verifyTokens` reject tokens without a signature.\n")  # src/lib/auth.ts has verifyToken
    args = ("check", "--format", "concise", "--repo", str(repo), str(prompt))
    first = both(server, *args)
    assert b"REF002" in first[1].stdout and b"verifyTokens" in first[1].stdout, first[1].stdout
    assert first[0].stdout == first[1].stdout
    for _ in range(300):
        if str(repo.resolve()) in status(server)["watched"]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the server does not watch {repo}: {status(server)}")
    assert both(server, *args)[1].stdout == first[1].stdout  # unchanged: answered from the index it has
    auth = repo / "src" / "lib" / "auth.ts"
    auth.write_text(auth.read_text() + "\nexport function verifyTokens(tokens: string[]): boolean {\n  return tokens.length > 0;\n}\n")
    edited = both(server, *args)
    assert b"REF002" not in edited[1].stdout, edited[1].stdout
    assert edited[0].stdout == edited[1].stdout and edited[0].returncode == edited[1].returncode


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/unshare").exists(), reason="needs root and unshare for a mount namespace")
def test_a_client_confined_to_another_view_of_the_files_cannot_read_through_the_server(server, tmp_path):
    """A sandbox (Claude Code's sandboxed Bash, bubblewrap) hides a folder by mounting over it in its
    own mount namespace; a process in it, same uid, could hand the server a path it cannot read and
    get the file linted, quoted in the rewrite, on its stdout. The server refuses such a client; the
    command runs in the client's own view (here: the file is not there)."""
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "secret.prompt").write_text("Fix the bug in SECRET-TOKEN-4242 now\n")
    script = f"mount -t tmpfs tmpfs {hidden} && exec {EXE} rewrite {hidden / 'secret.prompt'} --no-repo --server auto"
    before = requests(server)
    proc = subprocess.run(["/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", script], env=server,
                          capture_output=True, timeout=120)
    assert b"SECRET-TOKEN-4242" not in proc.stdout + proc.stderr
    assert proc.returncode == 2 and b"no such file or directory" in proc.stderr, proc.stderr
    assert requests(server) >= before + 1


def test_a_check_runs_in_the_spare_child_and_a_new_spare_waits_after_it(server, tmp_path):
    """The child forked ahead of time answers the next check (same output as in-process, as every
    test above checks), and the server forks the next spare once it is done."""
    first = None
    for _ in range(100):
        first = status(server)["spare"]
        if first is not None:
            break
        time.sleep(0.1)
    assert isinstance(first, int)
    os.kill(first, 0)  # it is there, waiting
    runs = both(server, "check", "--format", "json", str(PROMPTS / "orders-table.prompt"))
    assert runs[0].stdout == runs[1].stdout and runs[0].returncode == runs[1].returncode
    for _ in range(100):
        after = status(server)["spare"]
        if after is not None and after != first:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"no new spare after the check: {status(server)}")
    with pytest.raises(ProcessLookupError):  # the one that ran the check has exited (and was reaped)
        for _ in range(100):
            os.kill(first, 0)
            time.sleep(0.05)


def test_a_closed_stdin_with_a_warm_server_is_the_same_clear_error(server):
    # With fd 0 closed the client's socket used to take number 0, so the server was handed its own
    # connection as the client's stdin and read it for ever (seen in CI: a 60 s timeout).
    proc = subprocess.run([EXE, "check", "--no-repo", "-", "--server", "auto"], env=server, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.close(0))
    assert proc.returncode == 2 and proc.stderr.strip() == "promptlint: error: -: no standard input to read (it is closed)"


def _spares_ready(env: dict, n: int) -> list[int]:
    for _ in range(300):
        spares = status(env).get("spares") or []
        if len(spares) == n:
            return spares
        time.sleep(0.1)
    pytest.fail(f"not {n} spares: {status(env)}")


def test_checks_in_a_row_run_in_the_spares_forked_before_them(server, tmp_path):
    """The server keeps SPARES children ready, so that a check right after another does not wait
    for the next fork: two checks in a row run in the two spares that waited before the first
    (both exit), and the server forks new ones after them."""
    from promptlint.server import SPARES

    assert SPARES >= 2
    before = _spares_ready(server, SPARES)
    assert len(set(before)) == SPARES and status(server)["spare"] == before[0]
    args = [EXE, "check", "--no-repo", "--format", "json", str(PROMPTS / "orders-table.prompt")]  # no repository: nothing to re-index, no spare goes stale
    local = subprocess.run([*args, "--server", "never"], env=server, capture_output=True, timeout=120)
    for _ in range(2):
        remote = subprocess.run([*args, "--server", "auto"], env=server, capture_output=True, timeout=120)
        assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)
    for pid in before:
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"spare {pid} did not run a check (still waiting)")
    after = _spares_ready(server, SPARES)
    assert not set(after) & set(before)
