"""The repository index: which files, what they define, and the persistent content-keyed cache."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint.repo.files import content_key, list_files
from promptlint.repo.index import build_index, cache_file
from promptlint.repo.words import split_identifier

from .repo_helpers import git, write


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """A cache per test: the content store is shared by every root, so equal file contents in two
    tests' repositories would otherwise be parsed once for both."""
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def git_repo(tmp_path):
    root = tmp_path / "repo"
    write(root, "src/app.py", "def main():\n    return 1\n")
    write(root, "src/db/schema.ts", "export const users = pgTable('users', {});\n")
    write(root, "node_modules/lib/index.js", "function vendored() {}\n")
    write(root, "build/out.js", "function generated() {}\n")
    write(root, "logs/debug.log", "noise\n")
    write(root, ".gitignore", "logs/\n*.secret\n")
    write(root, "keys.secret", "x")
    write(root, "README.md", "# demo\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    write(root, "src/new_module.py", "class Fresh:\n    pass\n")  # untracked, not ignored
    return root


def test_git_listing_tracked_untracked_ignored_and_vendored(git_repo):
    listing = list_files(git_repo)
    paths = [f.path for f in listing.files]
    assert listing.git
    assert paths == [".gitignore", "README.md", "src/app.py", "src/db/schema.ts", "src/new_module.py"]
    assert listing.skipped["vendored or generated folder"] == 2
    tracked = {f.path: f.blob for f in listing.files}
    assert tracked["src/app.py"] == content_key((git_repo / "src/app.py").read_bytes())  # git's blob id
    assert tracked["src/new_module.py"] is None


def test_modified_tracked_file_is_not_keyed_by_its_stale_blob(git_repo):
    (git_repo / "src/app.py").write_text("def main():\n    return 2\n\ndef extra():\n    pass\n")
    listing = list_files(git_repo)
    assert {f.path: f.blob for f in listing.files}["src/app.py"] is None
    index = build_index(git_repo)
    assert [d[0] for d in index.symbols["src/app.py"].defs] == ["main", "extra"]


def test_tracked_entries_kept_between_refreshes_follow_every_change_to_gits_index(git_repo):
    """A long-running process keeps git's decoded entries while the index file is the same one; an
    edit (not staged), a staged edit, a new tracked file, a removal and a checkout all show."""
    from promptlint.repo import files as files_mod

    def listed() -> dict:
        return {f.path: (f.blob, f.size) for f in list_files(git_repo).files}

    def fresh() -> dict:
        files_mod._TRACKED_MEMO.clear()
        return listed()

    first = fresh()
    old_blob = first["src/app.py"][0]
    assert old_blob is not None and str(git_repo.resolve()) in files_mod._TRACKED_MEMO
    assert listed() == first
    (git_repo / "src/app.py").write_text("def main():\n    return 22\n")  # edited, not staged
    assert listed() == fresh() and listed()["src/app.py"][0] is None
    git(git_repo, "add", "src/app.py")
    staged = listed()
    # A file written in the index's own clock tick is hashed (racy git), so None is right too.
    assert staged == fresh() and staged["src/app.py"][0] in (None, content_key((git_repo / "src/app.py").read_bytes()))
    write(git_repo, "src/more.py", "def more():\n    pass\n")
    git(git_repo, "add", "src/more.py")
    assert listed() == fresh() and "src/more.py" in listed()
    git(git_repo, "rm", "-q", "--cached", "src/db/schema.ts")
    assert listed() == fresh() and listed()["src/db/schema.ts"][0] is None  # now untracked
    git(git_repo, "commit", "-qam", "more")
    (git_repo / "src/db/schema.ts").unlink()  # untracked now; the checkout brings it back
    git(git_repo, "checkout", "-q", "HEAD~1")
    assert listed() == fresh() and "src/more.py" not in listed()


def test_size_cap_and_binary_files(git_repo):
    write(git_repo, "src/huge.py", "x = 1\n" * 200_000)
    (git_repo / "src/blob.py").write_bytes(b"\x00\x01binary")
    index = build_index(git_repo, max_size=100_000)
    assert "src/huge.py" not in index.files
    assert index.stats.skipped["over the size cap"] == 1
    assert "src/blob.py" not in index.symbols and index.stats.skipped["binary"] == 1


def test_walk_honours_nested_gitignores(tmp_path):
    root = tmp_path / "plain"
    write(root, ".gitignore", "*.tmp\n/top_only.py\n")
    write(root, "top_only.py", "a = 1\n")
    write(root, "keep.py", "a = 1\n")
    write(root, "x.tmp", "")
    write(root, "pkg/.gitignore", "generated/\n!important.tmp\nlocal_*.py\n")
    write(root, "pkg/mod.py", "def f(): pass\n")
    write(root, "pkg/local_settings.py", "SECRET = 1\n")
    write(root, "pkg/important.tmp", "")
    write(root, "pkg/generated/out.py", "def g(): pass\n")
    write(root, "pkg/sub/top_only.py", "b = 2\n")  # /top_only.py is anchored to the root folder
    write(root, "other/local_x.py", "c = 3\n")  # pkg's rules do not apply here
    listing = list_files(root)
    assert not listing.git
    assert [f.path for f in listing.files] == [
        ".gitignore", "keep.py", "other/local_x.py", "pkg/.gitignore", "pkg/important.tmp", "pkg/mod.py", "pkg/sub/top_only.py",
    ]


def test_symlinks_are_never_followed(tmp_path):
    root = tmp_path / "links"
    write(root, "a/real.py", "def real(): pass\n")
    outside = write(tmp_path, "outside/secret.py", "def secret(): pass\n")
    os.symlink(root, root / "a" / "loop")  # a directory loop
    os.symlink(outside, root / "a" / "escape.py")  # a file outside the root
    os.symlink(tmp_path / "outside", root / "outdir")
    index = build_index(root)
    assert list(index.files) == ["a/real.py"]
    assert index.stats.skipped["symlink"] == 3


def test_file_that_vanishes_or_cannot_be_read(tmp_path, monkeypatch):
    root = tmp_path / "r"
    write(root, "ok.py", "def ok(): pass\n")
    write(root, "gone.py", "def gone(): pass\n")
    import promptlint.repo.index as index_mod

    real_list = index_mod.list_files

    def list_then_delete(*args, **kwargs):
        listing = real_list(*args, **kwargs)
        (root / "gone.py").unlink()  # deleted between listing and parsing
        return listing

    monkeypatch.setattr(index_mod, "list_files", list_then_delete)
    index = build_index(root)
    assert list(index.symbols) == ["ok.py"]
    assert index.stats.skipped["unreadable"] == 1


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read a mode-000 file")
def test_permission_denied_file(tmp_path):
    root = tmp_path / "r"
    write(root, "ok.py", "def ok(): pass\n")
    secret = write(root, "locked.py", "def locked(): pass\n")
    secret.chmod(0)
    try:
        index = build_index(root)
    finally:
        secret.chmod(0o644)
    assert list(index.symbols) == ["ok.py"] and index.stats.skipped["unreadable"] == 1


def test_cache_reuses_unchanged_files_and_reparses_changed_ones(git_repo):
    first = build_index(git_repo)
    assert first.stats.parsed_now == 3 and first.stats.from_cache == 0
    second = build_index(git_repo)
    assert second.stats.parsed_now == 0 and second.stats.from_cache == 3
    (git_repo / "src/new_module.py").write_text("class Fresh:\n    pass\n\nclass Fresher:\n    pass\n")
    third = build_index(git_repo)
    assert third.stats.parsed_now == 1
    assert [d[0] for d in third.symbols["src/new_module.py"].defs] == ["Fresh", "Fresher"]


def test_switching_branches_does_not_reparse_known_content(git_repo):
    build_index(git_repo)
    git(git_repo, "checkout", "-qb", "feature")
    git(git_repo, "mv", "src/app.py", "src/application.py")  # same content, new path
    git(git_repo, "commit", "-qm", "rename")
    after_rename = build_index(git_repo)
    assert after_rename.stats.parsed_now == 0
    assert "src/application.py" in after_rename.symbols
    git(git_repo, "checkout", "-q", "-")
    assert build_index(git_repo).stats.parsed_now == 0


def test_corrupt_cache_is_rebuilt_not_fatal(git_repo):
    build_index(git_repo)
    path = cache_file(git_repo)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"\x80\x04garbage that is not a database")
    index = build_index(git_repo)
    assert index.stats.cache_rebuilt and index.stats.parsed_now == 3
    with sqlite3.connect(path) as db:
        assert dict(db.execute("SELECT k, v FROM meta"))["format"] == "2"
    again = build_index(git_repo)
    assert not again.stats.cache_rebuilt and again.stats.parsed_now == 0


def test_a_cache_another_process_keeps_locked_is_left_alone_not_deleted(git_repo, tmp_path, monkeypatch):
    """A writer elsewhere holding the database past the busy timeout: this run indexes in memory; the
    cache (everyone's) is kept. It used to be deleted and rebuilt as if corrupt."""
    import shutil

    from promptlint.repo import index as index_mod

    build_index(git_repo)
    other = tmp_path / "other"
    shutil.copytree(git_repo, other)
    monkeypatch.setattr(index_mod, "_BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect(cache_file(git_repo), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a long write transaction in another process
    try:
        index = build_index(other)  # a new root needs a row: it must wait, then give up
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "src/app.py" in index.files and index.stats.parsed_now == 3
    assert any("busy" in note for note in index.stats.notes) and not index.stats.cache_rebuilt
    again = build_index(git_repo)
    assert not again.stats.cache_rebuilt and again.stats.parsed_now == 0  # the entries survived


def test_cache_location_honours_xdg_and_override(tmp_path, monkeypatch):
    monkeypatch.delenv("PROMPTLINT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert str(cache_file(tmp_path)).startswith(str(tmp_path / "xdg" / "promptlint"))
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_file(tmp_path).parent.parent == tmp_path / "mine"


def test_unwritable_cache_dir_is_not_fatal(git_repo, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(blocker))
    assert build_index(git_repo).stats.parsed_now == 3


def test_two_processes_indexing_at_once(git_repo):
    for i in range(30):
        write(git_repo, f"pkg/m{i}.py", f"def f{i}():\n    return {i}\n")
    code = "import sys; from pathlib import Path; from promptlint.repo.index import build_index; print(build_index(Path(sys.argv[1])).stats.parsed_files)"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(git_repo)], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    assert outputs == ["33"] * 4
    again = build_index(git_repo)
    assert not again.stats.cache_rebuilt and again.stats.parsed_now == 0


def test_ten_thousand_file_repository(tmp_path):
    root = tmp_path / "big"
    for i in range(10_000):
        folder = root / f"pkg{i // 500}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod_{i}.py").write_text(f"class Thing{i}:\n    def run_{i}(self):\n        return helper_{i % 7}()\n")
    write(root, ".gitignore", "pkg19/\n")
    index = build_index(root)
    assert index.stats.files == 9_501  # 19 folders of 500, plus .gitignore
    assert index.stats.parsed_now == 9_500
    assert index.stats.definitions == 19_000
    assert build_index(root).stats.parsed_now == 0


def test_index_does_not_import_spacy(git_repo):
    code = (
        "import sys\nfrom promptlint.cli import main\n"
        f"try:\n    main(['index', '--repo', {str(git_repo)!r}, '--stats'], prog_name='promptlint')\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('SPACY_LOADED=%s' % ('spacy' in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Indexed 5 files" in proc.stdout and "3 parsed (2 python, 1 typescript)" in proc.stdout
    assert "skipped:      2 (vendored or generated folder)" in proc.stdout
    assert "SPACY_LOADED=False" in proc.stderr


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["python", "typescript", "tsx", "javascript", "rust", "go", "java"]))
def test_extraction_never_crashes_on_arbitrary_bytes(data, lang):
    from promptlint.repo.extract import extract

    result = extract(data, lang)
    assert result is not None
    for name, kind, line in result.defs:
        assert name and kind and line >= 1


def test_imports_keep_names_that_begin_like_a_string_prefix():
    """`urllib`, `request`, `fnmatch`, `builtins`: a leading u/r/f/b is part of the name unless a quote follows."""
    from promptlint.repo.extract import extract

    source = b"import urllib.parse\nimport requests\nfrom fnmatch import fnmatch\nimport builtins\n"
    assert sorted(extract(source, "python").imports) == ["builtins", "fnmatch", "requests", "urllib.parse"]
    ts = extract(b"import x from 'rbac';\nimport y from \"url\";\n", "typescript")
    assert sorted(ts.imports) == ["rbac", "url"]


@given(st.text(max_size=80))
def test_identifier_splitting_gives_lowercase_words(text):
    for word in split_identifier(text):
        assert word == word.lower() and len(word) > 1 and not word.isdigit()


def test_identifier_splitting_examples():
    assert split_identifier("getUserByID") == ["get", "user", "by", "id"]
    assert split_identifier("rate_limiter.py") == ["rate", "limiter", "py"]
    assert split_identifier("src/db/Schemas.ts") == ["src", "db", "schema", "ts"]
    assert split_identifier("HTTPServerError") == ["http", "server", "error"]


def test_listing_stops_at_the_file_cap(tmp_path, monkeypatch):
    import promptlint.repo.files as files_mod

    root = tmp_path / "home"
    for i in range(30):
        write(root, f"d{i % 3}/f{i}.py", "x = 1\n")
    monkeypatch.setattr(files_mod, "MAX_FILES", 10)
    index = build_index(root)
    assert index.stats.files == 10 and index.stats.truncated


def test_one_file_change_reparses_one_file_and_writes_one_entry(git_repo):
    for i in range(40):
        write(git_repo, f"pkg/m{i}.py", f"def f{i}():\n    return {i}\n")
    first = build_index(git_repo)
    db_path = cache_file(git_repo)
    inode = db_path.stat().st_ino
    with sqlite3.connect(db_path) as db:
        (before,) = db.execute("SELECT MAX(added) FROM entries").fetchone()
    write(git_repo, "pkg/m7.py", "def f7():\n    return 'seven'\n\ndef g7():\n    pass\n")
    second = build_index(git_repo)
    assert second.stats.parsed_now == 1 and second.stats.from_cache == first.stats.parsed_files - 1
    assert [d[0] for d in second.symbols["pkg/m7.py"].defs] == ["f7", "g7"]
    assert db_path.stat().st_ino == inode  # updated in place, not rewritten whole
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM entries WHERE added > ?", (before,)).fetchone() == (1,)


def test_no_change_refresh_writes_nothing(git_repo):
    build_index(git_repo)
    build_index(git_repo)  # settles files modified "a moment ago" (re-checked once)
    db_path = cache_file(git_repo)
    before = (db_path.stat().st_mtime_ns, db_path.stat().st_size)
    again = build_index(git_repo)
    assert again.stats.parsed_now == 0
    assert (db_path.stat().st_mtime_ns, db_path.stat().st_size) == before


def test_a_second_checkout_of_the_same_content_parses_nothing(git_repo, tmp_path):
    build_index(git_repo)
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(git_repo, copy, ignore=shutil.ignore_patterns(".git"))  # no git: keys come from hashing
    other = build_index(copy)
    assert other.stats.parsed_now == 0 and other.stats.from_cache == 3
    assert [d[0] for d in other.symbols["src/app.py"].defs] == ["main"]


def test_lazy_symbols_are_complete_and_thread_safe(git_repo):
    import threading

    from promptlint.repo.extract import extract

    build_index(git_repo)
    index = build_index(git_repo)
    expected = {p: extract((git_repo / p).read_bytes(), index.files[p].lang) for p in index.files if index.files[p].lang}
    results, errors = [], []

    def read_all():
        try:
            results.append(dict(index.symbols.items()))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=read_all) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(r == expected for r in results)
    assert list(index.symbols) == sorted(expected) and len(index.symbols) == 3
    assert index.symbols.get("README.md") is None and "src/app.py" in index.symbols


def test_derived_structures_are_keyed_by_content(git_repo):
    index = build_index(git_repo)
    digest = index.content_digest
    value = {"postings": {"user": {"src/app.py": [0.8, "def"]}}, "n": 3}
    assert index.load_derived_json("search") is None
    assert index.save_derived_json("search", value)
    fresh = build_index(git_repo)
    assert fresh.content_digest == digest and fresh.load_derived_json("search") == value
    original = (git_repo / "src/app.py").read_text()
    (git_repo / "src/app.py").write_text(original + "\ndef more():\n    pass\n")
    changed = build_index(git_repo)
    assert changed.content_digest != digest and changed.load_derived_json("search") is None
    changed.save_derived("search", b"\x00raw bytes")
    assert build_index(git_repo).load_derived("search") == b"\x00raw bytes"
    (git_repo / "src/app.py").write_text(original)  # back to the first content: its blob is still there
    back = build_index(git_repo)
    assert back.content_digest == digest and back.load_derived_json("search") == value
    # A renamed (not just edited) file changes the digest too: the file list is part of it.
    (git_repo / "README.md").rename(git_repo / "README.txt")
    assert build_index(git_repo).content_digest != digest


@dataclass
class Inner:
    name: str
    weight: float


@dataclass
class Wider:  # what FileSymbols could grow into
    lang: str
    defs: list[tuple[str, str, int]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    parent: str | None = None
    inner: list[Inner] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    raw: bytes = b""


def test_codec_is_derived_from_the_dataclass_fields():
    from promptlint.repo.index import CodecError, _Codec, symbols_codec

    codec = _Codec(Wider)
    value = Wider("python", [("f", "function", 3)], {"b", "a"}, None, [Inner("x", 0.5)], {"k": 2}, bytes(range(256)))
    assert codec.decode(codec.encode(value)) == value
    assert codec.signature != symbols_codec().signature
    for bad in (b'["python", [["f", "function", "3"]], [], null, [], {}, ""]', b'["python", [], [1], null, [], {}, ""]',
                b'["python", [], [], 5, [], {}, ""]', b'["python", [], [], null, [["x"]], {}, ""]', b"{}", b"[]",
                b'["python", [], [], null, [], {}, "not base64!"]', b'["python", [], [], null, [], {}, 7]'):
        with pytest.raises(CodecError):
            codec.decode(bad)


def test_schema_changes_with_the_extractor():
    from promptlint.repo import index as index_mod

    first = index_mod.schema_version()
    index_mod._schema = None
    try:
        index_mod.CACHE_FORMAT += 1
        assert index_mod.schema_version() != first
    finally:
        index_mod.CACHE_FORMAT -= 1
        index_mod._schema = None
    assert index_mod.schema_version() == first


def test_parallel_parse_from_a_background_thread(tmp_path):
    """The LSP indexes in a thread: forking then could deadlock, so the pool spawns its workers."""
    import threading

    root = tmp_path / "threaded"
    for i in range(260):
        write(root, f"pkg/m{i}.py", f"def f{i}():\n    return {i}\n")
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("index", build_index(root, workers=2)))
    worker.start()
    worker.join(timeout=300)
    index = box["index"]
    assert index.stats.parsed_now == 260 and index.stats.definitions == 260


def test_identical_tracked_files_are_parsed_once(git_repo):
    for i in range(5):
        write(git_repo, f"apps/a{i}/__init__.py", "from .models import Model\n\ndef setup():\n    pass\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "apps")
    index = build_index(git_repo)
    assert index.stats.parsed_now == 3 + 1 and index.stats.from_cache == 4
    assert all([d[0] for d in index.symbols[f"apps/a{i}/__init__.py"].defs] == ["setup"] for i in range(5))


def test_a_refresh_reuses_the_previous_index_decoded_symbols(git_repo):
    first = build_index(git_repo)
    app = first.symbols["src/app.py"]
    (git_repo / "src/new_module.py").write_text("class Changed:\n    pass\n")
    second = build_index(git_repo, previous=first)
    assert second.symbols["src/app.py"] is app  # not decoded again
    assert [d[0] for d in second.symbols["src/new_module.py"].defs] == ["Changed"]


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
                            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=4), c, max_size=3), max_leaves=25)


@settings(max_examples=80, deadline=None)
@given(st.one_of(_json_values, st.lists(_json_values, min_size=7, max_size=7)))
def test_decoding_any_json_gives_valid_symbols_or_a_codec_error(value):
    import json

    from promptlint.repo.extract import FileSymbols
    from promptlint.repo.index import CodecError, symbols_codec

    try:
        syms = symbols_codec().decode(json.dumps(value).encode())
    except CodecError:
        return
    assert isinstance(syms, FileSymbols) and isinstance(syms.lang, str) and isinstance(syms.refs, dict)
    assert all(isinstance(d, tuple) and len(d) == 3 and isinstance(d[2], int) for d in syms.defs)


_names = st.text(max_size=12)  # lone surrogates too: the encoder escapes them


@settings(max_examples=60, deadline=None)
@given(st.builds(
    lambda lang, defs, refs, imports, routes, doc, err: __import__("promptlint.repo.extract", fromlist=["FileSymbols"]).FileSymbols(
        lang, defs, refs, imports, routes, doc, err),
    st.sampled_from(["python", "go"]), st.lists(st.tuples(_names, _names, st.integers(1, 10**6)), max_size=5),
    st.dictionaries(_names, st.integers(0, 10**6), max_size=5), st.lists(_names, max_size=3),
    st.lists(st.tuples(_names, _names, st.integers(1, 10**6)), max_size=3), _names, st.booleans()))
def test_symbols_round_trip_through_the_cache_codec(syms):
    from promptlint.repo.index import symbols_codec

    codec = symbols_codec()
    assert codec.decode(codec.encode(syms)) == syms


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_symbols_stay_readable_in_a_child_forked_while_another_thread_holds_the_table_lock(git_repo):
    build_index(git_repo)
    index = build_index(git_repo)
    index.symbols._lock.acquire()  # as if a refresh thread were decoding at the moment of the fork
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            import signal

            signal.alarm(20)  # a deadlock ends the child (SIGALRM) instead of the test run
            ok = [d[0] for d in index.symbols["src/app.py"].defs] == ["main"]
            os._exit(0 if ok else 1)
    finally:
        index.symbols._lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def _mixed_sources(root: Path, n: int) -> None:
    """Files of several languages with shared names, so ties in counts and routes occur."""
    for i in range(n):
        write(root, f"app/views_{i}.py", (
            f'"""View module {i}."""\nfrom django.urls import path\nimport os\n\n'
            f"class View{i}(Base):\n    name = 'v{i}'\n    def get(self, request):\n        return render(request, os.sep)\n\n"
            f"def helper_{i % 7}(x):\n    'Helper doc.'\n    raise ValueError(\"the value given is not valid here\")\n\n"
            f"urlpatterns = [path('a{i}/', View{i}), path('b{i}/', helper_{i % 7}), path('c/', other)]\n"))
        write(root, f"web/route_{i}.ts", (
            f"import {{ Router }} from 'express';\nconst r = Router();\nr.get('/items/{i}', list);\nr.post('/items', create);\n"
            f"export function list{i}(a: number) {{ return a + b + c; }}\nexport const K{i} = () => go(a, b);\n"))
    write(root, "svc/main.go", 'package main\n\nimport "net/http"\n\ntype S struct{}\n\nfunc main() {\n\thttp.HandleFunc("/x", h)\n}\n')
    write(root, "lib/src/lib.rs", "/// Doc\npub fn run() -> u8 { helper(); other(); 1 }\nmod inner;\n")
    write(root, "App.java", "/** Doc */\nclass App { @GetMapping(\"/x\") void get() { a(); b(); } }\n")


def test_parallel_and_serial_builds_give_the_same_index(tmp_path):
    """Worker processes change how the work is split, never what is indexed: every entry, byte for
    byte, and every count."""
    from promptlint.repo.index import PARALLEL_THRESHOLD, SymbolTable, symbols_codec

    root = tmp_path / "mixed"
    _mixed_sources(root, PARALLEL_THRESHOLD // 2 + 20)
    serial = build_index(root, workers=1, use_cache=False)
    parallel = build_index(root, workers=2, use_cache=False)
    assert parallel.stats.parsed_now == serial.stats.parsed_now > PARALLEL_THRESHOLD
    codec = symbols_codec()
    assert isinstance(parallel.symbols, SymbolTable)
    assert list(parallel.symbols) == list(serial.symbols)
    for path in serial.symbols:
        assert codec.encode(parallel.symbols[path]) == codec.encode(serial.symbols[path]), path
    for what in ("files", "parsed_files", "definitions", "references", "routes", "parse_errors", "languages", "skipped"):
        assert getattr(parallel.stats, what) == getattr(serial.stats, what), what
    assert parallel.content_digest == serial.content_digest


def _assert_same_index(got, want) -> None:
    from promptlint.repo.index import symbols_codec

    codec = symbols_codec()
    assert list(got.symbols) == list(want.symbols)
    for path in want.symbols:
        assert codec.encode(got.symbols[path]) == codec.encode(want.symbols[path]), path
    for what in ("files", "parsed_files", "parsed_now", "definitions", "references", "routes", "parse_errors", "languages", "skipped"):
        assert getattr(got.stats, what) == getattr(want.stats, what), what
    assert got.content_digest == want.content_digest


_CRASH: dict = {}


def _chunk_that_kills_its_worker(jobs, *args):  # type: ignore[no-untyped-def]
    """Module-level so the pool can pickle it; in a worker, dies on the chunk holding views_7."""
    import os

    if os.getpid() != _CRASH["parent"] and any(rel == "app/views_7.py" for rel, _ in jobs):
        os._exit(70)  # a hard death: no exception, no result, the pipe just closes
    return _CRASH["real"](jobs, *args)


def test_a_worker_killed_mid_build_falls_back_to_a_serial_parse(tmp_path, monkeypatch):
    """A worker that dies (the OOM killer, a grammar's segfault) breaks the pool: the chunks not yet
    delivered are parsed in this process, so the index is complete and equal to a serial build, and
    the cache written along the way serves the next refresh."""
    import os

    from promptlint.repo import index as index_mod

    root = tmp_path / "mixed"
    _mixed_sources(root, index_mod.PARALLEL_THRESHOLD // 2 + 20)
    serial = build_index(root, workers=1, use_cache=False)
    real_chunk = index_mod._parse_chunk
    monkeypatch.setitem(_CRASH, "parent", os.getpid())
    monkeypatch.setitem(_CRASH, "real", real_chunk)
    monkeypatch.setattr(index_mod, "_parse_chunk", _chunk_that_kills_its_worker)
    got = build_index(root, workers=2)
    _assert_same_index(got, serial)
    assert any("parallel parse failed (BrokenProcessPool)" in n for n in got.stats.notes), got.stats.notes
    monkeypatch.setattr(index_mod, "_parse_chunk", real_chunk)
    again = build_index(root, workers=2)
    assert again.stats.parsed_now == 0 and again.stats.from_cache == serial.stats.parsed_now


def test_a_refused_fork_falls_back_to_a_serial_parse(tmp_path, monkeypatch):
    """Under a process limit (RLIMIT_NPROC, a container's pids cap) starting workers fails with
    EAGAIN: the build parses serially instead of failing."""
    import concurrent.futures

    from promptlint.repo import index as index_mod

    root = tmp_path / "mixed"
    _mixed_sources(root, index_mod.PARALLEL_THRESHOLD // 2 + 20)
    serial = build_index(root, workers=1, use_cache=False)

    class RefusingPool:
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RefusingPool)
    got = build_index(root, workers=2, use_cache=False)
    _assert_same_index(got, serial)
    assert any("parallel parse failed (BlockingIOError)" in n for n in got.stats.notes), got.stats.notes


def test_extraction_is_the_same_every_time(tmp_path):
    """tree-sitter 0.26 hands each capture's nodes over in an order that varies between calls:
    references (ties in count), routes and definitions must not follow it."""
    from promptlint.repo.extract import extract
    from promptlint.repo.index import symbols_codec

    _mixed_sources(tmp_path, 1)
    codec = symbols_codec()
    for rel, lang in (("app/views_0.py", "python"), ("web/route_0.ts", "typescript"), ("svc/main.go", "go")):
        data = (tmp_path / rel).read_bytes()
        encoded = {codec.encode(extract(data, lang)) for _ in range(12)}
        assert len(encoded) == 1, rel
    syms = extract((tmp_path / "app/views_0.py").read_bytes(), "python")
    assert [r[1] for r in syms.routes] == ["a0/", "b0/", "c/"]  # source order
    counts = list(syms.refs.items())
    assert counts == sorted(counts, key=lambda kv: (-kv[1], kv[0]))


_PLAIN_MESSAGE = r"""(?<!")"((?:[^"\\\n]|\\.){12,240})"(?!")|(?<!')'((?:[^'\\\n]|\\.){12,240})'(?!')|`([^`\n]{12,240})`"""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(['"', "'", "`", "\\", "\n", " ", "ab", "word ", "x" * 13, '""', "''"]), max_size=60).map("".join))
def test_message_pattern_matches_as_its_plain_form(text):
    """The quote-first message regex (fast: the engine skips to the next quote) finds exactly what
    the plain lookbehind-first form finds."""
    import re

    from promptlint.repo.extract import _MESSAGE

    assert [m.groups() for m in _MESSAGE.finditer(text)] == [m.groups() for m in re.finditer(_PLAIN_MESSAGE, text)]


# --- test suites read lexically ---------------------------------------------------------------

_SUITE = '''"""Tests of the views."""
import os, sys as system
from . import helpers
from ..app.views import render, Paginator
from django.test import (
    TestCase,
)

LIMIT = 10
TIMEOUT: int = 5


class ViewTests(TestCase):
    fixtures = ["x"]

    def setUp(self):
        def inner():
            return 1
        self.client = render(inner())

    @staticmethod
    async def test_page(self):
        """A docstring whose prose says def fake and class that."""
        assert Paginator(LIMIT).page(2) == 2


def helper_ünïcode(x):
    return x == 1
'''


def test_a_test_suites_definitions_and_imports_match_the_parse_without_references():
    from promptlint.repo.extract import extract, extract_file, is_lexical_path

    data = _SUITE.encode()
    parsed = extract(data, "python")
    lexical = extract_file("tests/test_views.py", data, "python")
    assert is_lexical_path("tests/test_views.py") and lexical.refs == {}
    assert lexical.defs == [d for d in parsed.defs if d[1] != "field"]
    assert ("helper_ünïcode", "function", 27) in lexical.defs and ("inner", "function", 17) in lexical.defs
    assert lexical.imports == ["os", "sys", ".", "..app.views", "django.test"]
    assert (lexical.words, lexical.word_counts, lexical.generated) == (parsed.words, parsed.word_counts, parsed.generated)
    js = extract_file("test/user.test.ts", b"import { a } from '../src/a';\nconst b = require(\"./b\");\nimport './c';\n", "typescript")
    assert js.imports == ["../src/a", "./b", "./c"] and js.refs == {}


@pytest.mark.parametrize("path, lexical", [
    ("tests/test_views.py", True), ("pkg/tests/models.py", True), ("test/functional/a.ts", True),
    ("src/a.test.ts", True), ("cmd/main_test.go", True), ("app/__tests__/x.js", True),
    ("django/test/testcases.py", False), ("sympy/testing/pytest.py", False), ("src/app.py", False),
    ("pkg/contest.py", False), ("src/test/java/Foo.java", False),
])
def test_which_paths_are_read_lexically(path, lexical):
    from promptlint.repo.extract import is_lexical_path

    assert is_lexical_path(path) is lexical


def test_the_same_content_under_tests_and_code_keeps_two_entries_whichever_is_indexed_first(tmp_path):
    """A file's symbols depend on its path and content only, never on what was indexed before."""
    body = "from app import core\n\ndef check():\n    return core.run(1)\n"
    first = tmp_path / "one"
    write(first, "tests/test_a.py", body)
    write(first, "lib/a.py", body)
    both = build_index(first)
    assert both.symbols["tests/test_a.py"].refs == {} and both.symbols["lib/a.py"].refs
    only_test, only_code = tmp_path / "two", tmp_path / "three"
    write(only_test, "tests/test_a.py", body)
    write(only_code, "lib/a.py", body)
    for root in (only_code, only_test):  # the code copy first, into the same cache
        build_index(root)
    assert build_index(only_test).symbols["tests/test_a.py"] == both.symbols["tests/test_a.py"]
    assert build_index(only_code).symbols["lib/a.py"] == both.symbols["lib/a.py"]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["python", "typescript", "javascript", "go"]))
def test_lexical_extraction_never_crashes_on_arbitrary_bytes(data, lang):
    from promptlint.repo.extract import extract_lexical

    result = extract_lexical(data, lang)
    assert all(name and kind and line >= 1 for name, kind, line in result.defs)
    assert result.defs == sorted(result.defs, key=lambda d: (d[2], d[0], d[1]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["get", "User", "ById", "_", "9", "HTTPServer", " ", "\n", "é", "s", "ies", "x2y"]), max_size=40).map("".join))
def test_vocabulary_by_alphanumeric_runs_equals_splitting_each_identifier(text):
    import itertools
    import re
    from collections import Counter

    from promptlint.repo.extract import _vocabulary

    counts: dict[str, int] = {}
    for token, n in Counter(re.findall(r"[A-Za-z][A-Za-z0-9_]*", text)).items():
        for w in split_identifier(token):
            counts[w] = counts.get(w, 0) + n
    words = sorted(counts)
    expected = " ".join(words), bytes(min(255, counts[w]) for w in words)
    assert _vocabulary(text.encode()) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["get", "User", "ById", "_", "9", "HTTPServer", " ", "\n", "s", "ies", "x2y", "a", "URLs"]), max_size=30).map("".join), min_size=1, max_size=6))
def test_vocabulary_is_the_same_whatever_its_run_memo_holds(texts):
    """The per-process memo of each alphanumeric run's words (filled by earlier files, cleared
    when full) never changes a file's vocabulary: fresh, warm, or cleared every few runs."""
    from promptlint.repo import extract as X

    fresh = []
    for text in texts:
        X._RUN_WORDS.clear()
        fresh.append(X._vocabulary(text.encode()))
    assert [X._vocabulary(text.encode()) for text in texts] == fresh  # memo warm from the texts before
    bound = X._RUN_WORDS_MAX
    X._RUN_WORDS_MAX = 3  # not monkeypatch: hypothesis runs the body many times per fixture
    X._RUN_WORDS.clear()
    try:
        assert [X._vocabulary(text.encode()) for text in texts] == fresh
        assert len(X._RUN_WORDS) <= 3
    finally:
        X._RUN_WORDS_MAX = bound
        X._RUN_WORDS.clear()


@pytest.mark.parametrize("damage", ["deleted", "not-ours", "other-schema"])
def test_derived_structures_degrade_when_the_store_changed_under_the_index(git_repo, damage):
    """The store is opened again for the search structures, after the index was built: by then
    another process may have removed it, or put a database of another version in its place. The
    check must go on without them (load: None, save: False), not stop with StoreError."""
    index = build_index(git_repo)
    assert index.save_derived("search", b"saved")
    path = index.store_path
    path.unlink()
    if damage == "not-ours":
        sqlite3.connect(str(path)).execute("CREATE TABLE t (x)").connection.commit()
    elif damage == "other-schema":
        conn = sqlite3.connect(str(path))
        conn.execute("CREATE TABLE meta (k, v)")
        conn.execute("INSERT INTO meta VALUES ('format', '0')")
        conn.commit()
    assert index.load_derived("search") is None
    assert index.save_derived("search", b"again") is False
    assert index.load_derived_json("search") is None


# --- message literals, built on first need --------------------------------------------------------

def _message_repo(root: Path) -> Path:
    write(root, "app/errors.py", 'def check(x):\n    if x is None:\n        raise ValueError("the widget frobnicator refused to start")\n')
    write(root, "app/other.py", "MSG = 'an entirely different message about sprockets'\nX = 'short'\n")
    write(root, "tests/test_errors.py", 'def test_it():\n    assert str(err) == "the widget frobnicator refused to start"\n')
    write(root, "web/bundle.js", "var a='the widget frobnicator refused to start';" * 400)  # minified: no messages
    write(root, "README.md", '"the widget frobnicator refused to start" (a doc, not indexed code)\n')
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def _postings(field, grams):
    out = {}
    for g in grams:
        post = field.postings(g)
        out[g] = sorted(post[0].tolist()) if post is not None else []
    return out


def test_message_field_holds_every_indexed_files_literals_and_is_not_built_by_the_index(tmp_path):
    """Neither the index nor the search build reads message literals; the first need does, and
    gives each indexed file the trigrams of exactly the literals extract's message pattern finds
    in its content (test suites included, minified bundles and unindexed files not)."""
    from promptlint.repo import extract as X
    from promptlint.repo.search import RepoSearch, message_trigrams

    root = _message_repo(tmp_path / "repo")
    index = build_index(root)
    assert "messages" not in {f.name for f in dataclasses.fields(X.FileSymbols)}
    search = RepoSearch.build(index, cache=False)
    assert search.message is None
    field = search.message_field()
    assert search.message_field() is field
    grams = sorted(set(message_trigrams("the widget frobnicator refused to start")) | set(message_trigrams("an entirely different message about sprockets")))
    expected: dict[int, list[int]] = {g: [] for g in grams}
    for i, path in enumerate(search.paths):
        if path in index.symbols:
            for literal in X.message_literals((root / path).read_bytes()).split("\n"):
                for g in message_trigrams(literal):
                    if g in expected and i not in expected[g]:
                        expected[g].append(i)
    got = _postings(field, grams)
    assert got == {g: sorted(v) for g, v in expected.items()}
    widget = {search.paths[i] for i in got[message_trigrams("the widget frobnicator")[0]]}
    assert widget == {"app/errors.py", "tests/test_errors.py"}


def test_message_field_gives_no_evidence_for_a_file_changed_since_the_index(tmp_path):
    from promptlint.repo.search import RepoSearch, message_trigrams

    root = _message_repo(tmp_path / "repo")
    index = build_index(root)
    search = RepoSearch.build(index, cache=False)
    (root / "app/other.py").write_text("MSG = 'the widget frobnicator refused to start, edited'\n")
    field = search.message_field()
    ids = {search.paths[i] for i in _postings(field, message_trigrams("the widget frobnicator"))[message_trigrams("the widget frobnicator")[0]]}
    assert ids == {"app/errors.py", "tests/test_errors.py"}  # not other.py's new text, nor its old one
    old = _postings(field, message_trigrams("an entirely different message"))
    assert all(v == [] for v in old.values())


def test_message_field_is_saved_beside_the_index_and_loaded_by_the_next_process(tmp_path, monkeypatch):
    from promptlint.repo import search as search_mod
    from promptlint.repo.search import RepoSearch, message_trigrams

    root = _message_repo(tmp_path / "repo")
    first = RepoSearch.build(build_index(root))
    want = _postings(first.message_field(), message_trigrams("the widget frobnicator refused"))

    def unreadable(self):  # type: ignore[no-untyped-def]
        raise AssertionError("read the files again instead of loading the saved field")

    monkeypatch.setattr(search_mod.RepoSearch, "_message_rows", unreadable)
    again = RepoSearch.build(build_index(root))
    assert again.message is None and _postings(again.message_field(), message_trigrams("the widget frobnicator refused")) == want


def test_a_pasted_error_still_points_at_the_file_that_raises_it(tmp_path):
    from promptlint.repo.rank import Ranker
    from promptlint.repo.resolve import Resolver
    from promptlint.repo.search import RepoSearch
    from promptlint.text.analysis import analyze
    from promptlint.text.source import PromptSource

    root = _message_repo(tmp_path / "repo")
    resolver = Resolver(RepoSearch.build(build_index(root)))
    from promptlint.pipeline import Linter

    analysis = analyze(PromptSource("Startup fails:\n\nValueError: the widget frobnicator refused to start\n"), Linter().pipeline)
    q = resolver.query(analysis, resolver.resolve(analysis).mentions)
    assert q.messages == ["the widget frobnicator refused to start"]
    cands, X = resolver.ranker.features(q)
    from promptlint.repo.rank import FEATURES

    col = X[:, FEATURES.index("message")]
    hit = {resolver.search.paths[c] for c, v in zip(cands.tolist(), col.tolist()) if v > 0}
    assert "app/errors.py" in hit and "web/bundle.js" not in hit and "app/other.py" not in hit
    assert isinstance(resolver.ranker, Ranker)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_message_lock_held_at_fork_is_fresh_in_the_child(tmp_path):
    """A server forks check children while its threads may be building the message field: the
    child must not inherit the lock held (it would wait for ever on its first pasted error)."""
    from promptlint.repo import search as search_mod
    from promptlint.repo.search import RepoSearch

    root = _message_repo(tmp_path / "repo")
    search = RepoSearch.build(build_index(root), cache=False)
    with search_mod._message_lock:
        pid = os.fork()
        if pid == 0:  # the child: build the field, report through the exit status
            ok = False
            try:
                ok = not search_mod._message_lock.locked() and search.message_field() is not None
            except BaseException:
                pass
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
