"""Which files of a repository to index, and a content key for each.

Inside git: `git ls-files` (tracked, plus untracked files that are not ignored); a tracked file
that is unmodified is keyed by its blob id, which costs no read. Outside git: a walk that honours
`.gitignore` files at every level. Vendored and generated folders, symlinks and large files are
skipped; nothing outside the root is ever read.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .languages import language_of

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "third_party", "dist", "build",
        "out", "target", ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".cache", ".next", ".nuxt", ".svelte-kit", ".turbo", "coverage", "htmlcov",
        "site-packages", ".gradle", ".idea", ".terraform", "Pods", ".eggs",
    }
)
_MINIFIED = (".min.js", ".min.css", ".bundle.js", ".map")


@dataclass(frozen=True)
class RepoFile:
    path: str  # relative to the root, POSIX separators
    size: int
    mtime_ns: int
    blob: str | None  # git blob id when the working copy matches the index
    lang: str | None  # a language we parse, else None (still known for path matching)


# A folder that is not a project (a home directory, /) must not be walked for minutes.
MAX_FILES = 100_000


@dataclass
class Listing:
    root: Path
    git: bool
    files: list[RepoFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    truncated: bool = False  # stopped at MAX_FILES


def _skipped_dir(parts: list[str]) -> bool:
    return any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts)


def _git(root: Path, *args: str) -> bytes | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def is_git_worktree(root: Path) -> bool:
    out = _git(root, "rev-parse", "--is-inside-work-tree")
    return out is not None and out.strip() == b"true"


def list_files(root: Path, max_size: int = 1_000_000) -> Listing:
    root = root.resolve()
    if is_git_worktree(root):
        listing = _list_git(root, max_size)
        if listing is not None:
            return listing
    return _list_walk(root, max_size)


def _accept(listing: Listing, rel: str, blob: str | None, max_size: int) -> None:
    if len(listing.files) >= MAX_FILES:
        listing.truncated = True
        return
    parts = rel.split("/")
    if _skipped_dir(parts[:-1]):
        listing.skipped["vendored or generated folder"] += 1
        return
    if rel.endswith(_MINIFIED):
        listing.skipped["minified or generated file"] += 1
        return
    full = listing.root / rel
    try:
        st = os.lstat(full)
    except OSError:
        listing.skipped["missing or unreadable"] += 1
        return
    if stat.S_ISLNK(st.st_mode):
        listing.skipped["symlink"] += 1
        return
    if not stat.S_ISREG(st.st_mode):
        listing.skipped["not a regular file"] += 1
        return
    if st.st_size > max_size:
        listing.skipped["over the size cap"] += 1
        return
    listing.files.append(RepoFile(rel, st.st_size, st.st_mtime_ns, blob, language_of(rel)))


def _git_many(root: Path, *commands: tuple[str, ...]) -> list[bytes | None]:
    """Run several read-only git commands at once (each walks the index or the tree on its own)."""
    try:
        procs = [subprocess.Popen(["git", "-C", str(root), *cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for cmd in commands]
    except OSError:
        return [None] * len(commands)
    out: list[bytes | None] = []
    for proc in procs:
        try:
            data, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out.append(None)
            continue
        out.append(data if proc.returncode == 0 else None)
    return out


def _list_git(root: Path, max_size: int) -> Listing | None:
    staged, others, modified = _git_many(
        root, ("ls-files", "-z", "-s", "--cached"), ("ls-files", "-z", "--others", "--exclude-standard"), ("ls-files", "-z", "-m")
    )
    if staged is None or others is None or modified is None:
        return None
    changed = {p.decode("utf-8", "surrogateescape") for p in modified.split(b"\0") if p}
    listing = Listing(root=root, git=True)
    seen = set()
    for entry in staged.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, blob, stage_no = meta.decode().split()
        rel = raw_path.decode("utf-8", "surrogateescape")
        if rel in seen:
            continue  # merge conflicts list a path once per stage
        seen.add(rel)
        if mode == "160000":
            listing.skipped["submodule"] += 1
            continue
        if mode == "120000":
            listing.skipped["symlink"] += 1
            continue
        _accept(listing, rel, None if rel in changed or stage_no != "0" else blob, max_size)
    for raw in others.split(b"\0"):
        if raw:
            _accept(listing, raw.decode("utf-8", "surrogateescape"), None, max_size)
    listing.files.sort(key=lambda f: f.path)
    return listing


def _list_walk(root: Path, max_size: int) -> Listing:
    """Walk without git, honouring every .gitignore on the way down (pathspec, git's semantics)."""
    import pathspec

    listing = Listing(root=root, git=False)
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

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if listing.truncated:
            break
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        # Specs of folders we have left no longer apply.
        specs[:] = [(p, s) for p, s in specs if prefix.startswith(p)]
        if ".gitignore" in filenames:
            try:
                lines = (Path(dirpath) / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
                specs.append((prefix, pathspec.GitIgnoreSpec.from_lines(lines)))
            except OSError:
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
            _accept(listing, rel, None, max_size)
    listing.files.sort(key=lambda f: f.path)
    return listing


def content_key(data: bytes) -> str:
    """The same id git gives the content (sha1 of "blob <size>\\0" + data), so both keys agree."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()
