"""The index cache across fork(): the warm server forks `check` children while its own threads
index, and SQLite must not be carried across a fork (a child inherits SQLite's in-process record
of the parent's connections and their locks)."""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest

from promptlint.repo.index import _Store, _transaction, build_index, cache_file

from .repo_helpers import write

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / "cache"))


def _repo(root):
    write(root, "src/app.py", "def main():\n    return 1\n")
    write(root, "src/db/schema.ts", "export const users = pgTable('users', {});\n")
    return root


def _index_in_child(root, before_fork=None, after_fork=None) -> dict:
    """Fork; the child indexes ``root`` once the parent ran ``after_fork`` and says what it saw."""
    said_r, said_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.read(go_r, 1)
            index = build_index(root)
            db = cache_file()
            out = {"defs": sorted(d[0] for s in index.symbols.values() for d in s.defs), "rebuilt": index.stats.cache_rebuilt,
                   "from_cache": index.stats.from_cache, "notes": index.stats.notes, "inode": os.stat(db).st_ino if db.exists() else None}
            os.write(said_w, json.dumps(out).encode())
        except BaseException as exc:
            os.write(said_w, json.dumps({"error": repr(exc)}).encode())
        finally:
            os._exit(0)
    os.close(said_w)
    os.close(go_r)
    try:
        if after_fork is not None:
            after_fork()
        os.write(go_w, b"x")
        data = b""
        while chunk := os.read(said_r, 65536):
            data += chunk
    finally:
        os.close(go_w)
        os.close(said_r)
        os.waitpid(pid, 0)
    return json.loads(data)


def test_a_child_forked_during_another_threads_write_leaves_the_cache_alone(tmp_path):
    """Forked while a thread of the parent is inside a write transaction, a child that opens the
    database can never write to it, even after the parent committed: SQLite in the child still
    counts the write lock as held by that (inherited) connection. It used to wait out the busy
    timeout, call the database unreadable and delete it under the parent; now it indexes in memory."""
    build_index(_repo(tmp_path / "repo"))
    other = tmp_path / "other"  # a new root: the child's first step is a write (its row)
    shutil.copytree(tmp_path / "repo", other)
    db = cache_file()
    inode = os.stat(db).st_ino
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with _Store.connect(db) as store, _transaction(store.conn):
            store.conn.execute("UPDATE roots SET used = used")
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(10)

    def commit() -> None:
        release.set()
        thread.join()

    seen = _index_in_child(other, after_fork=commit)
    assert "error" not in seen, seen
    assert seen["defs"] == ["main", "users"]  # a full, correct index all the same
    assert not seen["rebuilt"] and seen["inode"] == inode == os.stat(db).st_ino  # the parent's database is untouched
    assert any("index cache not used" in note for note in seen["notes"]), seen["notes"]


def test_a_child_forked_with_no_connection_open_uses_the_cache(tmp_path):
    root = _repo(tmp_path / "repo")
    build_index(root)
    seen = _index_in_child(root)
    assert "error" not in seen, seen
    assert seen["defs"] == ["main", "users"] and seen["from_cache"] == 2 and not seen["notes"]
