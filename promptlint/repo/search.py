"""Search structures over a RepoIndex, built once per index content and reused for every prompt.

Everything a ranking reads is here as flat numpy arrays (one row per file, postings as CSR
slices), so scoring a prompt is a handful of vector additions over the words it uses:

- lexical fields: ``content`` (BM25 over each file's vocabulary: identifiers split into words,
  comments and strings), ``path`` (file name and folder words), ``symbol`` (definition names split
  into words) and ``message`` (word trigrams of message-like string literals, for pasted errors;
  built on the first prompt that pastes an error, see :meth:`RepoSearch.message_field`);
- definitions by name (exact and lower case), references by name, routes, the import graph;
- per-file classes: test, secondary (docs, examples, migrations), and junk that must never be
  offered as "most likely" (editor/engine metadata, lock files, tool configs, vendored, generated
  and minified files), with the reason;
- a trigram prefilter for did-you-mean lookups.

The structures persist beside the index, keyed by the index's content (see :func:`load_or_build`),
in a format that holds arrays and strings only (``numpy.load(allow_pickle=False)``): a cache file
cannot run code.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import math
import os
import posixpath
import re
import threading
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from .index import RepoIndex
from .words import split_identifier, stem

_MIN_STEMMED = 4  # words this short are never stemmed (words.stem keeps four letters)

SEARCH_VERSION = 5
# BM25 parameters for file content (the usual defaults; files are long and of mixed length).
BM25_K1 = 1.2
BM25_B = 0.75
# How much a word counts in each part of a path or a definition name (the best part wins).
PATH_STEM_WEIGHT = 1.0
PATH_DIR_WEIGHT = 0.6
SYMBOL_TYPE_WEIGHT = 1.0
SYMBOL_MEMBER_WEIGHT = 0.5
_TYPE_KINDS = {"class", "struct", "interface", "trait", "enum", "type", "module", "function", "macro"}
_KIND_CODES = ["class", "struct", "interface", "trait", "enum", "type", "module", "function", "macro", "method", "constant", "field", "other"]
_TEST_PATH = re.compile(r"(^|/)(tests?|__tests__|specs?|testing)/|(^|/)test_[^/]*$|_test\.\w+$|\.(test|spec)\.\w+$|(^|/)conftest\.py$")
# Docs, examples and generated migrations ("app/migrations/0003_auto.py", not a migrations package).
_SECONDARY_PATH = re.compile(r"(^|/)(docs?|examples?|samples?|fixtures?|benchmarks?|scripts)/|(^|/)migrations?/\d[^/]*$")

# Files nobody edits by hand or asks an agent to: engine and editor metadata, lock files, maps.
_METADATA_SUFFIXES = (
    ".uid", ".meta", ".import", ".lock", ".lockb", ".map", ".snap", ".pbxproj", ".xcscheme", ".iml",
    ".suo", ".user", ".DS_Store", ".min.js", ".min.css", ".bundle.js", ".chunk.js", ".pyc", ".sum",
)
_LOCKFILES = {
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "pipfile.lock", "cargo.lock",
    "composer.lock", "gemfile.lock", "go.sum", "uv.lock", "pdm.lock", "flake.lock", "packages.lock.json", "deno.lock",
}
# Tool configuration: real files, but a prompt about the code is not about them. They rank only when
# the prompt names every word of their name ("the nest-cli config"), or names them outright.
_TOOL_CONFIG = re.compile(
    r"^(?:nest-cli\.json|tsconfig(?:\.[\w-]+)*\.json|jsconfig\.json|\.?eslintrc(?:\.\w+)?|eslint\.config\.\w+|\.prettierrc(?:\.\w+)?|"
    r"prettier\.config\.\w+|\.prettierignore|commitlint\.config\.\w+|\.commitlintrc(?:\.\w+)?|lint-staged\.config\.\w+|\.lintstagedrc(?:\.\w+)?|"
    r"babel\.config\.\w+|\.babelrc|jest\.config\.\w+|vitest\.config\.\w+|karma\.conf\.js|postcss\.config\.\w+|\.postcssrc(?:\.\w+)?|"
    r"\.editorconfig|\.gitignore|\.gitattributes|\.gitmodules|\.dockerignore|\.npmrc|\.nvmrc|\.node-version|\.python-version|"
    r"\.tool-versions|renovate\.json5?|\.renovaterc(?:\.json)?|dependabot\.ya?ml|\.pre-commit-config\.yaml|\.pre-commit-hooks\.yaml|"
    r"\.stylelintrc(?:\.\w+)?|stylelint\.config\.\w+|\.browserslistrc|\.swcrc|turbo\.json|nx\.json|lerna\.json|angular\.json|"
    r"components\.json|\.coveragerc|codecov\.ya?ml|\.codecov\.ya?ml|\.readthedocs\.ya?ml|\.flake8|\.pylintrc|pylintrc|mypy\.ini|"
    r"\.mypy\.ini|tox\.ini|pytest\.ini|\.isort\.cfg|\.yamllint(?:\.ya?ml)?|\.markdownlint(?:\.\w+)?|\.vscode/[^/]+|\.idea/[^/]+|"
    r"project\.godot|export_presets\.cfg|\.csproj|[^/]+\.csproj|[^/]+\.sln|netlify\.toml|vercel\.json|firebase\.json|\.firebaserc)$",
    re.I,
)
_VENDORED_DIR = re.compile(r"(^|/)(vendor|vendors|vendored|_vendor|third[_-]party|3rdparty|extern|bower_components|jspm_packages|node_modules|\.yarn|wwwroot/lib|static/lib|assets/vendor|public/vendor|lib/vendor)/", re.I)


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


def is_secondary_path(path: str) -> bool:
    return bool(_SECONDARY_PATH.search(path))


# Coding agents' own records of their chats (SpecStory's .specstory/history, aider's chat and input
# histories): a log of what was said, which matches every prompt's words and is never what a prompt
# asks to change.
_AGENT_LOG = re.compile(r"(^|/)\.specstory/|(^|/)\.aider\.(chat\.history\.md|input\.history|tags\.cache[^/]*)(/|$)", re.I)
# Folders that belong to a coding agent's harness, not to the project: its hooks, skills, subagents,
# slash commands and status lines (.claude/, .cursor/, .gemini/, ...), the scripts a browser tool
# writes for the agent (.playwright-cli/, .playwright-mcp/), and agent-workflow drivers (adws/, "AI
# developer workflows"). They share every prompt's words (they are written to handle prompts) and a
# prompt about the code never asks to change them; they rank only when the prompt is about them
# (rank.Ranker: it says the folder's name, or the kind below it together with an agent).
AGENT_HARNESS_DIRS = (
    ".claude", ".cursor", ".windsurf", ".roo", ".kiro", ".gemini", ".codex", ".opencode", ".continue", ".cline",
    ".clinerules", ".kilocode", ".augment", ".amazonq", ".junie", ".goose", ".trae", ".qwen", ".crush", ".agent",
    ".agents", ".serena", ".taskmaster", ".claude-flow", ".hive-mind", ".swarm", ".playwright-cli", ".playwright-mcp",
    "adws", ".adw", ".github/prompts", ".github/chatmodes", ".github/agents", ".github/instructions",
)
_AGENT_HARNESS = re.compile(r"(?:^|/)(" + "|".join(re.escape(d) for d in AGENT_HARNESS_DIRS) + r")/(?:([^/]+)/)?", re.I)


def agent_tooling(path: str) -> tuple[str, str] | None:
    """(harness folder, the kind of tooling below it or "") when the file belongs to an agent's
    harness: `.claude/hooks/pre_tool_use.py` -> (".claude", "hooks"), `adws/adw_plan.py` -> ("adws", "")."""
    m = _AGENT_HARNESS.search(path)
    if m is None:
        return None
    return m.group(1), m.group(2) or ""


# What a compiler writes beside its source: `ui.js` next to `ui.ts` (tsc without an outDir).
_COMPILED_JS = (".js", ".mjs", ".cjs")
_COMPILED_FROM = (".ts", ".tsx", ".mts", ".cts")


def junk_reason(path: str) -> str:
    """Why a file must never be offered as the one a prompt is about ("" when it may be)."""
    base = posixpath.basename(path)
    low = base.lower()
    if low in _LOCKFILES or low.endswith(_METADATA_SUFFIXES):
        return "metadata"
    if _AGENT_LOG.search(path):
        return "agent chat log"
    if _AGENT_HARNESS.search(path):
        return "agent tooling"
    if _VENDORED_DIR.search(path):
        return "vendored"
    if _TOOL_CONFIG.match(low) or _TOOL_CONFIG.match("/".join(path.split("/")[-2:])):
        return "tool config"
    return ""


def normalize_route(route: str) -> tuple[str, ...]:
    """`/users/:id/` and `/users/{id}` and `/users/<int:id>` -> ("users", "{}")."""
    parts = []
    for seg in route.strip().strip("^$").split("/"):
        if not seg:
            continue
        if seg.startswith((":", "{", "<", "(")) or seg == "*":
            parts.append("{}")
        else:
            parts.append(seg.lower())
    return tuple(parts)


def message_trigrams(text: str) -> list[int]:
    """Stable ids of the word trigrams of a message (crc32: the same in every process)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [zlib.crc32(" ".join(words[i : i + 3]).encode()) for i in range(len(words) - 2)]


def name_trigrams(name: str) -> set[str]:
    padded = f"  {name.lower()} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Bulk building allocates many small containers; with a large index in memory every
    collection walks all of it. Pause the collector meanwhile (and restore its state)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _LowerNames:
    """lower-case name -> the definition names that lower to it (strings only, cheap to build)."""

    def __init__(self, names: list[str]):
        with no_gc():
            first: dict[str, str] = {}
            more: dict[str, list[str]] = {}
            for n in names:
                low = n.lower()
                if low in first:
                    more.setdefault(low, [first[low]]).append(n)
                else:
                    first[low] = n
        self._first, self._more = first, more

    def get(self, lower: str, default=()):  # type: ignore[no-untyped-def]
        if lower in self._more:
            return list(self._more[lower])
        name = self._first.get(lower)
        return [name] if name is not None else default


class Field:
    """One searchable field: a word's postings are ``docs[a:b]`` with weights ``vals[a:b]``.

    The word -> slice table is built on first use, so a field a prompt never needs (the message
    trigrams, the did-you-mean grams) costs nothing to load."""

    __slots__ = ("_keys", "_starts", "_ends", "_vocab", "_stems", "docs", "vals", "n_docs")

    def __init__(self, keys, starts, ends, docs: np.ndarray, vals: np.ndarray, n_docs: int):  # type: ignore[no-untyped-def]
        self._keys = keys  # a list, or a loader returning one
        self._starts = starts
        self._ends = ends
        self._vocab: dict | None = None
        self._stems: dict[str, tuple[str, ...]] | None = None
        self.docs = docs
        self.vals = vals
        self.n_docs = max(1, n_docs)

    @classmethod
    def from_rows(cls, rows: dict, n_docs: int) -> "Field":
        """rows: word -> {doc: weight}, doc ids in any order."""
        keys = sorted(rows)
        docs: list[int] = []
        vals: list[float] = []
        starts, ends = [], []
        for word in keys:
            posting = rows[word]
            starts.append(len(docs))
            for doc in sorted(posting):
                docs.append(doc)
                vals.append(posting[doc])
            ends.append(len(docs))
        return cls(keys, starts, ends, np.asarray(docs, dtype=np.int32), np.asarray(vals, dtype=np.float32), n_docs)

    @property
    def vocab(self) -> dict:
        """word -> its row (ints only: nothing here for the garbage collector to walk)."""
        if self._vocab is None:
            with no_gc():
                keys = self._keys() if callable(self._keys) else self._keys
                self._starts = self._starts.tolist() if isinstance(self._starts, np.ndarray) else self._starts
                self._ends = self._ends.tolist() if isinstance(self._ends, np.ndarray) else self._ends
                self._vocab = dict(zip(keys, range(len(keys))))
                self._keys = keys
        return self._vocab

    def variants(self, word: str) -> tuple[str, ...]:
        """The field's other words with ``word``'s stem ("migration", "migrator" for "migrating")."""
        if self._stems is None:
            with no_gc():
                groups: dict[str, list[str]] = {}
                for key in self.keys():
                    if isinstance(key, str) and len(key) > _MIN_STEMMED:
                        groups.setdefault(stem(key), []).append(key)
                self._stems = {k: tuple(v) for k, v in groups.items() if len(v) > 1 or v[0] != k}
        if len(word) <= _MIN_STEMMED:
            return ()
        return tuple(v for v in self._stems.get(stem(word), ()) if v != word)

    def span(self, word) -> tuple[int, int] | None:  # type: ignore[no-untyped-def]
        k = self.vocab.get(word)
        return None if k is None else (self._starts[k], self._ends[k])

    def keys(self) -> list:
        self.vocab
        return self._keys  # type: ignore[no-any-return]

    def df(self, word) -> int:  # type: ignore[no-untyped-def]
        k = self.vocab.get(word)
        return 0 if k is None else self._ends[k] - self._starts[k]

    def idf(self, word) -> float:  # type: ignore[no-untyped-def]
        df = self.df(word)
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5)) if df else 0.0

    def postings(self, word) -> tuple[np.ndarray, np.ndarray] | None:  # type: ignore[no-untyped-def]
        k = self.vocab.get(word)
        if k is None:
            return None
        a, b = self._starts[k], self._ends[k]
        return self.docs[a:b], self.vals[a:b]

    def score(self, query: dict, size: int) -> np.ndarray:
        """Sum over query words of weight x idf x the word's posting weight, for every file."""
        out = np.zeros(size, dtype=np.float32)
        vocab = self.vocab
        n = self.n_docs
        for word in sorted(query):
            k = vocab.get(word)
            if k is None:
                continue
            a, b = self._starts[k], self._ends[k]
            idf = math.log(1.0 + (n - (b - a) + 0.5) / ((b - a) + 0.5))
            out[self.docs[a:b]] += np.float32(query[word] * idf) * self.vals[a:b]
        return out

    # --- persistence -------------------------------------------------------------------------------
    def pack(self, name: str, out: dict) -> None:
        keys = self.keys()
        if keys and isinstance(keys[0], str):
            out[f"{name}.keys"] = _pack_strings(keys)
        else:
            out[f"{name}.ikeys"] = np.asarray(keys, dtype=np.int64)
        out[f"{name}.starts"] = np.asarray(self._starts, dtype=np.int64)
        out[f"{name}.ends"] = np.asarray(self._ends, dtype=np.int64)
        out[f"{name}.docs"], out[f"{name}.vals"] = self.docs, self.vals
        out[f"{name}.n"] = np.asarray([self.n_docs], dtype=np.int64)

    @classmethod
    def unpack(cls, name: str, data) -> "Field":  # type: ignore[no-untyped-def]
        if f"{name}.keys" in data:
            blob = data[f"{name}.keys"]
            keys = lambda: _unpack_strings(blob)  # noqa: E731
        else:
            ikeys = data[f"{name}.ikeys"]
            keys = lambda: ikeys.tolist()  # noqa: E731
        return cls(keys, data[f"{name}.starts"], data[f"{name}.ends"], data[f"{name}.docs"], data[f"{name}.vals"], int(data[f"{name}.n"][0]))


def _pack_strings(items: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(items).encode("utf-8", "surrogateescape"), dtype=np.uint8)


def _unpack_strings(blob: np.ndarray) -> list[str]:
    if blob.size == 0:
        return []
    return blob.tobytes().decode("utf-8", "surrogateescape").split("\n")


class Csr:
    """Rows of int ids (a file's imports, the files that reference a name), as offsets + values."""

    __slots__ = ("offsets", "values")

    def __init__(self, offsets: np.ndarray, values: np.ndarray):
        self.offsets = offsets
        self.values = values

    @classmethod
    def from_lists(cls, rows: list[list[int]]) -> "Csr":
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(r) for r in rows]) if rows else []
        values = np.asarray([v for r in rows for v in r], dtype=np.int32)
        return cls(offsets, values)

    def row(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1


class RefsByName:
    """name -> paths of the files that reference it (a read-only mapping; values are tuples)."""

    def __init__(self, names: list[str], csr: Csr, paths: list[str]):
        self._index = {n: i for i, n in enumerate(names)}
        self._names = names
        self._csr = csr
        self._paths = paths

    def ids(self, name: str) -> np.ndarray:
        i = self._index.get(name)
        return self._csr.row(i) if i is not None else np.zeros(0, dtype=np.int32)

    def get(self, name: str, default=()):  # type: ignore[no-untyped-def]
        i = self._index.get(name)
        if i is None:
            return default
        return tuple(self._paths[j] for j in self._csr.row(i))

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)


class DefsByName:
    """name -> [(path, kind, line)] of its definitions (a read-only mapping, decoded on lookup)."""

    def __init__(self, names: list[str], offsets: list[int], path_ids: list[int], kinds: list[int], lines: list[int], paths: list[str]):
        self._names = names
        self._index = {n: i for i, n in enumerate(names)}
        self._offsets, self._path_ids, self._kinds, self._lines, self._paths = offsets, path_ids, kinds, lines, paths

    @classmethod
    def from_dict(cls, defs: dict[str, list[tuple[str, str, int]]], path_id: dict[str, int], paths: list[str]) -> "DefsByName":
        names = sorted(defs)
        offsets = [0]
        pids, kinds, lines = [], [], []
        for n in names:
            for path, kind, line in defs[n]:
                pids.append(path_id[path])
                kinds.append(_KIND_CODES.index(kind) if kind in _KIND_CODES else len(_KIND_CODES) - 1)
                lines.append(line)
            offsets.append(len(pids))
        return cls(names, offsets, pids, kinds, lines, paths)

    def get(self, name: str, default=None):  # type: ignore[no-untyped-def]
        i = self._index.get(name)
        if i is None:
            return default
        return [(self._paths[self._path_ids[j]], _KIND_CODES[self._kinds[j]], self._lines[j]) for j in range(self._offsets[i], self._offsets[i + 1])]

    def count(self, name: str) -> int:
        i = self._index.get(name)
        return 0 if i is None else self._offsets[i + 1] - self._offsets[i]

    def path_ids(self, name: str) -> list[int]:
        i = self._index.get(name)
        return [] if i is None else self._path_ids[self._offsets[i] : self._offsets[i + 1]]

    def __getitem__(self, name: str) -> list[tuple[str, str, int]]:
        got = self.get(name)
        if got is None:
            raise KeyError(name)
        return got  # type: ignore[no-any-return]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def pack(self, out: dict) -> None:
        out["def.names"] = _pack_strings(self._names)
        out["def.offsets"] = np.asarray(self._offsets, dtype=np.int64)
        out["def.path"] = np.asarray(self._path_ids, dtype=np.int32)
        out["def.kind"] = np.asarray(self._kinds, dtype=np.int8)
        out["def.line"] = np.asarray(self._lines, dtype=np.int32)

    @classmethod
    def unpack(cls, data, paths: list[str]) -> "DefsByName":  # type: ignore[no-untyped-def]
        return cls(_unpack_strings(data["def.names"]), data["def.offsets"].tolist(), data["def.path"].tolist(), data["def.kind"].tolist(), data["def.line"].tolist(), paths)


@dataclass
class RepoSearch:
    index: RepoIndex
    paths: list[str] = field(default_factory=list)  # every file of the index, sorted; a file's id is its position
    path_id: dict[str, int] = field(default_factory=dict)
    is_test: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    is_secondary: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    junk: list[str] = field(default_factory=list)  # per file: "" or why it is never "most likely"
    content: Field | None = None
    path_field: Field | None = None
    symbol: Field | None = None
    message: Field | None = None  # built by message_field() on first need, never by build_fresh
    defs_by_name: DefsByName | None = None  # name -> [(path, kind, line)]
    refs_by_name: RefsByName | None = None
    routes: list[tuple[str, str, tuple[str, ...], str, int]] = field(default_factory=list)  # (path, method, segments, raw, line)
    imports: Csr | None = None  # file id -> ids of the repository files it imports
    imported_by: Csr | None = None
    in_degree_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    _names: list[str] = field(default_factory=list)  # definition names, for did-you-mean
    _name_grams: Field | None = None  # name trigram -> name ids

    # --- building ----------------------------------------------------------------------------------
    @classmethod
    def build(cls, index: RepoIndex, cache: bool = True) -> "RepoSearch":
        """The search structures of ``index``: loaded from the cache when the index's content is the
        one they were built for, else built and cached. ``cache=False`` always builds."""
        if cache:
            return load_or_build(index)
        with no_gc():
            return cls.build_fresh(index)

    @classmethod
    def build_fresh(cls, index: RepoIndex) -> "RepoSearch":
        s = cls(index=index)
        s.paths = sorted(index.files)
        s.path_id = {p: i for i, p in enumerate(s.paths)}
        n = len(s.paths)
        s.is_test = np.fromiter((is_test_path(p) for p in s.paths), dtype=bool, count=n)
        s.is_secondary = np.fromiter((is_secondary_path(p) for p in s.paths), dtype=bool, count=n)
        junk = [junk_reason(p) for p in s.paths]
        for i, p in enumerate(s.paths):
            if not junk[i] and p.endswith(_COMPILED_JS):
                stem = p.rsplit(".", 1)[0]
                source = next((stem + ext for ext in _COMPILED_FROM if stem + ext in s.path_id), None)
                if source is not None:
                    junk[i] = f"compiled from {posixpath.basename(source)}"
        path_rows: dict[str, dict[int, float]] = defaultdict(dict)
        for i, path in enumerate(s.paths):
            base = posixpath.basename(path)
            stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
            for w in split_identifier(posixpath.dirname(path)):
                path_rows[w][i] = PATH_DIR_WEIGHT
            for w in split_identifier(stem):
                path_rows[w][i] = PATH_STEM_WEIGHT
        content_rows: dict[str, dict[int, float]] = defaultdict(dict)
        symbol_rows: dict[str, dict[int, float]] = defaultdict(dict)
        lengths = np.zeros(n, dtype=np.float64)
        vocabularies: list[tuple[int, list[str], bytes]] = []
        defs: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        refs: dict[str, list[int]] = defaultdict(list)
        for path in s.paths:
            syms = index.symbols.get(path)
            if syms is None:
                continue
            i = s.path_id[path]
            generated = getattr(syms, "generated", "")
            if generated and not junk[i]:
                junk[i] = generated
            for name, kind, line in syms.defs:
                defs[name].append((path, kind, line))
                weight = SYMBOL_TYPE_WEIGHT if kind in _TYPE_KINDS else SYMBOL_MEMBER_WEIGHT
                for w in split_identifier(name):
                    if symbol_rows[w].get(i, 0.0) < weight:
                        symbol_rows[w][i] = weight
            for name in syms.refs:
                refs[name].append(i)
            for method, raw, line in syms.routes:
                s.routes.append((path, method, normalize_route(raw), raw, line))
            words = getattr(syms, "words", "")
            if words:
                counts = syms.word_counts
                vocab = words.split(" ")
                lengths[i] = float(sum(counts))
                vocabularies.append((i, vocab, counts))
        # BM25's saturated term frequency, precomputed per posting (the idf comes at query time).
        with_content = [i for i, _, _ in vocabularies]
        avg = float(lengths[with_content].mean()) if with_content else 1.0
        for i, vocab, counts in vocabularies:
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[i] / avg)
            for w, tf in zip(vocab, counts):
                content_rows[w][i] = tf * (BM25_K1 + 1) / (tf + norm)
        s.content = Field.from_rows(content_rows, len(with_content))
        s.path_field = Field.from_rows(path_rows, n)
        s.symbol = Field.from_rows(symbol_rows, max(1, len(index.symbols)))
        s.junk = junk
        s.defs_by_name = DefsByName.from_dict(defs, s.path_id, s.paths)
        ref_names = sorted(refs)
        s.refs_by_name = RefsByName(ref_names, Csr.from_lists([sorted(set(refs[k])) for k in ref_names]), s.paths)
        s._build_graph()
        s._build_name_grams()
        s.close_basenames("")  # builds the file-name trigrams, so they persist with the rest
        return s

    def _build_graph(self) -> None:
        files = self.index.files
        modules: dict[str, str] = {}
        for path in self.paths:
            if path.endswith(".py"):
                mod = path[:-3].replace("/", ".")
                if mod.endswith(".__init__"):
                    mod = mod[: -len(".__init__")]
                modules[mod] = path
                if mod.startswith("src."):
                    modules[mod[4:]] = path
        self._modules = modules
        out: list[list[int]] = [[] for _ in self.paths]
        inbound: list[list[int]] = [[] for _ in self.paths]
        for path in self.paths:
            syms = self.index.symbols.get(path)
            if syms is None:
                continue
            i = self.path_id[path]
            targets = set()
            for imp in syms.imports:
                target = self._resolve_import(path, imp, syms.lang, modules)
                if target and target != path and target in files:
                    targets.add(self.path_id[target])
            out[i] = sorted(targets)
            for t in out[i]:
                inbound[t].append(i)
        self.imports = Csr.from_lists(out)
        self.imported_by = Csr.from_lists(inbound)
        self.in_degree_ids = np.asarray([len(r) for r in inbound], dtype=np.int32)

    def _build_name_grams(self) -> None:
        assert self.defs_by_name is not None and self.refs_by_name is not None
        # defined names and used ones ("self._value" is an attribute no definition names)
        self._names = sorted(set(self.defs_by_name) | set(self.refs_by_name))
        rows: dict[str, dict[int, float]] = defaultdict(dict)
        for i, name in enumerate(self._names):
            for g in name_trigrams(name):
                rows[g][i] = 1.0
        self._name_grams = Field.from_rows(rows, len(self._names))

    # --- lazily derived lookups ---------------------------------------------------------------------
    @property
    def basenames(self) -> dict[str, list[str]]:
        """lower-case file name -> its paths."""
        got = self.__dict__.get("_basenames")
        if got is None:
            gc_was = gc.isenabled()
            gc.disable()
            got = {}
            for path in self.paths:
                got.setdefault(path.rpartition("/")[2].lower(), []).append(path)
            self.__dict__["_basenames"] = got
            if gc_was:
                gc.enable()
        return got

    @property
    def dirs(self) -> set[str]:
        """Every folder that holds an indexed file, at any depth."""
        got = self.__dict__.get("_dirs")
        if got is None:
            got = set()
            for path in self.paths:
                d = path.rpartition("/")[0]
                while d and d not in got:
                    got.add(d)
                    d = d.rpartition("/")[0]
            self.__dict__["_dirs"] = got
        return got

    @property
    def defs_by_lower(self) -> "_LowerNames":
        got = self.__dict__.get("_defs_by_lower")
        if got is None:
            assert self.defs_by_name is not None
            got = _LowerNames(list(self.defs_by_name))
            self.__dict__["_defs_by_lower"] = got
        return got

    # --- queries -----------------------------------------------------------------------------------
    @property
    def file_count(self) -> int:
        return max(1, len(self.paths))

    @property
    def in_degree(self) -> dict[str, int]:
        """How many files import each file: a cheap centrality, as in aider's repo map. Made once
        (it is read on every lint with a repository; the arrays do not change once built)."""
        got = self.__dict__.get("_in_degree")
        if got is None:
            got = self.__dict__["_in_degree"] = {self.paths[i]: int(d) for i, d in enumerate(self.in_degree_ids) if d}
        return got

    def close_names(self, name: str, n: int = 3, cutoff: float = 0.8) -> list[str]:
        """Definition names close to ``name`` (did-you-mean): difflib's ratio, but only over the
        names that share the most trigrams with it, so a lookup stays in milliseconds on any repo."""
        return _close(name, self._names, self._name_grams, n, cutoff)

    def close_basenames(self, base: str, n: int = 3, cutoff: float = 0.75) -> list[str]:
        """File names (lower case) close to ``base``, prefiltered the same way."""
        got = self.__dict__.get("_basename_grams")
        if got is None:
            names = sorted(self.basenames)
            with no_gc():
                rows: dict[str, dict[int, float]] = defaultdict(dict)
                for i, b in enumerate(names):
                    for g in name_trigrams(b):
                        rows[g][i] = 1.0
                got = (names, Field.from_rows(rows, len(names)))
            self.__dict__["_basename_grams"] = got
        return _close(base, got[0], got[1], n, cutoff)

    def files_under(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/"
        return [p for p in self.paths if p.startswith(prefix)]

    def neighbours(self, i: int) -> np.ndarray:
        """Files that ``i`` imports and files that import ``i``."""
        assert self.imports is not None and self.imported_by is not None
        return np.union1d(self.imports.row(i), self.imported_by.row(i))

    @property
    def modules(self) -> dict[str, str]:
        return self._modules

    def _resolve_import(self, path: str, imp: str, lang: str, modules: dict[str, str]) -> str | None:
        files = self.index.files
        if lang == "python":
            if imp.startswith("."):
                dots = len(imp) - len(imp.lstrip("."))
                base = posixpath.dirname(path)
                for _ in range(dots - 1):
                    base = posixpath.dirname(base)
                rest = imp.lstrip(".").replace(".", "/")
                for candidate in (f"{base}/{rest}.py", f"{base}/{rest}/__init__.py"):
                    candidate = posixpath.normpath(candidate).lstrip("./")
                    if candidate in files:
                        return candidate
                return None
            name = imp
            while name:
                if name in modules:
                    return modules[name]
                name = name.rpartition(".")[0]
            return None
        if lang in ("typescript", "tsx", "javascript"):
            if not imp.startswith("."):
                return None
            base = posixpath.normpath(posixpath.join(posixpath.dirname(path), imp))
            stem = re.sub(r"\.(js|jsx|mjs|cjs)$", "", base)  # NodeNext imports name the compiled file
            for candidate in (base, *(stem + ext for ext in (".ts", ".tsx", ".js", ".jsx", ".mjs")), *(stem + "/index" + ext for ext in (".ts", ".tsx", ".js"))):
                if candidate in files:
                    return candidate
            return None
        if lang == "rust":
            directory = posixpath.dirname(path)
            if imp.startswith("mod:"):
                name = imp[4:]
                own = posixpath.basename(path)
                base = directory if own in ("lib.rs", "main.rs", "mod.rs") else path[:-3]
                for candidate in (f"{base}/{name}.rs", f"{base}/{name}/mod.rs"):
                    if candidate in files:
                        return candidate
                return None
            if imp.startswith("crate::"):
                parts = re.split(r"::", imp[len("crate::") :])
                parts = [p for p in parts if re.fullmatch(r"\w+", p)]
                for k in range(len(parts), 0, -1):
                    stem = "/".join(parts[:k])
                    for candidate in (f"src/{stem}.rs", f"src/{stem}/mod.rs"):
                        if candidate in files:
                            return candidate
            return None
        if lang == "java":
            return self._suffix_map.get(imp.replace(".", "/") + ".java")
        if lang == "go":
            parts = imp.strip('"').split("/")
            return self._suffix_map.get("/".join(parts[-2:]) + "/") or self._suffix_map.get(parts[-1] + "/")
        return None

    @property
    def _suffix_map(self) -> dict[str, str]:
        """Path suffixes of Java files ("com/x/Foo.java") and of Go package folders ("pkg/db/")."""
        cached = self.__dict__.get("_suffix_cache")
        if cached is not None:
            return cached
        out: dict[str, str] = {}
        for path in self.paths:
            if path.endswith(".java"):
                parts = path.split("/")
                for k in range(1, len(parts) + 1):
                    out.setdefault("/".join(parts[-k:]), path)
            elif path.endswith(".go"):
                parts = posixpath.dirname(path).split("/")
                for k in (1, 2):
                    if len(parts) >= k and parts[0]:
                        out.setdefault("/".join(parts[-k:]) + "/", path)
        self.__dict__["_suffix_cache"] = out
        return out

    # --- message literals, on first need ------------------------------------------------------------
    def message_field(self) -> Field:
        """The ``message`` field: for every indexed file, the word trigrams of its message-like
        string literals (extract.message_literals). Only a prompt that pastes an error reads it, so
        neither the index nor build_fresh computes it: the first such prompt reads the files (their
        content checked against the index's content keys: a file changed since the refresh gives no
        evidence rather than stale evidence), and the field is saved beside the index for this
        content digest, so later processes load it. Same postings as computing the literals at
        index time, file for file."""
        got = self.message
        if got is not None:
            return got
        with _message_lock:
            if self.message is None:
                self.message = self._load_or_build_messages()
            return self.message

    def _load_or_build_messages(self) -> Field:
        blob = self.index.load_derived(_MESSAGES_DERIVED)
        if blob is not None:
            try:
                with np.load(io.BytesIO(blob), allow_pickle=False) as data:
                    return Field.unpack("message", data)
            except (OSError, KeyError, ValueError, EOFError, TypeError):
                pass  # garbled or from another layout: rebuild
        with no_gc():
            built = Field.from_rows(self._message_rows(), max(1, len(self.index.symbols)))
        out: dict[str, np.ndarray] = {}
        built.pack("message", out)
        buffer = io.BytesIO()
        np.savez(buffer, **out)
        self.index.save_derived(_MESSAGES_DERIVED, buffer.getvalue())
        return built

    def _message_rows(self) -> dict[int, dict[int, float]]:
        from ..fsutil import Beneath, UnsafeRead
        from .extract import message_literals
        from .files import content_key

        index = self.index
        symbols = index.symbols
        rows: dict[int, dict[int, float]] = defaultdict(dict)
        with Beneath(str(index.root)) as reader:
            for i, path in enumerate(self.paths):
                if path not in symbols:
                    continue
                f = index.files.get(path)
                try:
                    data = reader.read(path, (f.size if f is not None else 0) + (1 << 20))
                except (OSError, ValueError, UnsafeRead):
                    continue
                want = (index.content_key(path) or "").rpartition(":")[2]
                if want and want != (content_key(data) if len(want) != 64 else hashlib.sha256(b"blob %d\0" % len(data) + data).hexdigest()):
                    continue  # changed since the index was built (a 64-digit key: a SHA-256 repository's blob)
                for literal in message_literals(data).split("\n"):
                    for gram in message_trigrams(literal):
                        rows[gram][i] = 1.0
        return rows

    # --- persistence -------------------------------------------------------------------------------
    def pack(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        out["paths"] = _pack_strings(self.paths)
        out["is_test"], out["is_secondary"] = self.is_test, self.is_secondary
        out["junk"] = _pack_strings(self.junk)
        for name, f in (("content", self.content), ("path", self.path_field), ("symbol", self.symbol), ("grams", self._name_grams)):
            assert f is not None
            f.pack(name, out)
        assert self.defs_by_name is not None
        self.defs_by_name.pack(out)
        assert self.refs_by_name is not None and self.imports is not None and self.imported_by is not None
        out["refs.names"] = _pack_strings(list(self.refs_by_name))
        out["refs.offsets"], out["refs.values"] = self.refs_by_name._csr.offsets, self.refs_by_name._csr.values
        out["imports.offsets"], out["imports.values"] = self.imports.offsets, self.imports.values
        out["importedby.offsets"], out["importedby.values"] = self.imported_by.offsets, self.imported_by.values
        out["routes"] = np.frombuffer(json.dumps([[p, m, list(seg), raw, line] for p, m, seg, raw, line in self.routes]).encode(), dtype=np.uint8)
        out["modules"] = np.frombuffer(json.dumps(sorted(self._modules.items())).encode(), dtype=np.uint8)
        out["names"] = _pack_strings(self._names)
        names, grams = self.__dict__["_basename_grams"]
        out["basenames"] = _pack_strings(names)
        grams.pack("bgrams", out)
        return out

    @classmethod
    def unpack(cls, index: RepoIndex, data) -> "RepoSearch":  # type: ignore[no-untyped-def]
        s = cls(index=index)
        s.paths = _unpack_strings(data["paths"])
        s.path_id = {p: i for i, p in enumerate(s.paths)}
        s.is_test, s.is_secondary = data["is_test"], data["is_secondary"]
        s.junk = _unpack_strings(data["junk"]) if len(s.paths) else []
        if len(s.junk) != len(s.paths):
            s.junk = [""] * len(s.paths)
        s.content, s.path_field, s.symbol, s._name_grams = (Field.unpack(n, data) for n in ("content", "path", "symbol", "grams"))
        s.defs_by_name = DefsByName.unpack(data, s.paths)
        s._names = _unpack_strings(data["names"])
        s.refs_by_name = RefsByName(_unpack_strings(data["refs.names"]), Csr(data["refs.offsets"], data["refs.values"]), s.paths)
        s.imports = Csr(data["imports.offsets"], data["imports.values"])
        s.imported_by = Csr(data["importedby.offsets"], data["importedby.values"])
        s.in_degree_ids = np.diff(s.imported_by.offsets).astype(np.int32)
        s.routes = [(p, m, tuple(seg), raw, line) for p, m, seg, raw, line in json.loads(data["routes"].tobytes() or b"[]")]
        s._modules = dict(json.loads(data["modules"].tobytes() or b"[]"))
        s.__dict__["_basename_grams"] = (_unpack_strings(data["basenames"]), Field.unpack("bgrams", data))
        return s


def _close(name: str, names: list[str], grams: Field | None, n: int, cutoff: float) -> list[str]:
    import difflib

    if grams is None or not names:
        return []
    hits = np.zeros(len(names), dtype=np.int32)
    mine = sorted(name_trigrams(name))
    for g in mine:
        span = grams.span(g)
        if span is not None:
            hits[grams.docs[span[0] : span[1]]] += 1
    # difflib's ratio >= cutoff needs a good share of the trigrams in common
    need = max(1, int(len(mine) * (cutoff - 0.35)))
    pool = np.flatnonzero(hits >= need)
    if pool.size > 120:
        pool = pool[np.lexsort((pool, -hits[pool]))[:120]]
    candidates = sorted(names[i] for i in pool.tolist())
    return difflib.get_close_matches(name, candidates, n=n, cutoff=cutoff)


_DERIVED_NAME = f"search-v{SEARCH_VERSION}"
_MESSAGES_DERIVED = f"messages-v{SEARCH_VERSION}"
_message_lock = threading.Lock()


def _new_message_lock_in_child() -> None:
    # The warm server forks `check` children: a lock another thread held at that moment would stay
    # held for ever in the child (as repo/index.py does for its tables).
    global _message_lock
    _message_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_message_lock_in_child)


def load_or_build(index: RepoIndex) -> RepoSearch:
    """The one place RepoSearch persistence lives: the structures saved beside the index for this
    exact content digest (repo/index.py's derived-structure store), else built and saved. The bytes
    are an .npz of plain arrays, read with ``allow_pickle=False``: loading runs no code."""
    blob = index.load_derived(_DERIVED_NAME)
    if blob is not None:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as data, no_gc():
                return RepoSearch.unpack(index, data)
        except (OSError, KeyError, ValueError, UnicodeDecodeError, json.JSONDecodeError, IndexError, EOFError, TypeError):
            pass  # garbled or from another layout: rebuild
    with no_gc():
        search = RepoSearch.build_fresh(index)
    buffer = io.BytesIO()
    np.savez(buffer, **search.pack())
    index.save_derived(_DERIVED_NAME, buffer.getvalue())  # a read-only or untrusted cache: not saved, still correct
    return search


def iter_words(texts: Iterable[str]) -> Iterator[str]:
    for text in texts:
        yield from split_identifier(text)
