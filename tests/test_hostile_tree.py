"""A repository tree built to hang, exhaust or leak (audit item 2): FIFOs, a socket, symlink loops,
symlinks out of the root and to /dev/zero, a sparse multi-gigabyte file, a binary file, and
.gitignore lines naming paths outside the root. Listing, indexing, check and the hook must answer
(every wait here has a deadline: a hang is a failure, not a stuck run), never read outside the
root, and never name a file that is not a regular file below it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from promptlint.repo.files import list_files
from promptlint.repo.index import build_index

from .repo_helpers import git, write

EXE = str(Path(sys.executable).with_name("promptlint"))
PROMPT = "Fix the order total in src/pipe.ts, src/out/secret.py and src/zero.ts, like src/orders.ts does"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / "cache"))


def hostile_tree(tmp_path: Path, use_git: bool) -> tuple[Path, list[socket.socket]]:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    write(outside, "secret.py", "def stolen_secret_total():\n    return 'key'\n")
    write(root, "src/orders.ts", "export function orderTotal(items: number[]) { return items.length; }\n")
    write(root, "package.json", json.dumps({"name": "x", "devDependencies": {"vitest": "1"}}))
    write(root, ".gitignore", "../../etc/passwd\n!../outside/secret.py\n/../outside\n!/../../\n*.log\n")
    if use_git:
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "init")
    os.mkfifo(root / "src" / "pipe.ts")
    os.mkfifo(root / "tsconfig.json")  # a manifest that is a FIFO
    (root / "src" / "out").symlink_to(outside, target_is_directory=True)
    (root / "src" / "zero.ts").symlink_to("/dev/zero")
    (root / "src" / "loop_a").symlink_to("loop_b")
    (root / "src" / "loop_b").symlink_to("loop_a")
    (root / "src" / "self").symlink_to(".", target_is_directory=True)
    (root / "src" / "passwd.ts").symlink_to("../../../../../../etc/passwd")
    with open(root / "src" / "huge.ts", "wb") as f:  # sparse: no disk used
        f.truncate(3 * 1024**3)
    (root / "src" / "blob.ts").write_bytes(bytes(range(256)) * 64)
    sockets = []
    sock_path = root / "src" / "sock.ts"
    if len(str(sock_path)) < 100:  # AF_UNIX paths are short
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(sock_path))
        s.listen(1)
        sockets.append(s)
    return root, sockets


@pytest.mark.parametrize("use_git", [True, False], ids=["git", "walk"])
def test_the_listing_and_the_index_hold_regular_files_below_the_root_only(tmp_path, use_git):
    root, sockets = hostile_tree(tmp_path, use_git)
    try:
        listing = list_files(root)
        assert listing.git is use_git
        listed = {f.path for f in listing.files}
        assert "src/orders.ts" in listed
        assert not listed & {"src/pipe.ts", "tsconfig.json", "src/zero.ts", "src/huge.ts", "src/sock.ts", "src/passwd.ts", "src/loop_a"}
        assert not any(p.startswith(("src/out/", "src/self/")) or ".." in p.split("/") for p in listed)
        index = build_index(root)
        defs = {d[0] for syms in index.symbols.values() for d in syms.defs}
        assert "orderTotal" in defs and "stolen_secret_total" not in defs
    finally:
        for s in sockets:
            s.close()


@pytest.mark.parametrize("use_git", [True, False], ids=["git", "walk"])
def test_check_answers_and_names_nothing_outside(tmp_path, use_git):
    root, sockets = hostile_tree(tmp_path, use_git)
    try:
        proc = subprocess.run([EXE, "check", "-", "--repo", str(root), "--server", "never", "--format", "json"],
                              input=PROMPT.encode(), capture_output=True, timeout=120)
    finally:
        for s in sockets:
            s.close()
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)["files"][0]
    shown = json.dumps(data)
    assert "stolen_secret_total" not in shown and "root:x:0:0" not in shown
    assert all(r["path"] in ("src/orders.ts", "package.json", ".gitignore") for r in data["references"]), data["references"]


def test_the_hook_answers_within_its_deadline_on_such_a_tree(tmp_path):
    from promptlint.server import PromptlintServer

    root, sockets = hostile_tree(tmp_path, use_git=True)
    state = PromptlintServer()
    try:
        reply = state.hook({"op": "hook", "prompt": PROMPT, "cwd": str(root), "deadline": 60, "mode": "context"})
    finally:
        state._pool.shutdown(wait=True)
        for s in sockets:
            s.close()
    out = reply["stdout"]
    assert "stolen_secret_total" not in out and "root:x:0:0" not in out
    assert not out or "additionalContext" in json.loads(out).get("hookSpecificOutput", {})
