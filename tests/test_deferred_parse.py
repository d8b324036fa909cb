"""A cold build that defers the tree-sitter parse (build_index(defer_parse=True), what a one-shot
`check` makes of a repository not indexed yet): code read lexically now, parsed by the next full
build, whose index is then the one a full build gives from scratch."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from promptlint.repo import index as index_mod
from promptlint.repo.index import build_index, symbols_codec

from .repo_helpers import git, write
from .test_repo_index import _assert_same_index, _mixed_sources


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def few_to_defer(monkeypatch):
    monkeypatch.setattr(index_mod, "DEFER_MIN_FILES", 5)


def _parsed_count(root: Path) -> int:
    """Files a deferred build gives a stand-in: parsed code and test suites."""
    from promptlint.repo.extract import is_deferrable
    from promptlint.repo.files import list_files

    return sum(1 for f in list_files(root).files if f.lang and is_deferrable(f.path, f.lang))


def _same_symbols(got, want) -> None:
    codec = symbols_codec()
    assert list(got.symbols) == list(want.symbols)
    for path in want.symbols:
        assert codec.encode(got.symbols[path]) == codec.encode(want.symbols[path]), path
    assert got.content_digest == want.content_digest


@pytest.mark.parametrize("tracked", [False, True], ids=["walk", "git"])
def test_deferred_then_full_build_gives_the_full_index(tmp_path, few_to_defer, tracked):
    root = tmp_path / "mixed"
    _mixed_sources(root, 8)
    write(root, "tests/test_views.py", "from app.views_0 import View0\n\ndef test_it():\n    View0()\n")
    if tracked:
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "init")
    owed = _parsed_count(root)
    assert owed >= 5
    cold = build_index(root, defer_parse=True)
    assert cold.stats.deferred == owed
    view = cold.symbols["app/views_0.py"]
    # The stand-in: definitions by line pattern and the words, no references or routes yet.
    assert "View0" in {d[0] for d in view.defs} and not view.refs and not view.routes
    assert "value" in view.words.split(" ")
    assert {d[0] for d in cold.symbols["web/route_0.ts"].defs} >= {"list0"}
    suite = cold.symbols["tests/test_views.py"]  # a test suite's file: only its path for now
    assert not suite.defs and not suite.imports and not suite.words
    again = build_index(root, defer_parse=True)  # the stand-ins are cached: nothing read again
    assert again.stats.deferred == owed and again.stats.parsed_now == 0
    _same_symbols(again, cold)
    full = build_index(root)
    assert full.stats.deferred == 0 and full.stats.parsed_now == owed
    _same_symbols(full, build_index(root, use_cache=False))
    after = build_index(root, defer_parse=True)  # complete now: a deferred build changes nothing
    assert after.stats.deferred == 0 and after.stats.parsed_now == 0
    _same_symbols(after, full)


def test_few_files_to_parse_are_parsed_at_once(tmp_path):
    root = tmp_path / "small"
    _mixed_sources(root, 3)
    assert _parsed_count(root) < index_mod.DEFER_MIN_FILES
    got = build_index(root, defer_parse=True)
    assert got.stats.deferred == 0
    _same_symbols(got, build_index(root, use_cache=False))


def test_a_one_file_change_while_deferred_reads_one_file(tmp_path, few_to_defer):
    root = tmp_path / "mixed"
    _mixed_sources(root, 8)
    build_index(root, defer_parse=True)
    target = root / "app/views_3.py"
    target.write_text(target.read_text() + "\ndef added_later():\n    pass\n")
    got = build_index(root, defer_parse=True)
    assert got.stats.parsed_now == 1 and got.stats.deferred == _parsed_count(root)
    assert got.symbols["app/views_3.py"].words
    assert "added_later" in {d[0] for d in got.symbols["app/views_3.py"].defs}
    full = build_index(root)
    assert full.stats.deferred == 0
    _same_symbols(full, build_index(root, use_cache=False))


def test_a_deferred_build_with_a_refused_fork_is_the_serial_one(tmp_path, few_to_defer, monkeypatch):
    """The worker-pool fallback holds for the deferred build too."""
    import concurrent.futures

    root = tmp_path / "mixed"
    _mixed_sources(root, index_mod.PARALLEL_THRESHOLD // 2 + 20)

    def cold(name: str, workers: int):  # a deferred build needs a cache (the completion writes it): a fresh one each
        monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / name))
        return build_index(root, workers=workers, defer_parse=True)

    serial = cold("serial", 1)
    assert serial.stats.deferred > index_mod.PARALLEL_THRESHOLD

    class RefusingPool:
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise BlockingIOError(11, "Resource temporarily unavailable")

    parallel = cold("parallel", 2)
    _assert_same_index(parallel, serial)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RefusingPool)
    got = cold("refused", 2)
    _assert_same_index(got, serial)
    assert any("parallel parse failed (BlockingIOError)" in n for n in got.stats.notes), got.stats.notes


def test_a_one_shot_check_completes_the_index_in_the_background(tmp_path, few_to_defer):
    from promptlint import pipeline

    root = tmp_path / "mixed"
    _mixed_sources(root, 8)
    ctx = pipeline.warm_repo(root.resolve(), 1_000_000)
    assert ctx.index.stats.deferred == _parsed_count(root)
    assert ctx.resolver is not None
    deadline = time.monotonic() + 60
    while True:  # the detached process parses what was deferred and records it for this root
        now = build_index(root, defer_parse=True)
        if now.stats.deferred == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert now.stats.deferred == 0
    _same_symbols(now, build_index(root, use_cache=False))
    # The next check in this process sees the complete index, not the search built on stand-ins.
    again = pipeline.warm_repo(root.resolve(), 1_000_000)
    assert again.index.stats.deferred == 0 and again.resolver is not ctx.resolver


def test_no_background_completion_when_turned_off(tmp_path, few_to_defer, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_DEFER_PARSE", "0")
    from promptlint import pipeline

    root = tmp_path / "mixed"
    _mixed_sources(root, 8)
    ctx = pipeline.warm_repo(root.resolve(), 1_000_000)
    assert ctx.index.stats.deferred == 0


def test_a_watching_server_rescans_a_deferred_index_until_it_is_complete(tmp_path, few_to_defer, monkeypatch):
    """The tree does not change when the detached parse completes the cache, so the watcher stays
    quiet: a deferred index is rescanned on each request until the scan finds it complete."""
    import os

    from promptlint import pipeline

    monkeypatch.setattr(pipeline, "_watching_pid", os.getpid())
    root = (tmp_path / "mixed").resolve()
    _mixed_sources(root, 8)
    first = pipeline.warm_repo(root, 1_000_000)
    assert first.index.stats.deferred == _parsed_count(root) and first.watcher is not None
    deadline = time.monotonic() + 60
    ctx = first
    while ctx.index.stats.deferred and time.monotonic() < deadline:
        time.sleep(0.2)
        ctx = pipeline.warm_repo(root, 1_000_000)
    assert ctx.index.stats.deferred == 0 and ctx.resolver is not first.resolver
    _same_symbols(ctx.index, build_index(root, use_cache=False))
    assert pipeline.warm_repo(root, 1_000_000) is ctx  # complete, unchanged: the same context again
    ctx.watcher.close()


def test_no_deferral_without_a_cache_to_complete(tmp_path, few_to_defer, monkeypatch):
    """The detached completion writes the parse into the cache; with no usable cache (a folder other
    users can write, a read-only one, a busy database) nothing ever completes a deferred index, so
    every check would answer from the stand-ins for good: such a build parses at once."""
    import os

    from promptlint import pipeline

    cache = tmp_path / "shared-cache"
    cache.mkdir()
    os.chmod(cache, 0o777)  # refused by fsutil.private_dir (works as root, unlike a read-only folder)
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(cache))
    root = (tmp_path / "mixed").resolve()
    _mixed_sources(root, 8)
    cold = build_index(root, defer_parse=True)
    assert cold.store_path is None and any("index cache not used" in n for n in cold.stats.notes)
    assert cold.stats.deferred == 0
    _same_symbols(cold, build_index(root, use_cache=False))
    ctx = pipeline.warm_repo(root, 1_000_000)
    assert ctx.index.stats.deferred == 0


def test_a_deferred_index_claims_no_symbol_missing(tmp_path, few_to_defer, monkeypatch):
    """A stand-in lacks what only the parse finds (a test suite's definitions, methods, getters):
    a name it does not hold is not known to be missing, so the cold answer does not call it a near
    miss of another (REF002, an error a `block` hook stops the prompt on); the complete index
    still does for a name that is missing."""
    from promptlint.config import Config
    from promptlint.pipeline import Linter

    root = (tmp_path / "mixed").resolve()
    _mixed_sources(root, 8)
    write(root, "tests/helpers.py", "def build_fake_order(n):\n    return {'n': n}\n")
    write(root, "app/orders.py", "def build_fake_orders(n):\n    return []\n")
    write(root, "web/panel.ts", "export class Panel {\n  get totalHeight9(): number { return 1; }\n}\n")
    write(root, "app/layout.py", "def total_weight():\n    pass\n")
    prompt = "The test helper `build_fake_order` returns the wrong shape and the getter `totalHeight9` is off. Fix both."
    missing = "The helper `build_fake_ordr` returns the wrong shape. Fix it."
    monkeypatch.setattr(index_mod, "complete_in_background", lambda index, max_size: False)  # no race with it

    def ref002(text: str) -> list[str]:
        return [f.message for f in Linter(Config()).lint(text, repo=root).findings if f.code == "REF002"]

    cold = build_index(root, defer_parse=True)
    assert cold.stats.deferred and not cold.symbols["tests/helpers.py"].defs
    assert ref002(prompt) == [] and ref002(missing) == []  # the cached stand-ins answer these
    assert build_index(root, defer_parse=True).stats.deferred  # still deferred: nothing completed it
    assert build_index(root).stats.deferred == 0
    assert ref002(prompt) == []
    assert any("build_fake_ordr" in m for m in ref002(missing))


def test_the_completion_imports_promptlint_from_where_the_check_did(tmp_path):
    """`python -m promptlint` in a source checkout imports it from the current folder, which the
    detached child (its folder is the cache's) does not have: it failed to import, silently, so
    the index stayed deferred and every check started another. The child runs this very copy."""
    import os
    import shutil
    import subprocess
    import sys

    src = tmp_path / "src"
    shutil.copytree(Path(index_mod.__file__).parents[1], src / "promptlint", ignore=shutil.ignore_patterns("__pycache__"))
    with open(src / "promptlint/repo/index.py", "a") as f:  # this copy says it ran
        f.write("\n_ran = _complete\n\ndef _complete(root, max_size, lock_path):\n"
                "    Path(os.environ['COMPLETION_RAN']).write_text(__file__)\n    _ran(root, max_size, lock_path)\n")
    root = tmp_path / "mixed"
    _mixed_sources(root, 8)
    marker = tmp_path / "ran"
    code = ("from pathlib import Path; from promptlint.repo import index; index.DEFER_MIN_FILES = 5\n"
            "built = index.build_index(Path('%s'), defer_parse=True); assert built.stats.deferred\n"
            "assert index.complete_in_background(built, 1_000_000)" % root)
    env = dict(os.environ, COMPLETION_RAN=str(marker))
    subprocess.run([sys.executable, "-c", code], cwd=src, env=env, check=True, timeout=120)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists() and marker.read_text() == str(src / "promptlint/repo/index.py")
    while build_index(root, defer_parse=True).stats.deferred and time.monotonic() < deadline:
        time.sleep(0.2)  # and it completed the index (no detached build outlives the test)
    assert build_index(root, defer_parse=True).stats.deferred == 0


def test_a_completion_that_died_makes_the_next_check_parse_at_once(tmp_path, few_to_defer, monkeypatch):
    """A completion killed while it built (or out of memory, or crashed on a file) left the index
    deferred: every check answered from stand-ins and started another that might end the same way.
    The next check parses at once instead (as without deferral), which completes the index."""
    import fcntl
    import os

    from promptlint import pipeline

    started = []
    monkeypatch.setattr(index_mod, "complete_in_background", lambda index, max_size: started.append(index.root) or False)
    monkeypatch.setattr(os, "nice", lambda n: 0)  # _complete runs in this process here
    root = (tmp_path / "mixed").resolve()
    _mixed_sources(root, 8)
    assert not index_mod.completion_died(root)  # none ever ran
    cold = pipeline._build(root, 1_000_000, None)
    assert cold.stats.deferred and started == [root]
    lock = index_mod._completion_lock(cold.store_path, root)
    lock.write_bytes(b"running\n")  # what a completion killed while it built leaves
    fd = os.open(lock, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    assert not index_mod.completion_died(root)  # it still runs: not dead
    os.close(fd)
    assert index_mod.completion_died(root)
    again = pipeline._build(root, 1_000_000, None)
    assert again.stats.deferred == 0 and started == [root]
    _same_symbols(again, build_index(root, use_cache=False))
    # A completion that ends its build says so: a later cold tree of that root defers again.
    other = (tmp_path / "other").resolve()
    _mixed_sources(other, 9)
    assert pipeline._build(other, 1_000_000, None).stats.deferred
    index_mod._complete(str(other), 1_000_000, str(index_mod._completion_lock(cold.store_path, other)))
    assert index_mod._completion_lock(cold.store_path, other).read_bytes() == b"done\n"
    assert not index_mod.completion_died(other) and build_index(other, defer_parse=True).stats.deferred == 0
