"""The warm server answers from the index it has while nothing below the repository changed
(promptlint/repo/watch.py): every change must be seen, or the answer would be stale."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from promptlint.repo.watch import MAX_FOLDERS, Watcher, folders_of

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "repo"
    (root / "src" / "db").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "src" / "db" / "schema.ts").write_text("export const a = 1;\n")
    (root / "README.md").write_text("# r\n")
    return root


def armed(root: Path) -> Watcher:
    watcher = Watcher.arm(str(root), folders_of(["src/db/schema.ts", "README.md"]))
    assert watcher is not None
    return watcher


def test_folders_of_lists_every_folder_on_the_way():
    assert folders_of(["a/b/c.py", "a/d.py", "e.py"]) == {"a", "a/b"}


def test_nothing_changed_is_said_as_such(tree):
    watcher = armed(tree)
    (tree / "src" / "db" / "schema.ts").read_text()  # reading is no change
    assert watcher.changed() is False


@pytest.mark.parametrize("change", [
    lambda r: (r / "src" / "db" / "schema.ts").write_text("export const a = 2;\n"),   # an edit
    lambda r: (r / "src" / "orders.ts").write_text(""),                             # a new file
    lambda r: (r / "src" / "db" / "schema.ts").unlink(),                            # a deletion
    lambda r: (r / "src" / "db" / "schema.ts").rename(r / "src" / "db" / "s.ts"),   # a rename
    lambda r: (r / "src" / "api").mkdir(),                                          # a new folder
    lambda r: (r / ".git" / "index").write_bytes(b"DIRC"),                          # git add, a checkout
    lambda r: os.chmod(r / "README.md", 0o600),                                     # metadata
])
def test_every_kind_of_change_is_seen_and_stays_seen(tree, change):
    watcher = armed(tree)
    change(tree)
    assert watcher.changed() is True
    assert watcher.changed() is True  # once changed, the index is stale for good


def test_a_forked_child_sees_a_change_without_taking_it_from_the_server(tree):
    watcher = armed(tree)
    (tree / "README.md").write_text("# changed\n")
    pid = os.fork()
    if pid == 0:  # the `check` child: asks, must not drain the queue
        os._exit(0 if watcher.changed() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert watcher.pending() is True  # still queued for the server
    assert watcher.changed() is True


def test_a_tree_without_git_is_watched_and_an_unwatchable_folder_means_no_watcher(tree):
    import shutil

    shutil.rmtree(tree / ".git")
    assert Watcher.arm(str(tree), {"src", "src/db"}) is not None
    assert Watcher.arm(str(tree), {"src", "no/such/folder"}) is None  # could not tell its changes


def test_a_symlinked_folder_is_not_followed(tree, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tree / "lib").symlink_to(outside)
    assert Watcher.arm(str(tree), {"lib"}) is None


def test_too_many_folders_give_no_watcher(tree):
    assert Watcher.arm(str(tree), {f"d{i}" for i in range(MAX_FOLDERS + 1)}) is None


def test_a_closed_watcher_counts_as_changed(tree):
    watcher = armed(tree)
    watcher.close()
    assert watcher.changed() is True
