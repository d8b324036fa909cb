"""The persistent repository index: per-file symbols keyed by content, refreshed incrementally.

Cache layout: one SQLite database per extractor schema, shared by every repository of the user
(so a second checkout, a worktree or another commit of a repository re-parses only what differs):

    $PROMPTLINT_CACHE_DIR or <user cache dir>/promptlint/index-v2/<schema>.sqlite3
        entries(key, lang, ndefs, nrefs, nroutes, perr, added)   content key -> what it holds, in counts
        blobs(key, data)                                          content key -> FileSymbols (JSON)
        roots(id, path, used)                                     one row per indexed root
        files(root, path, mtime_ns, ctime_ns, size, key)          what each root's files hashed to
        derived(root, name, digest, data, saved)                  structures built from an index

Why SQLite and JSON: nothing in the file can run code when loaded (a pickle can, which matters when
PROMPTLINT_CACHE_DIR is shared), a one-file change writes one entry and one row instead of
rewriting the whole cache, concurrent processes are serialised by SQLite's locking, and a
no-change refresh reads one small joined query. Every value read is checked: a database that is
not ours or not readable is deleted and rebuilt; a row or entry that fails its type checks is
dropped and the file re-parsed, so a garbled entry costs one parse, once. The folder is created
0700 and the file 0600; a cache folder another user owns or can write is not used at all (the
index is built in memory, with a note saying why).

Content keys are git blob ids (free for unmodified tracked files, computed the same way for
everything else), so switching branches or commits never re-parses a file seen before. A test
suite's file is read lexically, not parsed (extract.is_lexical_path, by its path): its entry is keyed
``lexical:<blob id>``, so the same content under tests/ and in the code holds two entries and a
file's symbols never depend on which copy was indexed first. The
schema is derived from :class:`FileSymbols`' fields and the extractor's own source and queries:
a new field or a changed query gets a new database, never a misread old one.

Symbols are decoded lazily: :attr:`RepoIndex.symbols` is a read-only mapping (a
:class:`SymbolTable`, not a dict) that fetches the encoded entries on first access and decodes each
on first use, so a refresh that nothing reads costs no decoding. Iterating it is complete (every
parsed file, in path order); nothing is parsed later behind the consumer's back. A refresh given
``previous=`` (the server's and the LSP's earlier index) reuses its decoded symbols.
:attr:`RepoIndex.files` is a dict; when the listing stopped at the file cap it is a
:class:`RepoFiles`, whose ``in`` also answers for files present on disk but unlisted.

FileSymbols is serialised generically from its dataclass fields (a JSON array in field order, each
value checked against its annotation on decode: str, int, float, bool, bytes (as base64), None,
list, tuple, set, dict[str, ...], Optional/Union, nested dataclasses), so adding a field needs no
change here, and no version to bump: the schema digest changes with the fields.

Derived structures (for example the search engine's postings) are cached beside the index and
keyed by its content, without pickle:

    digest = index.content_digest                # over (path, content key) of every listed file
    data = index.load_derived_json("search")     # None unless saved for this very digest
    if data is None:
        data = build(...)
        index.save_derived_json("search", data)  # JSON-able values; save_derived() takes bytes

`content_digest` covers the extractor schema, every listed path, and the content key of every
parsed file (git's blob for other tracked files when known, else their size and mtime), so equal
digests mean the same file list and the same symbols. `index.content_key(path)` gives one file's key.

Each name keeps its three most recent digests per root (branch switches do not thrash). With no
usable cache (use_cache=False, an untrusted folder) loads return None and saves do nothing.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import os
import sqlite3
import stat
import threading
import time
import typing
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from ..fsutil import Beneath, UnsafeRead, cache_dir, is_file_beneath, private_dir
from .extract import FileSymbols, extract_file, extract_shallow, is_deferrable, is_lexical_path, needs_parse
from .files import Listing, RepoFile, content_key, list_files
from .languages import LEXICAL_LANGUAGES

CACHE_FORMAT = 2  # the folder name; the schema digest below names the file
CACHE_VERSION = CACHE_FORMAT  # the old name; nothing needs bumping by hand any more (see schema_version)
# Entries of files no longer in any indexed tree are kept (other branches) up to this many in all.
MAX_ENTRIES = 100_000
# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 200
# A build asked to defer its parse (build_index(defer_parse=True): a one-shot `check` on a repository
# not indexed yet) defers it only when at least this many files need one; fewer are parsed at once.
DEFER_MIN_FILES = 200
# The key prefix of a deferred file's stand-in entry (extract.extract_shallow of the same content).
_SHALLOW = "shallow:"
# Roots not indexed for this long lose their rows (their entries stay while there is room).
ROOT_TTL_SECONDS = 30 * 86400
# A file modified this recently may change again within the file system's timestamp granularity
# after we read it; its key is recorded but re-checked (hashed, not parsed) next time.
_RACY_NS = 2_000_000_000
_DERIVED_KEEP = 3
_LANGS = frozenset({"python", "typescript", "tsx", "javascript", "rust", "go", "java"}) | LEXICAL_LANGUAGES


def cache_file(root: Path | None = None) -> Path:
    """The cache database (shared by all roots; ``root`` is accepted for compatibility)."""
    return cache_dir() / f"index-v{CACHE_FORMAT}" / f"{schema_version()[:16]}.sqlite3"


# --- FileSymbols <-> JSON, generically from the dataclass -------------------------------------------


class CodecError(ValueError):
    pass


def _fail(what: str) -> typing.NoReturn:
    raise CodecError(what)


def _converter(tp: Any) -> Callable[[Any], Any]:
    """A function checking a decoded JSON value against the type ``tp`` and converting it (lists to
    tuples, sets, base64 to bytes); raises CodecError. Supports str, int, float, bool, bytes, None,
    list, tuple, set, frozenset, dict[str, ...], Optional/Union and nested dataclasses."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is str or tp is int or tp is bool or tp is float or tp is type(None):
        want = {str: (str,), int: (int,), bool: (bool,), float: (float, int), type(None): (type(None),)}[tp]

        def scalar(v: Any) -> Any:
            if type(v) not in want:
                _fail(f"expected {tp.__name__}, got {type(v).__name__}")
            return v

        return scalar
    if tp is bytes:

        def raw(v: Any) -> bytes:
            if type(v) is not str:
                _fail("expected base64 text")
            try:
                return base64.b64decode(v, validate=True)
            except (ValueError, binascii.Error):
                _fail("not base64")

        return raw
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", typing.Union)):
        options = [_converter(a) for a in args]

        def union(v: Any) -> Any:
            for conv in options:
                try:
                    return conv(v)
                except CodecError:
                    continue
            _fail(f"no member of {tp} fits")

        return union
    if origin in (list, set, frozenset):
        item = _converter(args[0]) if args else (lambda v: v)
        simple = args and args[0] in (str, int, bool)
        want_item = args[0] if simple else None
        build = {list: list, set: set, frozenset: frozenset}[origin]

        def sequence(v: Any) -> Any:
            if type(v) is not list:
                _fail("expected a list")
            if simple:
                if not all(type(x) is want_item for x in v):
                    _fail(f"expected a list of {want_item.__name__}")
                return v if build is list else build(v)
            return build([item(x) for x in v])

        return sequence
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            each = _converter(args[0])
            return lambda v: tuple(each(x) for x in v) if type(v) is list else _fail("expected a list")
        convs = [_converter(a) for a in args]
        n = len(convs)
        kinds = [a if a in (str, int, bool) else None for a in args]
        if all(kinds):

            def flat_tuple(v: Any) -> Any:
                if type(v) is not list or len(v) != n:
                    _fail(f"expected {n} items")
                for x, k in zip(v, kinds):
                    if type(x) is not k:
                        _fail("wrong item type")
                return tuple(v)

            return flat_tuple
        return lambda v: tuple(c(x) for c, x in zip(convs, v)) if type(v) is list and len(v) == n else _fail(f"expected {n} items")
    if origin is dict:
        if args and args[0] is not str:
            raise TypeError(f"dict keys must be str to round-trip through JSON, not {args[0]}")
        value = _converter(args[1]) if args else (lambda v: v)
        simple = bool(args) and args[1] in (str, int, bool)
        want_value = args[1] if simple else None

        def mapping(v: Any) -> Any:
            if type(v) is not dict:
                _fail("expected an object")
            if simple:
                if not all(type(x) is want_value for x in v.values()):
                    _fail(f"expected {want_value.__name__} values")
                return v
            return {k: value(x) for k, x in v.items()}

        return mapping
    if dataclasses.is_dataclass(tp):
        codec = _Codec(tp)
        return codec.from_json
    if tp is Any:
        return lambda v: v
    raise TypeError(f"cannot serialise a field of type {tp!r}; use str, int, float, bool, list, tuple, set, dict[str, ...] or a dataclass")


def _to_json(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return [_to_json(getattr(v, f.name)) for f in dataclasses.fields(v) if f.init]
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, (set, frozenset)):
        return sorted(_to_json(x) for x in v)
    if isinstance(v, (list, tuple)):
        return [_to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: _to_json(x) for k, x in v.items()}
    return v


def _needs_walk(tp: Any) -> bool:
    """Whether values of ``tp`` hold something json.dumps cannot take as is (a dataclass, a set)."""
    if tp is bytes or dataclasses.is_dataclass(tp) or typing.get_origin(tp) in (set, frozenset):
        return True
    return any(_needs_walk(a) for a in typing.get_args(tp) if a is not Ellipsis)


class _Codec:
    """Encodes a dataclass as the JSON array of its fields in declaration order; decodes and checks
    each field against its annotation."""

    def __init__(self, cls: type):
        self.cls = cls
        hints = typing.get_type_hints(cls)
        self.fields = [f for f in dataclasses.fields(cls) if f.init]
        self.names = [f.name for f in self.fields]
        self.convs = [_converter(hints[f.name]) for f in self.fields]
        # Only the fields json.dumps cannot take as they are (bytes, sets, dataclasses) are walked:
        # tuples and dicts of plain values encode the same either way.
        self.walk = [_needs_walk(hints[f.name]) for f in self.fields]
        self.nested = any(self.walk)
        self.signature = ";".join(f"{f.name}:{hints[f.name]!r}" for f in self.fields)

    def to_json(self, obj: Any) -> list[Any]:
        if self.nested:
            return [_to_json(getattr(obj, n)) if walk else getattr(obj, n) for n, walk in zip(self.names, self.walk)]
        return [getattr(obj, n) for n in self.names]

    def from_json(self, data: Any) -> Any:
        if type(data) is not list or len(data) != len(self.convs):
            _fail(f"expected {len(self.convs)} fields")
        return self.cls(*[conv(v) for conv, v in zip(self.convs, data)])

    def encode(self, obj: Any) -> bytes:
        return json.dumps(self.to_json(obj), separators=(",", ":")).encode("ascii")

    def decode(self, blob: bytes) -> Any:
        try:
            data = json.loads(blob)
        except (ValueError, RecursionError, TypeError) as exc:
            raise CodecError(f"not JSON ({type(exc).__name__})") from None
        return self.from_json(data)


_codec_lock = threading.Lock()
_codec: _Codec | None = None
_schema: str | None = None


def symbols_codec() -> _Codec:
    global _codec
    with _codec_lock:
        if _codec is None:
            _codec = _Codec(FileSymbols)
        return _codec


def schema_version() -> str:
    """A digest of everything that decides what an entry holds: the cache format, FileSymbols'
    fields and types, the extractor's source, its queries and the package version."""
    global _schema
    if _schema is None:
        from .. import __about__
        from . import extract as extract_mod
        from .languages import QUERY_DIR

        h = hashlib.sha1(f"format {CACHE_FORMAT}\nversion {__about__.__version__}\n{symbols_codec().signature}\n{_TABLES}".encode())
        sources = [Path(extract_mod.__file__)] + sorted(QUERY_DIR.glob("*.scm"))
        for src in sources:
            try:
                h.update(src.name.encode() + b"\0" + src.read_bytes() + b"\0")
            except OSError:
                h.update(src.name.encode() + b"\0missing\0")
        _schema = h.hexdigest()
    return _schema


# --- the lazily decoded symbol table ---------------------------------------------------------------


class SymbolTable(Mapping[str, FileSymbols]):
    """path -> FileSymbols, decoded on first access (thread-safe). Iteration order is path order.

    An entry that fails to decode (a garbled cache row) is re-parsed from the file on the spot and
    the cache row replaced; if the file cannot be parsed any more, the path is left out."""

    def __init__(self, keys: dict[str, str], blobs: dict[str, bytes], decoded: dict[str, FileSymbols],
                 repair: Callable[[str, str], FileSymbols | None], fetch: Callable[[list[str]], dict[str, bytes]] | None = None):
        self._keys = keys  # path -> content key
        self._blobs = blobs  # content key -> encoded entry (dropped once decoded)
        self._decoded = decoded  # content key -> FileSymbols
        self._repair = repair
        self._fetch = fetch  # loads the encoded entries not in memory, all at once, on first need
        self._lock = threading.Lock()
        self._lost: set[str] = set()
        _tables[id(self)] = self

    def __len__(self) -> int:
        return len(self._keys) - len(self._lost)

    def __iter__(self) -> Iterator[str]:
        lost = self._lost
        return (p for p in list(self._keys) if p not in lost)

    def __contains__(self, path: object) -> bool:
        return path in self._keys and path not in self._lost

    def __getitem__(self, path: str) -> FileSymbols:
        key = self._keys[path]
        syms = self._decoded.get(key)
        if syms is not None:
            return syms
        with self._lock:
            syms = self._decoded.get(key)
            if syms is None:
                blob = self._blobs.get(key)
                if blob is None and self._fetch is not None:
                    fetch, self._fetch = self._fetch, None
                    wanted = sorted({k for k in self._keys.values() if k not in self._blobs and k not in self._decoded})
                    try:
                        self._blobs.update(fetch(wanted))
                    except Exception:  # an unreadable cache: each entry is re-parsed instead
                        pass
                    blob = self._blobs.get(key)
                try:
                    if blob is None:
                        raise CodecError("missing")
                    syms = symbols_codec().decode(blob)
                except CodecError:
                    syms = self._repair(path, key)
                    if syms is None:
                        self._lost.add(path)
                        raise KeyError(path) from None
                self._decoded[key] = syms
                self._blobs.pop(key, None)
        return syms

    def items(self):  # type: ignore[override]
        return _SafeItems(self)

    def values(self):  # type: ignore[override]
        return _SafeValues(self)

    def content_key(self, path: str) -> str | None:
        return self._keys.get(path)


# The warm server forks `check` children: a table lock held by another thread at that moment would
# stay held forever in the child. Every table gets a fresh lock in a forked child.
_tables: "weakref.WeakValueDictionary[int, SymbolTable]" = weakref.WeakValueDictionary()


def _reset_locks_in_child() -> None:
    global _codec_lock
    _codec_lock = threading.Lock()
    for table in list(_tables.values()):
        table._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_in_child)


class _SafeItems(typing.ItemsView):  # type: ignore[type-arg]
    def __iter__(self):  # type: ignore[no-untyped-def]
        table = self._mapping
        for path in table:
            try:
                yield path, table[path]
            except KeyError:
                continue


class _SafeValues(typing.ValuesView):  # type: ignore[type-arg]
    def __iter__(self):  # type: ignore[no-untyped-def]
        table = self._mapping
        for path in table:
            try:
                yield table[path]
            except KeyError:
                continue


class RepoFiles(dict):  # type: ignore[type-arg]
    """path -> RepoFile in path order. When the listing stopped at the file cap, ``in`` also answers
    True for a file that exists below the root but was not listed (checked without following any
    symlink), so "no such file" is never said of a file that is there."""

    def __init__(self, items: Any = (), probe: Callable[[str], bool] | None = None):
        super().__init__(items)
        self._probe = probe
        self._probed: dict[str, bool] = {}

    def __contains__(self, path: object) -> bool:
        if dict.__contains__(self, path):
            return True
        probe = self._probe
        if probe is None or not isinstance(path, str):
            return False
        known = self._probed.get(path)
        if known is None:
            known = self._probed[path] = probe(path)
        return known

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (dict, (dict(self),))


# --- stats and the index ------------------------------------------------------------------------


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
    warnings: list[str] = field(default_factory=list)  # for the user: the CLI prints them
    notes: list[str] = field(default_factory=list)  # explanations (why the cache was not used)
    dropped_entries: int = 0  # garbled cache entries thrown away and re-parsed
    deferred: int = 0  # files whose parse was deferred: their symbols are lexical stand-ins for now


@dataclass
class RepoIndex:
    root: Path
    files: dict[str, RepoFile]
    symbols: Mapping[str, FileSymbols]
    stats: IndexStats
    store_path: Path | None = None  # the cache database, when one is in use

    @property
    def paths(self) -> list[str]:
        return list(self.files)

    def exists(self, path: str) -> bool:
        """Whether ``path`` (relative, POSIX) is a file of the repository: listed, or present on
        disk below the root without a symlink on the way (a vendored, ignored or oversized file,
        or one past a truncated listing)."""
        if dict.__contains__(self.files, path):
            return True
        return is_file_beneath(self.root, path)

    def content_key(self, path: str) -> str | None:
        """The content key of a parsed file (its git blob id, ``lexical:``-prefixed for a test suite's
        file read lexically), else its git blob when known."""
        symbols = self.symbols
        key = symbols.content_key(path) if isinstance(symbols, SymbolTable) else None
        if key is None:
            f = self.files.get(path)
            key = f.blob if f is not None else None
        return key

    @cached_property
    def content_digest(self) -> str:
        """A digest of what the index was built from: the extractor schema and, for every listed
        file, its path and content key (git blob or content hash; size and mtime for an unparsed
        file git does not know). Equal digests mean equal symbols and an equal file list."""
        h = hashlib.sha1(schema_version().encode() + b"\n")
        keys = self.symbols._keys if isinstance(self.symbols, SymbolTable) else {}
        for path, f in self.files.items():
            key = keys.get(path) or f.blob or f"{f.size}:{f.mtime_ns}"
            h.update(f"{path}\0{key}\n".encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    # --- derived structures, keyed by content_digest ---
    def save_derived(self, name: str, data: bytes) -> bool:
        """Store ``data`` under ``name`` for this index's content digest. False when no cache."""
        if self.store_path is None:
            return False
        try:
            with _Store.connect(self.store_path) as store:
                return store.save_derived(str(self.root), name, self.content_digest, data)
        except (sqlite3.Error, StoreError, OSError):  # removed or replaced since the index was built: go on without
            return False

    def load_derived(self, name: str) -> bytes | None:
        """What :meth:`save_derived` stored under ``name`` for this very content digest, else None."""
        if self.store_path is None:
            return None
        try:
            with _Store.connect(self.store_path) as store:
                return store.load_derived(str(self.root), name, self.content_digest)
        except (sqlite3.Error, StoreError, OSError):  # as in save_derived: rebuilt, not fatal
            return None

    def save_derived_json(self, name: str, value: Any) -> bool:
        try:
            data = json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        except (TypeError, ValueError):
            return False
        return self.save_derived(name, data)

    def load_derived_json(self, name: str) -> Any | None:
        data = self.load_derived(name)
        if data is None:
            return None
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            return None


# --- the SQLite store ------------------------------------------------------------------------------

_TABLES = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries(key TEXT PRIMARY KEY, lang TEXT NOT NULL, ndefs INTEGER NOT NULL,
    nrefs INTEGER NOT NULL, nroutes INTEGER NOT NULL, perr INTEGER NOT NULL, added REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs(key TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roots(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS files(root INTEGER NOT NULL, path TEXT NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY(root, path)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_key ON files(key);
CREATE TABLE IF NOT EXISTS derived(root INTEGER NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, data BLOB NOT NULL,
    saved REAL NOT NULL, PRIMARY KEY(root, name, digest)) WITHOUT ROWID;
"""


class StoreError(Exception):
    """The database is not ours or not readable: delete and rebuild it."""


class StoreUnavailable(sqlite3.OperationalError):
    """The database must not be opened by this process (see _forked_with_store_open); it is fine."""


# SQLite must not be carried across fork() (sqlite.org/howtocorrupt.html, 2.6): a child inherits
# SQLite's in-process record of its parent's open connections and their locks. Forked while a thread
# of the parent was inside a write transaction, a child can never write to the database (the
# write lock stays counted as held by a connection that, in the child, never finishes), and one
# forked while a thread was inside SQLite may find its mutexes held. The warm server forks `check`
# children while its threads index, so connections are counted, the count cannot change during a
# fork, and a child forked while any was open never opens the database: it indexes in memory.
_fork_guard = threading.Lock()
_stores_open = 0
_forked_with_store_open = False


def _fork_guard_release_in_child() -> None:
    global _fork_guard, _forked_with_store_open
    _forked_with_store_open = _forked_with_store_open or _stores_open > 0
    _fork_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=lambda: _fork_guard.acquire(), after_in_parent=lambda: _fork_guard.release(),
                        after_in_child=_fork_guard_release_in_child)


class _Entry(typing.NamedTuple):
    lang: str
    ndefs: int
    nrefs: int
    nroutes: int
    perr: int
    data: bytes | None  # the encoded FileSymbols; None until fetched (see SymbolTable)


# The checks of _valid_entry, in SQL (run by SQLite in C on every row of a refresh).
_ENTRY_OK = ("typeof(e.ndefs) = 'integer' AND typeof(e.nrefs) = 'integer' AND typeof(e.nroutes) = 'integer'"
             " AND e.ndefs >= 0 AND e.nrefs >= 0 AND e.nroutes >= 0 AND e.perr IN (0, 1) AND typeof(e.perr) = 'integer'"
             " AND e.lang IN (" + ", ".join(f"'{lang}'" for lang in sorted(_LANGS)) + ")")
_FILE_OK = ("typeof(f.path) = 'text' AND typeof(f.mtime_ns) = 'integer' AND typeof(f.ctime_ns) = 'integer'"
            " AND typeof(f.size) = 'integer' AND typeof(f.key) = 'text'")


def _valid_entry(row: tuple) -> _Entry | None:
    lang, ndefs, nrefs, nroutes, perr = row
    if (type(lang) is not str or lang not in _LANGS or type(ndefs) is not int or type(nrefs) is not int
            or type(nroutes) is not int or type(perr) is not int or ndefs < 0 or nrefs < 0 or nroutes < 0 or perr not in (0, 1)):
        return None
    return _Entry(lang, ndefs, nrefs, nroutes, perr, None)


class _Store:
    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    @classmethod
    def connect(cls, path: Path, create: bool = False) -> "_Store":
        """Open (creating with 0600 if asked) and check the database: StoreError when it is not a
        promptlint index of this schema, sqlite3.Error when it is unreadable."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            if not create:
                raise StoreError("no database") from None
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
            except FileExistsError:
                pass
            st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise StoreError("not a regular file")
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            raise StoreError("belongs to another user")
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, 0o600)
        with _fork_guard:
            if _forked_with_store_open:
                raise StoreUnavailable("this process was forked while its parent had the database open")
            conn = sqlite3.connect(str(path), timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            global _stores_open
            _stores_open += 1
        store = cls(conn, path)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            store._check_meta(create)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        global _stores_open
        with _fork_guard:
            self.conn.close()
            _stores_open -= 1

    def _check_meta(self, create: bool) -> None:
        conn = self.conn
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            if not create or tables:
                raise StoreError("not a promptlint index")
            conn.execute("BEGIN IMMEDIATE")
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if "meta" not in tables:  # another process may have just created it
                    for statement in _TABLES.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("format", str(CACHE_FORMAT)), ("schema", schema_version())])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        meta = dict(conn.execute("SELECT k, v FROM meta").fetchall())
        if meta.get("format") != str(CACHE_FORMAT) or meta.get("schema") != schema_version():
            raise StoreError("another format or schema")
        missing = {"entries", "blobs", "roots", "files", "derived"} - {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if missing:
            raise StoreError(f"missing tables {sorted(missing)}")

    def __enter__(self) -> "_Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def root_id(self, root: str, create: bool) -> int | None:
        """The root's row id; a write (and its lock) only for a new root or, at most daily, to mark
        it used, so a no-change refresh never waits for another process's write."""
        row = self.conn.execute("SELECT id, used FROM roots WHERE path = ?", (root,)).fetchone()
        now = time.time()
        if row is not None:
            if type(row[0]) is not int:
                raise StoreError("bad root row")
            if not isinstance(row[1], (int, float)) or row[1] < now - 86400:
                with _transaction(self.conn):
                    self.conn.execute("UPDATE roots SET used = ? WHERE id = ?", (now, row[0]))
            return row[0]
        if not create:
            return None
        with _transaction(self.conn):
            self.conn.execute("INSERT OR IGNORE INTO roots(path, used) VALUES (?, ?)", (root, now))
            row = self.conn.execute("SELECT id FROM roots WHERE path = ?", (root,)).fetchone()
        return int(row[0]) if row is not None and type(row[0]) is int else None

    def manifest(self, root_id: int) -> dict[str, tuple[int, int, int, str, _Entry | None]]:
        """path -> (mtime_ns, ctime_ns, size, key, entry or None), rows failing their checks left out."""
        out = {}
        make = _Entry
        for path, mtime_ns, ctime_ns, size, key, lang, ndefs, nrefs, nroutes, perr in self.conn.execute(
            "SELECT f.path, f.mtime_ns, f.ctime_ns, f.size, f.key, e.lang, e.ndefs, e.nrefs, e.nroutes, e.perr"
            f" FROM files f LEFT JOIN entries e ON e.key = f.key AND {_ENTRY_OK} WHERE f.root = ? AND {_FILE_OK}",
            (root_id,),
        ):
            out[path] = (mtime_ns, ctime_ns, size, key, make(lang, ndefs, nrefs, nroutes, perr, None) if lang is not None else None)
        return out

    def entries(self, keys: list[str]) -> dict[str, _Entry]:
        out = {}
        for i in range(0, len(keys), 500):
            batch = keys[i : i + 500]
            marks = ",".join("?" * len(batch))
            for row in self.conn.execute(f"SELECT key, lang, ndefs, nrefs, nroutes, perr FROM entries WHERE key IN ({marks})", batch):
                entry = _valid_entry(row[1:])
                if entry is not None and type(row[0]) is str:
                    out[row[0]] = entry
        return out

    def blobs(self, keys: list[str]) -> dict[str, bytes]:
        """The encoded entries of ``keys`` (those that look like one: a JSON array)."""
        out = {}
        for i in range(0, len(keys), 500):
            batch = keys[i : i + 500]
            marks = ",".join("?" * len(batch))
            for key, data in self.conn.execute(f"SELECT key, data FROM blobs WHERE key IN ({marks})", batch):
                if type(key) is str and type(data) is bytes and data.startswith(b"["):
                    out[key] = data
        return out

    def all_keys(self) -> set[str]:
        return {k for (k,) in self.conn.execute("SELECT key FROM entries") if type(k) is str}

    def put_entries(self, rows: list[tuple[str, _Entry]]) -> None:
        if not rows:
            return
        now = time.time()
        with _transaction(self.conn):
            self.conn.executemany(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(k, e.lang, e.ndefs, e.nrefs, e.nroutes, e.perr, now) for k, e in rows],
            )
            self.conn.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?)", [(k, e.data) for k, e in rows])

    def put_files(self, root_id: int, upsert: list[tuple[str, int, int, int, str]], delete: list[str]) -> None:
        if not upsert and not delete:
            return
        with _transaction(self.conn):
            self.conn.executemany("DELETE FROM files WHERE root = ? AND path = ?", [(root_id, p) for p in delete])
            self.conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", [(root_id, *row) for row in upsert])

    def prune(self) -> None:
        """Keep the database bounded: forget roots unused for a month, then the oldest entries no
        root refers to, beyond MAX_ENTRIES."""
        conn = self.conn
        with _transaction(conn):
            old = [r for (r,) in conn.execute("SELECT id FROM roots WHERE used < ?", (time.time() - ROOT_TTL_SECONDS,))]
            for rid in old:
                conn.execute("DELETE FROM files WHERE root = ?", (rid,))
                conn.execute("DELETE FROM derived WHERE root = ?", (rid,))
                conn.execute("DELETE FROM roots WHERE id = ?", (rid,))
            (count,) = conn.execute("SELECT COUNT(*) FROM entries").fetchone()
            if count > MAX_ENTRIES:
                conn.execute(
                    "DELETE FROM entries WHERE key IN (SELECT key FROM entries WHERE key NOT IN (SELECT key FROM files)"
                    " ORDER BY added LIMIT ?)",
                    (count - MAX_ENTRIES,),
                )
                conn.execute("DELETE FROM blobs WHERE key NOT IN (SELECT key FROM entries)")

    def save_derived(self, root: str, name: str, digest: str, data: bytes) -> bool:
        conn = self.conn
        with _transaction(conn):
            rid = self.root_id(root, create=True)
            if rid is None:
                return False
            conn.execute("INSERT OR REPLACE INTO derived VALUES (?, ?, ?, ?, ?)", (rid, name, digest, data, time.time()))
            conn.execute(
                "DELETE FROM derived WHERE root = ? AND name = ? AND digest NOT IN"
                " (SELECT digest FROM derived WHERE root = ? AND name = ? ORDER BY saved DESC LIMIT ?)",
                (rid, name, rid, name, _DERIVED_KEEP),
            )
        return True

    def load_derived(self, root: str, name: str, digest: str) -> bytes | None:
        rid = self.root_id(root, create=False)
        if rid is None:
            return None
        row = self.conn.execute("SELECT data FROM derived WHERE root = ? AND name = ? AND digest = ?", (rid, name, digest)).fetchone()
        return row[0] if row is not None and type(row[0]) is bytes else None


class _transaction:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.nested = conn.in_transaction

    def __enter__(self) -> None:
        if not self.nested:
            self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self.nested:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


# How long a writer waits for another process's lock before this run indexes in memory instead.
_BUSY_TIMEOUT = 10.0


def _is_busy(exc: BaseException) -> bool:
    """Another process held the database past the busy timeout: nothing is wrong with the file."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def _remove_stale_schemas(folder: Path, keep: Path) -> None:
    """Databases of other extractor schemas (older promptlint versions) untouched for a week."""
    cutoff = time.time() - 7 * 86400
    try:
        for other in folder.glob("*.sqlite3"):
            if other != keep and other.lstat().st_mtime < cutoff:
                _remove_database(other)
    except OSError:
        pass


def _open_store(stats: IndexStats) -> _Store | None:
    """The cache database, created or rebuilt as needed; None (with a note) when it cannot be used."""
    path = cache_file()
    stats.cache_path = str(path)
    why = "forked while the parent had it open" if _forked_with_store_open else None
    why = why or private_dir(path.parent, ours=not os.environ.get("PROMPTLINT_CACHE_DIR"))
    if why is not None:
        stats.notes.append(f"index cache not used ({why}); indexing in memory")
        stats.cache_path = ""
        return None
    try:
        existed = os.path.lexists(path)
        try:
            store = _Store.connect(path, create=True)
        except (StoreError, sqlite3.DatabaseError) as exc:
            if _is_busy(exc):
                stats.notes.append(f"index cache busy ({exc}); indexing in memory")
                stats.cache_path = ""
                return None
            if isinstance(exc, StoreError) and str(exc) == "belongs to another user":
                stats.notes.append(f"index cache not used ({path} belongs to another user); indexing in memory")
                stats.cache_path = ""
                return None
            _remove_database(path)
            stats.cache_rebuilt = existed
            store = _Store.connect(path, create=True)
        if not existed:
            _remove_stale_schemas(path.parent, path)
        return store
    except (OSError, sqlite3.Error, StoreError) as exc:
        stats.notes.append(f"index cache not used ({type(exc).__name__}: {exc}); indexing in memory")
        stats.cache_path = ""
        return None


# --- parsing ---------------------------------------------------------------------------------------

_worker_root: str | None = None
_worker_known: frozenset[str] = frozenset()
_worker_max_size = 1 << 62
_worker_shallow = False


def _init_worker(root: str, known: frozenset[str], max_size: int, shallow: bool = False) -> None:
    global _worker_root, _worker_known, _worker_max_size, _worker_shallow
    _worker_root, _worker_known, _worker_max_size, _worker_shallow = root, known, max_size, shallow


# (path, content key or None, entry or None, problem)
_Result = tuple[str, str | None, "_Entry | None", str]


class _KnownKeys:
    """``key in known``: in memory, else one indexed lookup in the store."""

    def __init__(self, store: _Store, in_memory: frozenset[str]):
        self.store, self.in_memory = store, in_memory

    def __contains__(self, key: object) -> bool:
        if key in self.in_memory:
            return True
        try:
            return self.store.conn.execute("SELECT 1 FROM entries WHERE key = ?", (key,)).fetchone() is not None
        except sqlite3.Error:
            return False


def _entry_key(path: str, blob: str) -> str:
    """The store's key of a file's entry: its content key, marked for a file read lexically only
    (the same content at a test path and elsewhere holds different entries)."""
    return "lexical:" + blob if is_lexical_path(path) else blob


def _parse_data(path: str, data: bytes, lang: str) -> tuple[_Entry | None, str]:
    try:
        syms = extract_file(path, data, lang)
    except Exception as exc:  # a grammar crash must not take the index down
        return None, f"parse failure ({type(exc).__name__})"
    if syms is None:
        return None, f"no grammar for {lang}"
    return _entry_of(syms), ""


def _entry_of(syms: FileSymbols) -> _Entry:
    return _Entry(syms.lang, len(syms.defs), sum(syms.refs.values()), len(syms.routes), int(syms.parse_error), symbols_codec().encode(syms))


def _parse_chunk(jobs: list[tuple[str, str]], root: str | None = None, known: frozenset[str] | None = None,
                 max_size: int | None = None, shallow: bool | None = None) -> list[_Result]:
    """Read (below the root, no symlinks, at most max_size bytes), key and parse each (path, lang).
    Runs in worker processes too. A file whose content key is already known is not parsed. With
    ``shallow``, a file that needs a parse gets its lexical stand-in instead (extract_shallow, keyed
    ``shallow:<content key>``), unless its parsed entry is known already."""
    root = root if root is not None else _worker_root
    known = known if known is not None else _worker_known
    max_size = max_size if max_size is not None else _worker_max_size
    shallow = shallow if shallow is not None else _worker_shallow
    assert root is not None
    out: list[_Result] = []
    with Beneath(root) as reader:
        for rel, lang in jobs:
            try:
                data = reader.read(rel, max_size)
            except (OSError, ValueError):
                out.append((rel, None, None, "unreadable"))
                continue
            if b"\0" in data[:8192]:
                out.append((rel, None, None, "binary"))
                continue
            key = _entry_key(rel, content_key(data))
            if key in known:
                out.append((rel, key, None, "known"))
                continue
            if shallow and is_deferrable(rel, lang):
                key = _SHALLOW + key
                if key in known:
                    out.append((rel, key, None, "known"))
                    continue
                entry, problem = _shallow_data(rel, data, lang)
            else:
                entry, problem = _parse_data(rel, data, lang)
            out.append((rel, key, entry, problem))
    return out


def _shallow_data(path: str, data: bytes, lang: str) -> tuple[_Entry | None, str]:
    try:
        return _entry_of(extract_shallow(path, data, lang)), ""
    except Exception as exc:  # as in _parse_data: one file never takes the index down
        return None, f"parse failure ({type(exc).__name__})"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _parse_all(root: str, jobs: list[tuple[str, str, int]], known: frozenset[str], workers: int | None, max_size: int,
               on_batch: Callable[[list[_Result]], None], shallow: bool = False) -> str | None:
    """Parse every (path, lang, size), biggest first, in worker processes when there are many;
    results arrive in batches so the cache can be written as they come. When the pool fails (a
    worker killed, fork refused, a result that cannot cross the pipe) the chunks not yet delivered
    are parsed here, serially, and a note saying so is returned: the index is never lost to it."""
    n_workers = workers or _cpus()
    pairs = [(rel, lang) for rel, lang, _ in sorted(jobs, key=lambda j: (-j[2], j[0]))]
    if len(pairs) < PARALLEL_THRESHOLD or n_workers <= 1:
        for i in range(0, len(pairs), 256):
            on_batch(_parse_chunk(pairs[i : i + 256], root, known, max_size, shallow))
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor  # 10-15 ms of imports a refresh never needs

    from .files import forget_tracked

    # The tracked entries kept for the next refresh are not worth their memory in every forked worker
    # of a build this big (the parse costs far more than listing again).
    forget_tracked(root)

    # fork is cheapest, but forking a process with other threads running (the LSP indexes in a
    # background thread) can deadlock the child on a lock held by another thread.
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "fork" and not shallow:  # grammars and compiled queries loaded once here, inherited by every worker
        from .languages import toolkit

        for lang in sorted({lang for _, lang in pairs}):
            toolkit(lang)
    # Interleaved chunks of similar total size (jobs are sorted by size), several per worker so a
    # slow chunk does not leave the other workers idle at the end.
    # Each chunk in path order, so consecutive files share their folder descriptors (Beneath).
    n_chunks = min(len(pairs), n_workers * 8)
    chunks = [sorted(pairs[i::n_chunks]) for i in range(n_chunks)]
    delivered = 0
    failure: BaseException | None = None
    pool = None
    try:
        try:
            pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=context, initializer=_init_worker, initargs=(root, known, max_size, shallow))
            batches = iter(pool.map(_parse_chunk, chunks))  # submits every chunk: forks here
        except Exception as exc:  # fork or pipe refused (EAGAIN under a process limit, no /dev/shm)
            failure, batches = exc, iter(())
        while failure is None:
            # Only the pool's own failures are caught, never on_batch's (the cache writes report theirs).
            try:
                results = next(batches)
            except StopIteration:
                break
            except Exception as exc:  # BrokenProcessPool, PicklingError, a worker's MemoryError
                failure = exc
                break
            on_batch(results)
            delivered += 1
    finally:
        if pool is not None:
            # Chunks not started are cancelled; a broken pool has already terminated its workers,
            # and a healthy one finishes at most its running chunks: no worker outlives the build.
            pool.shutdown(wait=True, cancel_futures=True)
    if failure is None:
        return None
    for chunk in chunks[delivered:]:
        on_batch(_parse_chunk(chunk, root, known, max_size, shallow))
    return f"parallel parse failed ({type(failure).__name__}); {len(chunks) - delivered} of {len(chunks)} batches parsed serially"


# --- build ------------------------------------------------------------------------------------------


def build_index(root: Path, max_size: int = 1_000_000, workers: int | None = None, use_cache: bool = True,
                previous: RepoIndex | None = None, defer_parse: bool = False) -> RepoIndex:
    """Index ``root``: list it, reuse every cached entry whose content key still matches, parse the
    rest (in worker processes when there are many). ``previous`` (an earlier index of the same root,
    as a long-running server holds) lends its already decoded symbols for unchanged content.

    ``defer_parse``: when at least DEFER_MIN_FILES files still need a tree-sitter parse (a cold
    build), they get a stand-in instead (extract.extract_shallow: words, line-pattern definitions
    and imports; no references, routes or docstrings; nothing yet for a test suite's file), which
    costs a sixth of the parse, and ``stats.deferred`` counts them. The stand-ins are cached under their own keys, so any later
    build without ``defer_parse`` parses exactly the deferred files (complete_in_background runs
    one) and its index is the one a full build gives, byte for byte; a later deferred build reuses
    the stand-ins or the parsed entries, whichever the cache holds."""
    started = time.perf_counter()
    started_ns = time.time_ns()
    root = root.resolve()
    root_str = str(root)
    stats = IndexStats()
    opened: dict[str, Any] = {"store": None, "root_id": None, "manifest": {}}

    def open_cache() -> None:  # runs while git lists untracked files
        if not use_cache:
            return
        store = _open_store(stats)
        if store is None:
            return
        try:
            opened["root_id"] = store.root_id(root_str, create=True)
            opened["manifest"] = store.manifest(opened["root_id"]) if opened["root_id"] is not None else {}
            opened["store"] = store
            return
        except (sqlite3.Error, StoreError) as exc:
            store.close()
            if _is_busy(exc):  # a long writer elsewhere is no reason to throw everyone's cache away
                stats.notes.append(f"index cache busy ({exc}); indexing in memory")
                stats.cache_path = ""
                return
            stats.notes.append(f"index cache unreadable ({type(exc).__name__}: {exc}); rebuilt")
        _remove_database(Path(stats.cache_path))
        stats.cache_rebuilt = True
        try:
            store = _Store.connect(Path(stats.cache_path), create=True)
            opened["root_id"] = store.root_id(root_str, create=True)
            opened["store"] = store
        except (OSError, sqlite3.Error, StoreError):
            pass

    listing: Listing = list_files(root, max_size, during=open_cache)
    store: _Store | None = opened["store"]
    root_id: int | None = opened["root_id"]
    manifest: dict[str, tuple[int, int, int, str, _Entry | None]] = opened["manifest"]
    stats.files, stats.skipped, stats.git, stats.truncated = len(listing.files), Counter(listing.skipped), listing.git, listing.truncated
    if listing.truncated:
        stats.warnings.append(
            f"stopped listing {root} at {len(listing.files)} files (the cap): the rest is not indexed, though references to it "
            "are still checked on disk; is it really one project? Pass --repo with the project folder."
        )

    keys: dict[str, str] = {}  # path -> content key, for every parsed file
    entries: dict[str, _Entry] = {}
    want_key: dict[str, str] = {}  # path -> key we know but whose entry we must fetch
    to_read: list[tuple[str, str, int]] = []
    files_rows: dict[str, tuple[int, int, int, str]] = {}  # path -> (mtime, ctime, size, key) to record
    by_path = {}
    stand_ins: dict[str, tuple[str, _Entry]] = {}  # path -> (its stand-in's key and entry) from a deferred build
    for f in listing.files:
        if f.lang is None:
            continue
        by_path[f.path] = f
        stats.parsed_files += 1
        row = manifest.get(f.path)
        key = _entry_key(f.path, f.blob) if f.blob is not None else None
        if key is None and row is not None and row[0] == f.mtime_ns and row[1] == f.ctime_ns and row[2] == f.size:
            key = row[3]
        if key is not None and key.startswith(_SHALLOW):  # recorded by a deferred build: the parse is owed
            key = key[len(_SHALLOW) :]
        if key is None:
            to_read.append((f.path, f.lang, f.size))
            continue
        if row is not None and row[3] == key and row[4] is not None:
            entries[key] = row[4]
            keys[f.path] = key
        else:
            if row is not None and row[4] is not None and row[3] == _SHALLOW + key:
                stand_ins[f.path] = (row[3], row[4])
            want_key[f.path] = key
    if want_key and store is not None:
        try:
            entries.update(store.entries(sorted(set(want_key.values()) - set(entries))))
        except sqlite3.Error:
            pass
    # Deferred only when a parse of many files is due (what a cold build faces); a few are parsed.
    # And only into a cache: the completion leaves the parse there, so without one (not ours, busy,
    # read-only) nothing would ever complete the index and every check would answer from stand-ins.
    owed = (sum(1 for p, key in want_key.items() if key not in entries and needs_parse(p, by_path[p].lang))
            + sum(1 for p, lang, _ in to_read if needs_parse(p, lang)))
    defer = defer_parse and store is not None and owed >= DEFER_MIN_FILES
    if defer:
        for path, (key, entry) in stand_ins.items():
            if want_key[path] not in entries:  # not parsed since (by another checkout's build)
                del want_key[path]
                entries[key] = entry
                keys[path] = key
    twins: dict[str, list[str]] = {}  # blob -> other paths with that content: parsed once
    new_stand_ins: list[tuple[str, _Entry]] = []
    empty: dict[str, _Entry] = {}  # language -> a test suite's stand-in
    for path, key in want_key.items():
        if key in entries:
            keys[path] = key
        elif defer and is_lexical_path(path):
            # A test suite's stand-in holds nothing but its language, and git gave its key: no read.
            lang = by_path[path].lang
            entry = empty.get(lang)  # type: ignore[arg-type]
            if entry is None:
                entry = empty[lang] = _entry_of(extract_shallow(path, b"", lang))  # type: ignore[arg-type]
            entries[_SHALLOW + key] = entry
            keys[path] = _SHALLOW + key
            new_stand_ins.append((_SHALLOW + key, entry))
        elif key in twins:
            twins[key].append(path)
        else:
            twins[key] = []
            f = by_path[path]
            to_read.append((path, f.lang, f.size))  # type: ignore[arg-type]

    # Keys already in the store (a file reverted to content seen before is not parsed again). For
    # a few files, asked one by one; for a pool's worth, the whole set is handed to the workers.
    known: Any = frozenset(entries)
    if to_read and store is not None:
        try:
            known = frozenset(store.all_keys()) | known if len(to_read) >= PARALLEL_THRESHOLD else _KnownKeys(store, known)
        except sqlite3.Error:
            pass
    pending_store: list[tuple[str, _Entry]] = new_stand_ins
    stats.parsed_now += len(new_stand_ins)
    fetch_known: dict[str, str] = {}

    def take(batch: list[_Result]) -> None:
        for rel, key, entry, problem in batch:
            if key is None:
                stats.skipped[problem] += 1
                continue
            if problem == "known":
                fetch_known[rel] = key
                continue
            if entry is None:
                stats.skipped[problem] += 1
                continue
            stats.parsed_now += 1
            if problem:
                stats.skipped[problem] += 1
            entries[key] = entry
            keys[rel] = key
            pending_store.append((key, entry))
        if store is not None and len(pending_store) >= 200:
            _flush(store, pending_store, stats)

    if to_read:
        note = _parse_all(root_str, to_read, known, workers, max_size, take, shallow=defer)
        if note:
            stats.notes.append(note)
    unmatched = []
    for key, paths in twins.items():
        for path in paths:
            if key in entries:
                keys[path] = key
            else:  # the first copy changed meanwhile, or failed: read this one itself
                unmatched.append((path, by_path[path].lang, by_path[path].size))
    if unmatched:
        _parse_all(root_str, unmatched, known, 1, max_size, take, shallow=defer)  # type: ignore[arg-type]
    if fetch_known:
        found: dict[str, _Entry] = {}
        if store is not None:
            try:
                found = store.entries(sorted(set(fetch_known.values()) - set(entries)))
            except sqlite3.Error:
                found = {}
        entries.update(found)
        missing = [(rel, by_path[rel].lang, by_path[rel].size) for rel, key in fetch_known.items() if key not in entries]
        for rel, key in fetch_known.items():
            if key in entries:
                keys[rel] = key
        if missing:  # pruned by another process meanwhile: parse after all
            _parse_all(root_str, missing, frozenset(), 1, max_size, take, shallow=defer)  # type: ignore[arg-type]
    stats.from_cache = len(keys) - stats.parsed_now

    # Record what each file hashed to; a file modified a moment ago is re-checked next time.
    for path, key in keys.items():
        f = by_path[path]
        racy = f.mtime_ns >= started_ns - _RACY_NS
        files_rows[path] = (-1 if racy else f.mtime_ns, f.ctime_ns, f.size, key)
    if store is not None and root_id is not None:
        try:
            _flush(store, pending_store, stats)
            upsert = []
            for p, row in files_rows.items():
                was = manifest.get(p)
                if was is None or was[0] != row[0] or was[1] != row[1] or was[2] != row[2] or was[3] != row[3]:
                    upsert.append((p, *row))
            delete = [p for p in manifest if p not in files_rows]
            store.put_files(root_id, upsert, delete)
            if stats.parsed_now:
                store.prune()
        except sqlite3.Error as exc:
            stats.notes.append(f"index cache not saved ({type(exc).__name__}: {exc})")

    ordered = {p: keys[p] for p in sorted(keys)}
    for path, key in ordered.items():
        if key.startswith(_SHALLOW):
            stats.deferred += 1
        e = entries[key]
        stats.languages[e.lang] += 1
        stats.definitions += e.ndefs
        stats.references += e.nrefs
        stats.routes += e.nroutes
        stats.parse_errors += e.perr
    store_path = Path(stats.cache_path) if store is not None else None
    if store is not None:
        store.close()
        try:
            stats.cache_bytes = sum(os.stat(f"{stats.cache_path}{s}").st_size for s in ("", "-wal") if os.path.exists(f"{stats.cache_path}{s}"))
        except OSError:
            pass
    blobs = {key: e.data for key, e in entries.items() if e.data is not None}
    fetch = _fetcher(store_path) if store_path is not None and len(blobs) < len(set(ordered.values())) else None
    decoded: dict[str, FileSymbols] = {}
    if previous is not None and previous.root == root and isinstance(previous.symbols, SymbolTable):
        live = set(ordered.values())
        decoded = {k: v for k, v in list(previous.symbols._decoded.items()) if k in live}
        for k in decoded:
            blobs.pop(k, None)
    if fetch is not None and all(k in blobs or k in decoded for k in set(ordered.values())):
        fetch = None
    symbols = SymbolTable(ordered, blobs, decoded, _repairer(root_str, store_path, max_size, stats), fetch)
    probe = listing.exists_probe()
    files: dict[str, RepoFile] = {f.path: f for f in listing.files}
    if probe is not None:  # only then: a dict subclass's `in` is slower, and hot loops use it
        files = RepoFiles(files, probe=probe)
    stats.seconds = time.perf_counter() - started
    return RepoIndex(root=root, files=files, symbols=symbols, stats=stats, store_path=store_path)


def complete_in_background(index: RepoIndex, max_size: int) -> bool:
    """Start a detached process that parses what ``index`` deferred (a full build_index of its root
    with the same cache), so that the next run finds the complete index. Nothing is inherited: no
    descriptor (a hook's output pipe would stay open), its own session (a terminal's Ctrl-C does not
    reach it). At most one such process per root runs at a time (a lock in the cache folder).
    True when one was started."""
    if not index.stats.deferred or index.store_path is None or os.environ.get("PROMPTLINT_DEFER_PARSE") == "0":
        return False
    import subprocess
    import sys

    import fcntl

    # The child imports promptlint from where this process did: a source checkout run as `python -m
    # promptlint` has it only through its current folder, which the child (in the cache folder, so
    # that nothing of the repository's shadows an import) does not share; it would fail silently
    # and every check would start another. The folder takes the place of the current one.
    code = ("import sys; home = sys.argv[4]; sys.path[0] = home if home not in sys.path else sys.path[0]; "
            "from promptlint.repo.index import _complete; _complete(sys.argv[1], int(sys.argv[2]), sys.argv[3])")
    home = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # as on sys.path
    lock = _completion_lock(index.store_path, index.root)
    try:  # one is under way already when its lock is held (the child takes it again: two may race)
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    except OSError:
        return False
    try:
        proc = subprocess.Popen([sys.executable, "-c", code, str(index.root), str(max_size), str(lock), home], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True,
                                cwd=str(index.store_path.parent))  # `-c` puts the current folder first on sys.path: ours
    except OSError:
        return False
    # Reaped when it ends (a long-lived server would keep a zombie); a daemon thread never delays exit.
    threading.Thread(target=proc.wait, name="promptlint-complete-index", daemon=True).start()
    return True


def _completion_lock(store_path: Path, root: Path) -> Path:
    return store_path.with_name(f"complete-{hashlib.sha1(str(root).encode()).hexdigest()[:16]}.lock")


# What a completion leaves in its lock file: "running" while it builds, "done" once its build returned.
_RUNNING, _DONE = b"running\n", b"done\n"


def completion_died(root: Path) -> bool:
    """Whether the last detached completion of ``root`` ended before its build did (killed, out of
    memory, crashed on a file) and none runs now. The next check then parses at once, as without
    deferral, instead of answering from stand-ins and starting another that may end the same way."""
    import fcntl

    try:
        fd = os.open(_completion_lock(cache_file(), root.resolve()), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False  # none ever ran (or no cache): nothing died
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return False  # one runs now
        return os.pread(fd, 64, 0) == _RUNNING
    finally:
        os.close(fd)


def _complete(root: str, max_size: int, lock_path: str) -> None:
    """The detached completion (see complete_in_background): one per root, the others leave."""
    import fcntl

    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return  # another completion of this root is under way
    try:
        os.nice(10)  # it starts while the check that deferred it still answers: that one comes first
    except OSError:
        pass
    try:
        _mark(fd, _RUNNING)
        build_index(Path(root), max_size=max_size)
        _mark(fd, _DONE)
    finally:
        os.close(fd)


def _mark(fd: int, state: bytes) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, state, 0)


def _flush(store: _Store, pending: list[tuple[str, _Entry]], stats: IndexStats) -> None:
    if not pending:
        return
    try:
        store.put_entries(pending)
    except sqlite3.Error as exc:
        if not any(n.startswith("index cache not saved") for n in stats.notes):
            stats.notes.append(f"index cache not saved ({type(exc).__name__}: {exc})")
    pending.clear()


def _fetcher(store_path: Path) -> Callable[[list[str]], dict[str, bytes]]:
    def fetch(keys: list[str]) -> dict[str, bytes]:
        with _Store.connect(store_path) as store:
            return store.blobs(keys)

    return fetch


def _repairer(root: str, store_path: Path | None, max_size: int, stats: IndexStats) -> Callable[[str, str], FileSymbols | None]:
    """For a garbled entry found on decoding: re-parse the file, replace the cache row."""

    def repair(path: str, key: str) -> FileSymbols | None:
        stats.dropped_entries += 1
        try:
            data = _read_one(root, path, max_size)
        except (OSError, ValueError, UnsafeRead):
            return None
        from .languages import language_of

        lang = language_of(path)
        if lang is None:
            return None
        stand_in = key.startswith(_SHALLOW)  # a deferred file's entry is repaired as what it was
        try:
            syms = extract_shallow(path, data, lang) if stand_in else extract_file(path, data, lang)
        except Exception:
            return None
        if syms is None:
            return None
        if store_path is not None and (_SHALLOW if stand_in else "") + _entry_key(path, content_key(data)) == key:
            try:
                with _Store.connect(store_path) as store:
                    store.put_entries([(key, _entry_of(syms))])
            except (OSError, sqlite3.Error, StoreError):
                pass
        return syms

    return repair


def _read_one(root: str, rel: str, limit: int) -> bytes:
    with Beneath(root) as reader:
        return reader.read(rel, limit)
