"""The persistent repository index: per-file symbols keyed by content, refreshed incrementally.

Cache layout (one pickle per repository root, written atomically with tmp + rename, so two
processes indexing at once never corrupt it; the last writer wins and both results are valid):

    $PROMPTLINT_CACHE_DIR or <user cache dir>/promptlint/index-v1/<sha1(root)>.pickle
        {"version", "root", "entries": {content key: FileSymbols}, "manifest": {path: (mtime_ns, size, key)}}

Content keys are git blob ids (free for unmodified tracked files, computed the same way for
everything else), so switching branches or commits never re-parses a file seen before.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..fsutil import atomic_write
from .extract import FileSymbols, extract
from .files import Listing, RepoFile, content_key, list_files

CACHE_VERSION = 1
# Entries of files no longer in the tree are kept (other branches) up to this many in all.
MAX_ENTRIES = 50_000
# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 200


def cache_dir() -> Path:
    override = os.environ.get("PROMPTLINT_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("promptlint", appauthor=False))


def cache_file(root: Path) -> Path:
    digest = hashlib.sha1(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return cache_dir() / f"index-v{CACHE_VERSION}" / f"{digest}.pickle"


@dataclass
class IndexStats:
    files: int = 0
    parsed_files: int = 0  # files in a language we parse
    parsed_now: int = 0  # parsed in this refresh (cache misses)
    from_cache: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    definitions: int = 0
    references: int = 0
    routes: int = 0
    parse_errors: int = 0
    seconds: float = 0.0
    cache_path: str = ""
    cache_bytes: int = 0
    cache_rebuilt: bool = False
    git: bool = False
    truncated: bool = False  # the listing stopped at files.MAX_FILES


@dataclass
class RepoIndex:
    root: Path
    files: dict[str, RepoFile]
    symbols: dict[str, FileSymbols]
    stats: IndexStats

    @property
    def paths(self) -> list[str]:
        return list(self.files)

    def exists(self, path: str) -> bool:
        return path in self.files


def _read_for_parse(root: Path, rel: str) -> tuple[bytes | None, str]:
    try:
        with open(root / rel, "rb") as fh:
            data = fh.read()
    except OSError:
        return None, "unreadable"
    if b"\0" in data[:8192]:
        return None, "binary"
    return data, ""


def _parse_one(job: tuple[str, str, str]) -> tuple[str, str | None, FileSymbols | None, str]:
    """(path, content key, symbols, problem). Runs in worker processes too: reads the file itself."""
    root, rel, lang = job
    data, problem = _read_for_parse(Path(root), rel)
    if data is None:
        return rel, None, None, problem
    key = content_key(data)
    try:
        symbols = extract(data, lang)
    except Exception as exc:  # a grammar crash must not take the index down
        return rel, key, None, f"parse failure ({type(exc).__name__})"
    return rel, key, symbols, ""


def _load_cache(path: Path) -> tuple[dict, bool]:
    """The cached state, and whether a broken cache had to be thrown away."""
    try:
        with open(path, "rb") as fh:
            state = pickle.load(fh)
        if not isinstance(state, dict) or state.get("version") != CACHE_VERSION:
            raise ValueError("old or foreign cache")
        if not isinstance(state.get("entries"), dict) or not isinstance(state.get("manifest"), dict):
            raise ValueError("malformed cache")
        return state, False
    except FileNotFoundError:
        return {"entries": {}, "manifest": {}}, False
    except Exception:
        return {"entries": {}, "manifest": {}}, True


def _save_cache(path: Path, state: dict) -> None:
    try:
        atomic_write(path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass  # a read-only or full cache dir costs speed next time, never correctness


def build_index(root: Path, max_size: int = 1_000_000, workers: int | None = None, use_cache: bool = True) -> RepoIndex:
    started = time.perf_counter()
    root = root.resolve()
    listing: Listing = list_files(root, max_size)
    path = cache_file(root)
    state, rebuilt = _load_cache(path) if use_cache else ({"entries": {}, "manifest": {}}, False)
    entries: dict[str, FileSymbols | None] = state["entries"]
    old_manifest: dict[str, tuple[int, int, str]] = state["manifest"]
    stats = IndexStats(files=len(listing.files), skipped=Counter(listing.skipped), cache_path=str(path), cache_rebuilt=rebuilt, git=listing.git, truncated=listing.truncated)

    manifest: dict[str, tuple[int, int, str]] = {}
    symbols: dict[str, FileSymbols] = {}
    to_parse: list[RepoFile] = []
    for f in listing.files:
        if f.lang is None:
            continue
        stats.parsed_files += 1
        key = f.blob
        if key is None:
            cached = old_manifest.get(f.path)
            if cached is not None and cached[0] == f.mtime_ns and cached[1] == f.size:
                key = cached[2]
        if key is not None and key in entries:
            manifest[f.path] = (f.mtime_ns, f.size, key)
            if entries[key] is not None:
                symbols[f.path] = entries[key]  # type: ignore[assignment]
            stats.from_cache += 1
        else:
            to_parse.append(f)

    jobs = [(str(root), f.path, f.lang) for f in to_parse]
    n_workers = workers or os.cpu_count() or 1
    if len(jobs) >= PARALLEL_THRESHOLD and n_workers > 1:
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            results = list(pool.map(_parse_one, jobs, chunksize=max(8, len(jobs) // (n_workers * 8))))
    else:
        results = [_parse_one(job) for job in jobs]
    by_path = {f.path: f for f in to_parse}
    for rel, key, syms, problem in results:
        if key is None:
            stats.skipped[problem] += 1
            continue
        f = by_path[rel]
        stats.parsed_now += 1
        if problem:
            stats.skipped[problem] += 1
        entries[key] = syms
        manifest[rel] = (f.mtime_ns, f.size, key)
        if syms is not None:
            symbols[rel] = syms

    for syms in symbols.values():
        stats.languages[syms.lang] += 1
        stats.definitions += len(syms.defs)
        stats.references += sum(syms.refs.values())
        stats.routes += len(syms.routes)
        stats.parse_errors += int(syms.parse_error)

    if use_cache and (stats.parsed_now or rebuilt or manifest != old_manifest):
        live = {key for _, _, key in manifest.values()}
        kept = {k: v for k, v in entries.items() if k in live}
        for k, v in entries.items():  # other branches' files, while there is room
            if len(kept) >= MAX_ENTRIES:
                break
            kept.setdefault(k, v)
        _save_cache(path, {"version": CACHE_VERSION, "root": str(root), "entries": kept, "manifest": manifest})
    try:
        stats.cache_bytes = path.stat().st_size
    except OSError:
        pass
    stats.seconds = time.perf_counter() - started
    return RepoIndex(root=root, files={f.path: f for f in listing.files}, symbols=symbols, stats=stats)
