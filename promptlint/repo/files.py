"""Which files of a repository to index, and a content key for each.

Inside git: `git ls-files` (tracked, plus untracked files that are not ignored). A tracked file whose
stat data (mtime, ctime, size, inode) still matches what git recorded in its index is keyed by its
blob id, which costs no read; anything else is keyed later by hashing its content. We never ask git
to compare contents (`ls-files -m`): that can run a repository's configured clean filters, and
`core.fsmonitor` (a program named in `.git/config`) is switched off for every call, so listing an
untrusted checkout runs nothing of its. Outside git: a walk that honours `.gitignore` files at every
level.

Vendored and generated folders, symlinks, large files and anything reached through a symlinked
folder are skipped: every listed path, once resolved, is inside the root. (git lists `lib/x.py`
after `lib` was replaced by a symlink to elsewhere; each folder is checked once, with lstat, so that
costs one system call per folder, not per file.) The reads themselves go through
:class:`promptlint.fsutil.Beneath`, since the tree can change between listing and reading.
"""

from __future__ import annotations

import hashlib
import operator
import os
import re
import stat
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

from ..fsutil import is_file_beneath, spawn_lock
from .languages import EXTENSIONS as _EXTENSIONS

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "third_party", "dist", "build",
        "out", "target", ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".cache", ".next", ".nuxt", ".svelte-kit", ".turbo", "coverage", "htmlcov",
        "site-packages", ".gradle", ".idea", ".terraform", "Pods", ".eggs",
    }
)
_MINIFIED = (".min.js", ".min.css", ".bundle.js", ".map")


class RepoFile(NamedTuple):
    """One listed file. A NamedTuple, not a dataclass: a listing makes tens of thousands of them on
    every refresh, and this is the cheapest immutable record with named fields."""

    path: str  # relative to the root, POSIX separators
    size: int
    mtime_ns: int
    blob: str | None  # git blob id when the working copy matches git's index
    lang: str | None  # a language we parse, else None (still known for path matching)
    ctime_ns: int = 0
    ino: int = 0


# A folder that is not a project (a home directory, /) must not be walked for minutes.
MAX_FILES = 100_000


@dataclass
class Listing:
    root: Path
    git: bool
    files: list[RepoFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    truncated: bool = False  # stopped at MAX_FILES
    # With git and a truncated listing: the paths git listed beyond the cap (not indexed, but they
    # exist, so a prompt naming one is not told "no such file").
    overflow: frozenset[str] = frozenset()
    # Paths whose name is not printable text (a newline, ESC, a bidi override, bytes that are not
    # UTF-8): never indexed nor suggested, since every front end would show them to a terminal or to
    # Claude, but they exist, so a prompt naming one is not told "no such file".
    unprintable: frozenset[str] = frozenset()

    def exists_probe(self) -> Callable[[str], bool] | None:
        """For a truncated listing, how to tell that an unlisted path is a file of the repository:
        a listed-by-git path or (walk) any path, confirmed by an lstat below the root that follows
        no symlink. None when the listing is complete (then "not listed" means "not there")."""
        unprintable = self.unprintable
        if not self.truncated:
            return unprintable.__contains__ if unprintable else None
        root, overflow, git = str(self.root), self.overflow, self.git

        def probe(rel: str) -> bool:
            if rel in unprintable:
                return True
            if git and rel not in overflow:
                return False
            return is_file_beneath(root, rel)

        return probe


# Environment variables that would point git at another repository or index than the root's own.
_GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                 "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never write the repository's index (git status would refresh it)
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def _git_argv(root: Path, args: tuple[str, ...]) -> list[str]:
    # core.fsmonitor names a program; an untrusted checkout's .git/config must not get it run.
    return ["git", "-C", str(root), "-c", "core.fsmonitor=", *args]


def _git(root: Path, *args: str) -> bytes | None:
    try:
        with spawn_lock:
            proc = subprocess.Popen(_git_argv(root, args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_git_env(),
                                    stdin=subprocess.DEVNULL)
    except OSError:
        return None
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    return out if proc.returncode == 0 else None


def is_git_worktree(root: Path) -> bool:
    out = _git(root, "rev-parse", "--is-inside-work-tree")
    return out is not None and out.strip() == b"true"


def list_files(root: Path, max_size: int = 1_000_000, during: Callable[[], None] | None = None) -> Listing:
    """The files of ``root``. ``during``, if given, is called exactly once, while git still walks the
    tree for untracked files (other work of the caller's overlaps that wait)."""
    root = root.resolve()
    pending = [during] if during is not None else []

    def run_during() -> None:
        while pending:
            pending.pop()()

    listing = _list_git(root, max_size, run_during)
    if listing is None:
        listing = _list_walk(root, max_size)
    run_during()
    return listing


class _Acceptor:
    """Checks each candidate path: each folder once (a real folder all the way down, not vendored),
    then one lstat on a plain string per file. The hot loop of every refresh: kept lean."""

    def __init__(self, listing: Listing, max_size: int):
        self.listing = listing
        self.max_size = max_size
        self.prefix = str(listing.root).rstrip("/") + "/"
        # folder -> None when its files may be listed, else the reason they are skipped
        self.folders: dict[str, str | None] = {"": None}
        self.overflow: list[str] = []
        self.unprintable: list[str] = []

    def folder_verdict(self, d: str) -> str | None:
        verdict = self.folders.get(d, "")
        if verdict != "":
            return verdict
        parent, _, name = d.rpartition("/")
        verdict = self.folder_verdict(parent)
        if verdict is None:
            if name in SKIP_DIRS or name.endswith(".egg-info"):
                verdict = "vendored or generated folder"
            elif name in ("", ".", ".."):
                verdict = "inside a symlinked or vanished folder"
            else:
                try:
                    if not stat.S_ISDIR(os.lstat(self.prefix + d).st_mode):  # a symlink is not a folder here
                        verdict = "inside a symlinked or vanished folder"
                except OSError:
                    verdict = "inside a symlinked or vanished folder"
        self.folders[d] = verdict
        return verdict

    def refuse_name(self, rel: str) -> None:
        """A path whose name is not printable text (isprintable: no control, format or separator
        character but the space, no lone surrogate from bytes that are not UTF-8): a suggestion of
        it could put a new line into Claude's context or drive the terminal. Also, such a name
        cannot be stored (SQLite takes UTF-8 only): one file named so made the index unbuildable."""
        self.listing.skipped["file name not printable"] += 1
        self.unprintable.append(rel)

    def accept(self, rel: str, index_stat: tuple[int, int, int, int, str] | None) -> None:
        """``index_stat``: (mtime_ns, ctime_ns, size, ino, blob) as git recorded it, or None."""
        listing = self.listing
        files = listing.files
        if not rel.isprintable():
            self.refuse_name(rel)
            return
        if len(files) >= MAX_FILES:
            listing.truncated = True
            if listing.git:
                self.overflow.append(rel)
            return
        folder, _, name = rel.rpartition("/")
        verdict = self.folders.get(folder, "")
        if verdict != "":
            if verdict is not None:
                listing.skipped[verdict] += 1
                return
        else:
            verdict = self.folder_verdict(folder)
            if verdict is not None:
                listing.skipped[verdict] += 1
                return
        if name.endswith(_MINIFIED):
            listing.skipped["minified or generated file"] += 1
            return
        if name in ("", ".", ".."):
            listing.skipped["not a regular file"] += 1
            return
        try:
            st = os.lstat(self.prefix + rel)
        except OSError:
            listing.skipped["missing or unreadable"] += 1
            return
        mode = st.st_mode
        if not S_ISREG(mode):
            listing.skipped["symlink" if stat.S_ISLNK(mode) else "not a regular file"] += 1
            return
        size = st.st_size
        if size > self.max_size:
            listing.skipped["over the size cap"] += 1
            return
        blob = None
        mtime_ns = st.st_mtime_ns
        ctime_ns = st.st_ctime_ns
        if index_stat is not None:
            i_mtime, i_ctime, i_size, i_ino, i_blob = index_stat
            # git's own test (ie_match_stat): the recorded stat data still describes the file. Sizes
            # and inodes are stored modulo 2**32, nanoseconds are 0 when git was built without them.
            if (i_size == size & 0xFFFFFFFF and (i_mtime == mtime_ns or _same_second(i_mtime, mtime_ns))
                    and (i_ctime == ctime_ns or _same_second(i_ctime, ctime_ns)) and (i_ino == 0 or i_ino == st.st_ino & 0xFFFFFFFF)):
                blob = i_blob
        dot = name.rfind(".")
        lang = _EXTENSIONS.get(name[dot:].lower()) if dot >= 0 else None
        files.append(RepoFile(rel, size, mtime_ns, blob, lang, ctime_ns, st.st_ino))


S_ISREG = stat.S_ISREG
_by_path = operator.itemgetter(0)


def _same_second(recorded_ns: int, actual_ns: int) -> bool:
    return recorded_ns % 1_000_000_000 == 0 and recorded_ns // 1_000_000_000 == actual_ns // 1_000_000_000


class _GitCommand:
    """A read-only git command started now and collected later, its output drained by a thread so
    a large output never stalls it while we work on another command's output."""

    def __init__(self, root: Path, args: tuple[str, ...], env: dict[str, str]):
        self.out: bytes | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            with spawn_lock:
                self.proc = subprocess.Popen(_git_argv(root, args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                             stdin=subprocess.DEVNULL, env=env)
        except OSError:
            self.thread = None
            return
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        proc = self.proc
        assert proc is not None
        try:
            data, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return
        except (OSError, ValueError):
            return
        self.out = data if proc.returncode == 0 else None

    def result(self) -> bytes | None:
        if self.thread is not None:
            self.thread.join()
        return self.out


def _git_many(root: Path, *commands: tuple[str, ...]) -> list[bytes | None]:
    """Run several read-only git commands at once (each walks the index or the tree on its own)."""
    env = _git_env()
    started = [_GitCommand(root, cmd, env) for cmd in commands]
    return [c.result() for c in started]


# One entry of `git ls-files -z -s --debug`: "<mode> <blob> <stage>\t<path>\0" then the stat data
# git recorded, one field per line.
_DEBUG_ENTRY = re.compile(
    rb"(\d{6}) ([0-9a-f]{40,64}) (\d)\t([^\0]*)\0"
    rb"  ctime: (\d+):(\d+)\n  mtime: (\d+):(\d+)\n  dev: \d+\tino: (\d+)\n  uid: \d+\tgid: \d+\n  size: (\d+)\tflags: [0-9a-f]+\n"
)


# A long-running process (server, editor) refreshes the same roots again and again while git's index
# rarely changes: the decoded tracked entries are kept per root, keyed by the index file's identity
# (a rewrite of the index is a rename of a new file: new inode, ctime, mtime). Bounded in roots and
# in entries, so a huge tree is not held twice.
_TRACKED_MEMO: dict[str, tuple[tuple, list[tuple]]] = {}
_TRACKED_MEMO_ROOTS = 4
_TRACKED_MEMO_MAX = 50_000
_memo_lock = threading.Lock()


def forget_tracked(root: str) -> None:
    """Drop the tracked entries kept for ``root`` (before forking workers that would copy them)."""
    with _memo_lock:
        _TRACKED_MEMO.pop(str(root), None)


def _tracked_records(staged: bytes) -> list[tuple]:
    """git's tracked entries, decoded once: (path, stage 0?, mode, blob, mtime_ns, ctime_ns, inode,
    size, folder, name, language)."""
    out = []
    for m in _DEBUG_ENTRY.finditer(staged):
        mode, blob, stage_no, raw_path, c_s, c_ns, m_s, m_ns, ino, size = m.groups()
        rel = raw_path.decode("utf-8", "surrogateescape")
        folder, _, name = rel.rpartition("/")
        dot = name.rfind(".")
        out.append((rel, stage_no == b"0", mode, blob.decode(), int(m_s) * 1_000_000_000 + int(m_ns), int(c_s) * 1_000_000_000 + int(c_ns),
                    int(ino), int(size), folder, name, _EXTENSIONS.get(name[dot:].lower()) if dot >= 0 else None))
    return out


def _list_git(root: Path, max_size: int, during: Callable[[], None] = lambda: None) -> Listing | None:
    env = _git_env()
    # The untracked listing walks the whole tree (the slowest command): started first, it runs while
    # we check the tracked files.
    others_cmd = _GitCommand(root, ("ls-files", "-z", "--others", "--exclude-standard"), env)
    probe = _GitCommand(root, ("rev-parse", "--is-inside-work-tree", "--git-path", "index"), env).result()
    if probe is None:
        others_cmd.result()
        return None
    lines = probe.split(b"\n")
    if not lines or lines[0].strip() != b"true":
        return None
    # Racy git: a file written in the same clock tick as git's index may have changed after git
    # recorded it, with identical stat data. Such a file is hashed, not trusted by its blob.
    index_mtime = 0
    memo_key: tuple | None = None
    if len(lines) > 1 and lines[1]:
        index_path = os.path.join(str(root), os.fsdecode(lines[1]))
        try:
            ist = os.stat(index_path)
            index_mtime = ist.st_mtime_ns
            memo_key = (index_path, ist.st_dev, ist.st_ino, ist.st_size, ist.st_mtime_ns, ist.st_ctime_ns)
        except OSError:
            index_mtime = 0
    root_key = str(root)
    memo = _TRACKED_MEMO.get(root_key)
    if memo is not None and memo_key is not None and memo[0] == memo_key:
        records = memo[1]
    else:
        staged = _GitCommand(root, ("ls-files", "-z", "-s", "--debug", "--cached"), env).result()
        if staged is None:
            others_cmd.result()
            return None
        records = _tracked_records(staged)
        if staged and not records:
            return None  # an output format we do not know: let the walk list the tree
        if memo_key is not None and len(records) <= _TRACKED_MEMO_MAX:
            with _memo_lock:
                _TRACKED_MEMO.pop(root_key, None)
                while len(_TRACKED_MEMO) >= _TRACKED_MEMO_ROOTS:
                    _TRACKED_MEMO.pop(next(iter(_TRACKED_MEMO)))
                _TRACKED_MEMO[root_key] = (memo_key, records)
    listing = Listing(root=root, git=True)
    acceptor = _Acceptor(listing, max_size)
    seen: set[str] = set()
    accept = acceptor.accept
    # The hot loop of a refresh, inlined: what _Acceptor.accept does, for git's tracked entries.
    files, folders, skipped, prefix, lstat = listing.files, acceptor.folders, listing.skipped, acceptor.prefix, os.lstat
    for rel, stage0, mode, blob, mtime_ns, ctime_ns, i_ino, isize, folder, name, lang in records:
        if not rel.isprintable():
            if rel not in seen:
                seen.add(rel)
                acceptor.refuse_name(rel)
            continue
        if not stage0:
            if rel not in seen:  # merge conflicts list a path once per stage
                seen.add(rel)
                accept(rel, None)
            continue
        if mode == b"160000":
            skipped["submodule"] += 1
            continue
        if mode == b"120000":
            skipped["symlink"] += 1
            continue
        if len(files) >= MAX_FILES:
            accept(rel, None)  # records the overflow
            continue
        verdict = folders.get(folder, "")
        if verdict == "":
            verdict = acceptor.folder_verdict(folder)
        if verdict is not None:
            skipped[verdict] += 1
            continue
        if name.endswith(_MINIFIED):
            skipped["minified or generated file"] += 1
            continue
        if lang is None:
            # A file we never parse: git's record of it is enough to list it (its path, for
            # matching), and skips an lstat per file. Nothing is read on the strength of this
            # entry: the reads that happen (manifests) check the file again.
            if isize > max_size:
                skipped["over the size cap"] += 1
            else:
                files.append(RepoFile(rel, isize, mtime_ns, None, None))
            continue
        try:
            st = lstat(prefix + rel)
        except OSError:
            skipped["missing or unreadable"] += 1
            continue
        if not S_ISREG(st.st_mode):
            skipped["symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"] += 1
            continue
        fsize = st.st_size
        if fsize > max_size:
            skipped["over the size cap"] += 1
            continue
        f_mtime, f_ctime = st.st_mtime_ns, st.st_ctime_ns
        valid = None
        # git's own test (ie_match_stat): the recorded stat data still describes the file, and the
        # file is not racily clean (written in the same tick as the index). Sizes and inodes are
        # stored modulo 2**32; nanoseconds are 0 when git was built without them.
        if (index_mtime == 0 or mtime_ns < index_mtime) and isize == fsize & 0xFFFFFFFF:
            if ((mtime_ns == f_mtime or _same_second(mtime_ns, f_mtime)) and (ctime_ns == f_ctime or _same_second(ctime_ns, f_ctime))
                    and (i_ino == 0 or i_ino == st.st_ino & 0xFFFFFFFF)):
                valid = blob
        files.append(RepoFile(rel, fsize, f_mtime, valid, lang, f_ctime, st.st_ino))
    during()
    others = others_cmd.result()
    if others is None:
        return None
    for raw in others.split(b"\0"):
        if raw:
            acceptor.accept(raw.decode("utf-8", "surrogateescape"), None)
    listing.files.sort(key=_by_path)
    listing.overflow = frozenset(acceptor.overflow)
    listing.unprintable = frozenset(acceptor.unprintable)
    return listing


def _list_walk(root: Path, max_size: int) -> Listing:
    """Walk without git, honouring every .gitignore on the way down (pathspec, git's semantics)."""
    import pathspec

    from ..fsutil import Beneath, UnsafeRead

    listing = Listing(root=root, git=False)
    acceptor = _Acceptor(listing, max_size)
    specs: list[tuple[str, pathspec.PathSpec]] = []  # (directory prefix, spec), outermost first

    def ignored(rel: str, is_dir: bool) -> bool:
        # As in git, the deepest .gitignore with a matching pattern decides, so a nested
        # "!keep.tmp" re-includes what a parent's "*.tmp" excluded.
        for prefix, spec in reversed(specs):
            if prefix and not rel.startswith(prefix):
                continue
            verdict = spec.check_file(rel[len(prefix) :] + ("/" if is_dir else "")).include
            if verdict is not None:
                return verdict
        return False

    with Beneath(root) as reader:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            if listing.truncated:
                break
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            prefix = "" if rel_dir == "." else rel_dir + "/"
            # Specs of folders we have left no longer apply.
            specs[:] = [(p, s) for p, s in specs if prefix.startswith(p)]
            if ".gitignore" in filenames:
                try:
                    text = reader.read(prefix + ".gitignore", 1_000_000).decode("utf-8", "replace")
                    specs.append((prefix, pathspec.GitIgnoreSpec.from_lines(text.splitlines())))
                except (OSError, UnsafeRead, ValueError):
                    listing.skipped["unreadable .gitignore"] += 1
            keep = []
            for d in sorted(dirnames):
                rel = prefix + d
                if d in SKIP_DIRS or d.endswith(".egg-info"):
                    listing.skipped["vendored or generated folder"] += 1
                elif os.path.islink(os.path.join(dirpath, d)):
                    listing.skipped["symlink"] += 1
                elif ignored(rel, True):
                    listing.skipped["ignored"] += 1
                else:
                    keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                rel = prefix + name
                if ignored(rel, False):
                    listing.skipped["ignored"] += 1
                    continue
                acceptor.accept(rel, None)
    listing.files.sort(key=lambda f: f.path)
    listing.unprintable = frozenset(acceptor.unprintable)
    return listing


def content_key(data: bytes) -> str:
    """The same id git gives the content (sha1 of "blob <size>\\0" + data), so both keys agree."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()
