"""The repository index against an untrusted repository and an untrusted cache folder (issue 9):
no read outside the root, no code run by loading a cache, a garbled cache entry dropped and
re-parsed, truncation said out loud, and existence answered from the disk when the listing stopped."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.fsutil import Beneath, NotRegularFile, OutsideRoot, is_file_beneath
from promptlint.repo.files import list_files
from promptlint.repo.index import build_index, cache_file

from .repo_helpers import git, write

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def repo_with_lib(tmp_path):
    """A committed lib/ folder, and a folder outside the repository holding a 'secret' definition."""
    root = tmp_path / "repo"
    write(root, "app.py", "def main():\n    return 1\n")
    write(root, "lib/util.py", "def helper():\n    return 2\n")
    write(root, "lib/deep/mod.py", "def deep():\n    return 3\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    outside = tmp_path / "elsewhere"
    write(outside, "util.py", "def stolen_secret():\n    return 'key'\n")
    write(outside, "deep/mod.py", "def stolen_deep():\n    return 'key'\n")
    return root, outside


def _all_defs(index) -> set[str]:
    return {d[0] for syms in index.symbols.values() for d in syms.defs}


# --- reads outside the root ---------------------------------------------------------------------


def test_committed_folder_replaced_by_a_symlink_is_not_followed(repo_with_lib):
    root, outside = repo_with_lib
    shutil.rmtree(root / "lib")
    os.symlink(outside, root / "lib")  # git still lists lib/util.py and lib/deep/mod.py
    index = build_index(root)
    assert sorted(index.files) == ["app.py"]
    assert "stolen_secret" not in _all_defs(index) and "stolen_deep" not in _all_defs(index)
    assert index.stats.skipped["inside a symlinked or vanished folder"] == 2


def test_untracked_files_under_a_symlinked_folder_are_not_listed(repo_with_lib):
    root, outside = repo_with_lib
    os.symlink(outside, root / "linked")
    write(root, "pkg/real.py", "def real(): pass\n")  # untracked, not ignored
    assert [f.path for f in list_files(root).files if f.path.startswith(("linked", "pkg"))] == ["pkg/real.py"]


def test_folder_swapped_for_a_symlink_between_listing_and_parsing(repo_with_lib, monkeypatch):
    root, outside = repo_with_lib
    import promptlint.repo.index as index_mod

    real_list = index_mod.list_files

    def list_then_swap(*args, **kwargs):
        listing = real_list(*args, **kwargs)
        shutil.rmtree(root / "lib")
        os.symlink(outside, root / "lib")
        return listing

    monkeypatch.setattr(index_mod, "list_files", list_then_swap)
    index = build_index(root, use_cache=False)
    assert "stolen_secret" not in _all_defs(index) and "stolen_deep" not in _all_defs(index)
    assert "lib/util.py" not in index.symbols and index.stats.skipped["unreadable"] == 2


def test_beneath_refuses_symlinks_anywhere_on_the_way(tmp_path):
    root = tmp_path / "r"
    write(root, "a/b/c.txt", "inside")
    write(tmp_path, "out/c.txt", "outside")
    os.symlink(tmp_path / "out", root / "a" / "link")
    os.symlink(tmp_path / "out" / "c.txt", root / "a" / "file-link.txt")
    os.mkfifo(root / "a" / "fifo")
    with Beneath(root) as reader:
        assert reader.read("a/b/c.txt", 100) == b"inside"
        with pytest.raises(OutsideRoot):
            reader.read("a/link/c.txt", 100)
        with pytest.raises(NotRegularFile):
            reader.read("a/file-link.txt", 100)
        with pytest.raises(NotRegularFile):
            reader.read("a/fifo", 100)  # never blocks
        for bad in ("../r/a/b/c.txt", "a/../a/b/c.txt", "/etc/passwd", "a//b/c.txt"):
            with pytest.raises(OutsideRoot):
                reader.read(bad, 100)
        assert reader.read("a/b/c.txt", 100) == b"inside"  # the cached folder chain still works
    assert is_file_beneath(root, "a/b/c.txt") and not is_file_beneath(root, "a/link/c.txt") and not is_file_beneath(root, "a/b")


def test_git_config_programs_are_not_run(repo_with_lib, tmp_path):
    """An untrusted checkout's .git/config can name programs (core.fsmonitor, a clean filter that
    `ls-files -m` would run to compare contents): listing must run none of them."""
    root, _ = repo_with_lib
    marker = tmp_path / "ran"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    script.chmod(0o755)
    git(root, "config", "core.fsmonitor", str(script))
    git(root, "config", "filter.evil.clean", str(script))
    write(root, ".gitattributes", "*.py filter=evil\n")
    (root / "app.py").write_text("def main():\n    return 42\n")  # modified: a content comparison would run the filter
    os.utime(root / "lib/util.py", (1, 1))  # stat data no longer matches git's index
    index = build_index(root)
    assert not marker.exists()
    assert [d[0] for d in index.symbols["app.py"].defs] == ["main"]
    assert "lib/util.py" in index.symbols


# --- the cache cannot run code, and is private -----------------------------------------------------


class _Boom:
    def __reduce__(self):
        return (os.mkdir, (os.environ["PL_TEST_MARKER"],))


def test_a_pickle_planted_at_the_cache_path_is_never_loaded(repo_with_lib, tmp_path, monkeypatch):
    root, _ = repo_with_lib
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PL_TEST_MARKER", str(marker))
    payload = pickle.dumps({"version": 1, "entries": _Boom(), "manifest": {}})
    path = cache_file(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    legacy = path.parent.parent / "index-v1"  # the old pickle location
    legacy.mkdir(parents=True, exist_ok=True)
    import hashlib

    (legacy / (hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:20] + ".pickle")).write_bytes(payload)
    index = build_index(root)
    assert not marker.exists()
    assert index.stats.cache_rebuilt and index.stats.parsed_now == 3


def test_cache_folder_and_file_are_private(repo_with_lib):
    root, _ = repo_with_lib
    index = build_index(root)
    folder = Path(index.stats.cache_path).parent
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    for f in folder.iterdir():
        assert f.stat().st_mode & 0o077 == 0, f


def test_cache_folder_writable_by_others_is_not_trusted(repo_with_lib, tmp_path, monkeypatch):
    root, _ = repo_with_lib
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(shared))
    index = build_index(root)
    assert index.stats.parsed_now == 3 and "stolen_secret" not in _all_defs(index)
    assert any("writable by other users" in n and "in memory" in n for n in index.stats.notes)
    assert not any(p.suffix == ".sqlite3" for p in shared.rglob("*"))  # nothing written, nothing read
    assert index.load_derived("x") is None and not index.save_derived("x", b"data")


@pytest.mark.skipif(not IS_ROOT, reason="needs root to give the folder to another user")
def test_cache_folder_owned_by_another_user_is_not_trusted(repo_with_lib, tmp_path, monkeypatch):
    root, _ = repo_with_lib
    theirs = tmp_path / "theirs"
    (theirs / "index-v2").mkdir(parents=True, mode=0o700)
    os.chown(theirs / "index-v2", 12345, 12345)
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(theirs))
    index = build_index(root)
    assert index.stats.parsed_now == 3
    assert any("another user" in n for n in index.stats.notes)


def test_a_symlink_at_the_cache_path_is_not_followed(repo_with_lib, tmp_path):
    root, _ = repo_with_lib
    path = cache_file(root)
    path.parent.mkdir(parents=True, mode=0o700)
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    os.symlink(target, path)
    build_index(root)
    assert target.read_text() == "precious"


# --- a garbled entry is dropped and re-parsed, never fatal, never sticky ----------------------------


def _garble(db_path: Path, data: bytes | None = None, **columns) -> None:
    with sqlite3.connect(db_path) as db:
        if data is not None:
            db.execute("UPDATE blobs SET data = ?", (data,))
        for column, value in columns.items():
            db.execute(f"UPDATE entries SET {column} = ?", (value,))


@pytest.mark.parametrize("garbage", [
    {"data": b"[not json"},
    {"data": b'["python",[["main","function","x"]],{},[],[],"",false]'},  # a line that is not an int
    {"data": b'["python",[],{"a":"b"},[],[],"",false]'},  # a count that is a string
    {"data": b'["python"]'},  # too few fields
    {"data": b"[" * 100_000},  # deep nesting
    {"ndefs": "many"},
    {"lang": "cobol"},
])
def test_garbled_cache_entry_is_dropped_and_reparsed(repo_with_lib, garbage):
    root, _ = repo_with_lib
    build_index(root)
    _garble(Path(cache_file(root)), **garbage)
    index = build_index(root)
    assert sorted(index.symbols) == ["app.py", "lib/deep/mod.py", "lib/util.py"]
    assert _all_defs(index) == {"main", "helper", "deep"}
    assert index.stats.definitions == 3
    again = build_index(root)  # repaired: nothing is parsed again, nothing is dropped again
    assert again.stats.parsed_now == 0 and _all_defs(again) == {"main", "helper", "deep"}
    assert again.stats.dropped_entries == 0


def test_garbled_cache_entry_does_not_break_check(repo_with_lib, linter):
    root, _ = repo_with_lib
    build_index(root)
    _garble(Path(cache_file(root)), data=b"[garbage")
    linter._repos.clear()
    report = linter.lint("Fix the bug in `helper` so it returns 3.", path="p.prompt", repo=root)
    assert not any("could not be indexed" in n for n in report.notes)
    assert any(r["path"] == "lib/util.py" for r in report.references)


def test_cli_index_survives_a_garbled_cache(repo_with_lib):
    root, _ = repo_with_lib
    build_index(root)
    _garble(Path(cache_file(root)), data=b"\xff\xfe garbage", ndefs=-5)
    proc = subprocess.run([sys.executable, "-m", "promptlint", "index", "--repo", str(root), "--format", "json"],
                          capture_output=True, text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["definitions"] == 3


# --- truncated listings --------------------------------------------------------------------------


@pytest.fixture
def capped(tmp_path, monkeypatch):
    import promptlint.repo.files as files_mod

    root = tmp_path / "home"
    for i in range(30):
        write(root, f"d{i % 3}/f{i:02d}.py", f"def f{i}(): pass\n")
    monkeypatch.setattr(files_mod, "MAX_FILES", 10)
    return root


@pytest.mark.parametrize("use_git", [False, True])
def test_truncated_listing_warns_and_still_knows_unlisted_files_exist(capped, tmp_path, use_git):
    root = capped
    if use_git:
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "init")
    index = build_index(root)
    assert index.stats.truncated and len(index.files) == 10
    assert any("stopped listing" in w for w in index.stats.warnings)
    unlisted = "d2/f29.py"
    assert unlisted not in list(index.files)
    assert unlisted in index.files and index.exists(unlisted)  # what the REF rules ask
    assert "d2/nope.py" not in index.files and not index.exists("d2/nope.py")
    os.symlink(tmp_path / "elsewhere-missing", root / "d2" / "dangling.py")
    assert "d2/dangling.py" not in index.files and "../home/d2/f29.py" not in index.files


def test_truncated_repository_gets_no_false_no_such_file(capped, linter):
    linter._repos.clear()
    report = linter.lint("Fix the crash in d2/f29.py when the input is empty.", path="p.prompt", repo=capped)
    assert not any(f.code == "REF002" for f in report.findings), [f.message for f in report.findings]
    assert any("stopped listing" in w for w in report.warnings)
    missing = linter.lint("Fix the crash in d2/f99.py when the input is empty.", path="p.prompt", repo=capped)
    assert any(f.code == "REF002" for f in missing.findings)


def test_cli_index_says_the_listing_was_truncated(capped):
    code = (
        "import sys\nimport promptlint.repo.files as f\nf.MAX_FILES = 10\nfrom promptlint.cli import main\n"
        f"main(['index', '--repo', {str(capped)!r}], prog_name='promptlint')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Stopped listing at 10 files" in proc.stdout
    assert "warning: stopped listing" in proc.stderr


# --- manifests are untrusted input -----------------------------------------------------------------


def _facts_for(tmp_path: Path, files: dict[str, bytes]):
    from promptlint.repo.facts import detect_facts

    root = tmp_path / "m"
    shutil.rmtree(root, ignore_errors=True)
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return detect_facts(build_index(root, use_cache=False))


HOSTILE = [
    b"{" * 50_000,
    b"[" * 50_000 + b"]" * 50_000,
    b'{"dependencies": ["jest"], "devDependencies": 7, "scripts": ["test"]}',
    b'{"dependencies": {"vitest": 1}, "scripts": {"test": 1}, "x": ' + b"9" * 100_000 + b"}",
    b"\xff\xfe\x00{",
    b'{"compilerOptions": "strict"}',
    b'{"compilerOptions": {"strict": true}} /* unterminated',
    b"null",
]


@pytest.mark.parametrize("data", HOSTILE)
def test_hostile_js_manifests_never_raise(tmp_path, data):
    facts = _facts_for(tmp_path, {"src/a.ts": b"export const a = 1;\n", "package.json": data, "tsconfig.json": data})
    assert facts.languages == ["TypeScript"]


@pytest.mark.parametrize("data", [
    b"[workspace]\ndependencies = 3\n",
    b"dependencies = [1, 2]\n[workspace]\ndependencies = 'x'\n",
    b"dev-dependencies = 5\n",
    b"a = " + b"[" * 5000 + b"]" * 5000,
    b"x = 1" + b"0" * 100_000,
    b"tool = 1\n",
    b"[tool]\nruff = 1\nblack = []\n",
    b"\xff\xfe not utf-8",
])
def test_hostile_toml_manifests_never_raise(tmp_path, data):
    rust = _facts_for(tmp_path, {"src/lib.rs": b"pub fn a() {}\n", "Cargo.toml": data})
    assert rust.languages == ["Rust"]
    py = _facts_for(tmp_path, {"pkg/a.py": b"def a(): pass\n", "pyproject.toml": data})
    assert py.languages == ["Python"]


def test_manifest_reads_are_bounded_and_stay_inside_the_root(tmp_path):
    outside = tmp_path / "outside"
    write(outside, "package.json", json.dumps({"devDependencies": {"vitest": "1"}, "scripts": {"test": "vitest"}}))
    root = tmp_path / "m"
    write(root, "src/a.ts", "export const a = 1;\n")
    os.symlink(outside, root / "linked")
    os.symlink(outside / "package.json", root / "package.json")
    from promptlint.repo.facts import detect_facts

    facts = detect_facts(build_index(root, use_cache=False))
    assert facts.test_framework is None and facts.test_command is None


def test_package_json_with_urls_and_comments_is_read(tmp_path):
    """`//` inside a string (a URL) is not a comment: the manifest must still be understood."""
    data = b'{"homepage": "https://example.org/x", "devDependencies": {"vitest": "1"}, "scripts": {"test": "vitest"}}'
    facts = _facts_for(tmp_path, {"src/a.ts": b"export const a = 1;\n", "package.json": data,
                                  "tsconfig.json": b'{\n // comment\n "compilerOptions": {"strict": true, /* x */ "paths": {"@/*": ["src/*"]},},\n}'})
    assert facts.test_framework == "vitest" and facts.test_command == "npm test"
    assert facts.ts_strict == ["strict"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(
                        st.sampled_from(["dependencies", "devDependencies", "scripts", "compilerOptions", "strict", "test", "lint", "vitest", "workspace"]),
                        children, max_size=4), max_leaves=20))
def test_any_json_manifest_value_never_raises(tmp_path, value):
    data = json.dumps(value).encode()
    facts = _facts_for(tmp_path, {"src/a.ts": b"export const a = 1;\n", "package.json": data, "tsconfig.json": data})
    assert facts.languages == ["TypeScript"]


def test_default_cache_folder_left_group_writable_by_a_loose_umask_is_tightened(repo_with_lib, tmp_path, monkeypatch):
    """Ubuntu's umask 002 makes a folder group-writable; promptlint's own default cache folder is
    tightened (a folder the user named is refused instead, see above)."""
    monkeypatch.delenv("PROMPTLINT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    base = tmp_path / "xdg" / "promptlint"
    base.mkdir(parents=True)
    base.chmod(0o775)
    root, _ = repo_with_lib
    index = build_index(root)
    assert not index.stats.notes and index.store_path is not None
    assert base.stat().st_mode & 0o022 == 0
    assert build_index(root).stats.parsed_now == 0


def test_cache_folder_we_create_is_private_even_under_a_loose_umask(repo_with_lib, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_CACHE_DIR", str(tmp_path / "new-cache"))
    old = os.umask(0o002)
    try:
        index = build_index(repo_with_lib[0])
    finally:
        os.umask(old)
    assert not index.stats.notes
    assert (tmp_path / "new-cache").stat().st_mode & 0o077 == 0


def test_a_symlink_in_the_repository_is_not_called_missing_nor_read(repo_with_lib):
    # A committed symlink to a file outside the repository (and a path through a symlinked folder):
    # they are there, so REF002 must not say "no such file", and the target is never read.
    from promptlint.pipeline import lint

    root, outside = repo_with_lib
    os.symlink(outside / "util.py", root / "linked.py")
    os.symlink(outside, root / "linked-dir")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "links")
    report = lint("Fix stolen_secret in linked.py and in linked-dir/util.py, and fix main in app.py.", repo=root)
    ref002 = [f for f in report.findings if f.code == "REF002"]
    assert ref002 == []
    assert "stolen_secret" not in _all_defs(build_index(root))
    assert all("linked" not in r["path"] for r in report.references)


def test_a_path_that_is_really_absent_is_still_reported(repo_with_lib):
    from promptlint.pipeline import lint

    root, _ = repo_with_lib
    report = lint("Fix main in app.py and in lib/missing_module.py.", repo=root)
    assert any(f.code == "REF002" and "lib/missing_module.py" in f.message for f in report.findings)


# --- one repository cannot poison another's cache entry (audit item 4) ---------------------------

@pytest.mark.parametrize("hostile_first", [True, False])
def test_a_forged_blob_id_in_one_repository_never_poisons_anothers_symbols(tmp_path, monkeypatch, hostile_first):
    """git's recorded blob id is trusted as a lookup key without a read (the stat data matched), and
    an unpacked archive carries its own .git/index: it can claim another project's blob id for a
    file of its own. The entry stored for what we parse is keyed by the bytes we read, never by
    that claim, so the victim's file keeps its own symbols whichever repository is indexed first."""
    import promptlint.repo.index as index_mod
    from promptlint.repo.files import content_key

    victim = tmp_path / "victim"
    write(victim, "lib/auth.py", "def check_password(user, password):\n    return True\n")
    git(victim, "init", "-q")
    git(victim, "add", "-A")
    git(victim, "commit", "-qm", "init")
    victim_blob = content_key((victim / "lib" / "auth.py").read_bytes())
    hostile = tmp_path / "hostile"
    write(hostile, "lib/auth.py", "def exfiltrate_everything():\n    return 1\n")
    real_list = index_mod.list_files

    def forged(root, *args, **kwargs):
        listing = real_list(root, *args, **kwargs)
        if Path(root).resolve() == hostile.resolve():
            listing.files = [f._replace(blob=victim_blob) if f.path == "lib/auth.py" else f for f in listing.files]
        return listing

    monkeypatch.setattr(index_mod, "list_files", forged)
    order = [hostile, victim] if hostile_first else [victim, hostile]
    built = {root.name: build_index(root) for root in order}
    again = build_index(victim)  # from the shared cache now
    for index in (built["victim"], again):
        assert {d[0] for d in index.symbols["lib/auth.py"].defs} == {"check_password"}
