"""Resolve what a prompt mentions (paths, folders, modules, identifiers, dotted names, traceback
frames, routes, pasted code and error messages) to files that exist in the repository, and rank the
files the prompt is about (the ranking itself is in rank.py).

Every path this module returns is a key of the index: it exists. Nothing is ever invented.
"""

from __future__ import annotations

import difflib
import functools
import heapq
import math
import os
import posixpath
import re
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..fsutil import read_regular
from .rank import STOPWORDS, Query, Ranked, Ranker, merge_words, prose_names, text_words
from .search import SYMBOL_TYPE_WEIGHT, RepoSearch, is_secondary_path, is_test_path, normalize_route
from .words import object_kinds, singular, split_identifier, synonyms

if TYPE_CHECKING:  # pragma: no cover
    from ..text.analysis import Analysis

__all__ = ["Mention", "Reference", "Resolution", "Resolver", "is_secondary_path", "is_test_path"]

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_INLINE_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.(?:py|pyi|ts|tsx|js|jsx|mjs|cjs|rs|go|java|kt|rb|php|c|h|cc|cpp|hpp|cs|swift|scala|md|toml|json|ya?ml|sql|html|css|vue|svelte))(?::(\d+))?")
_PY_FROM_IMPORT = re.compile(r"^\s*(?:>>>\s*|\.\.\.\s*)?from\s+([A-Za-z_][\w.]*)\s+import\s+\(?([\w\s,*]+)", re.M)
_PY_IMPORT = re.compile(r"^\s*(?:>>>\s*|\.\.\.\s*)?import\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)", re.M)
_DOTTED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w{2,}")
_ERROR_LINE = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Warning|Exit|Failure))\b:?\s+([^\n]{8,300})")
_SELF = ("self", "this", "cls", "super()")
_CODE_KEYWORDS = frozenset(
    "and as assert async await break class continue def del elif else except false finally for from global if import in is "
    "lambda none nonlocal not or pass raise return true try while with yield self cls print len str int float list dict set "
    "tuple bool object type range open super isinstance getattr setattr hasattr repr sorted enumerate zip map filter "
    "min max sum abs any all iter next id hash vars dir exec eval input format round var let const function new this "
    "null undefined typeof instanceof export default".split()
)
_OBJECT_STOP = {"to", "for", "in", "on", "of", "with", "from", "into", "at", "by", "that", "which", "so", "and", "or", "when", "where", "using", "via", "inside", "under", "within", "who", "whose", "if", "than", "as", "like"}
_DETERMINERS = {"a", "an", "the", "some", "new", "another", "our", "my", "your", "its", "their", "this", "that", "one", "simple", "basic", "small", "proper"}
MIN_SCORE = 0.05  # below this chance a file is not worth listing
MIN_WORD_SUPPORT = 2  # distinct prompt words a file must match when words are all that point at it
_FIXTURE_SHARE = 0.25  # a bare file name found only among the tests' sample files: weak evidence
# A file whose own name says it is a test (not only its folder).
_TEST_NAME = re.compile(r"^test_|_test\.\w+$|\.(?:test|spec)\.\w+$|_spec\.\w+$|^conftest\.py$|(?<=[a-z0-9])Tests?\.(?:java|cs|kt)$")
# What a task verb acts on when the task is about tests ("add a test", "fix the failing specs").
_TEST_OBJECTS = frozenset({"test", "spec", "testcase", "unittest", "coverage", "fixture", "assertion"})
_DEF_CANDIDATES = 25  # a name defined in more files than this says little about any of them


@dataclass
class Reference:
    path: str
    score: float
    reason: str
    symbol: str | None = None
    line: int | None = None
    # which evidence carried it (named, frame, module, definition, message, content, path, symbol,
    # graph): rules read it, the JSON output does not carry it
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "symbol": self.symbol, "line": self.line, "score": round(self.score, 3), "reason": self.reason}


@dataclass
class Mention:
    text: str
    kind: str  # path | module | identifier | route | frame
    start: int
    end: int
    paths: list[str] = field(default_factory=list)  # existing files it resolves to
    defined_in: list[str] = field(default_factory=list)  # for identifiers: files that define it
    suggestions: list[str] = field(default_factory=list)  # did-you-mean, all existing
    line: int | None = None
    directory: str | None = None  # an existing folder it names
    on_disk: bool = False  # exists, but the index leaves it out (ignored, vendored or generated)
    used_in: list[str] = field(default_factory=list)  # for identifiers: files that reference it
    # how many files a path's name matches (``paths`` keeps the best five): "models.py" in a Django
    # issue matches dozens of files and points at none of them
    matches: int = 0

    @property
    def exists(self) -> bool:
        return bool(self.paths or self.defined_in or self.directory or self.on_disk or self.used_in)


@dataclass
class NewFile:
    """A task that creates something the repository does not have yet ("add a rate limiter")."""

    what: str  # the thing, as the prompt says it
    folder: str | None  # an existing folder it belongs in
    pattern: str | None  # the closest existing file to follow
    wiring: str | None = None  # where such things are registered (imports the pattern, or the composition root)


@dataclass
class Resolution:
    references: list[Reference] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    ranked: list[tuple[str, float]] = field(default_factory=list)  # the best files, best first (probabilities)
    query_words: dict[str, float] = field(default_factory=dict)
    mentions_tests: bool = False
    tests: list[Reference] = field(default_factory=list)  # test files, ranked apart
    new_file: NewFile | None = None

    @property
    def named_existing(self) -> list[Mention]:
        return [m for m in self.mentions if m.exists]


class Resolver:
    def __init__(self, search: RepoSearch, weights: dict[str, float] | None = None):
        self.search = search
        self.files = search.index.files
        self.ranker = Ranker(search, weights)
        self._memo: dict[tuple[str, str], tuple[list[str], list[str], list[str], str | None, bool, list[str], int]] = {}
        self._folder_sets: dict[str, frozenset[str]] = {}  # path -> its folders in lower case (did-you-mean)

    # --- explicit mentions ------------------------------------------------------------------------
    def resolve_path(self, text: str) -> tuple[list[str], list[str]]:
        """(existing files it names, did-you-mean suggestions)."""
        files, suggestions, _directory, _on_disk, _matches = self._resolve_path(text)
        return files, suggestions

    @staticmethod
    def clean_path(text: str) -> str:
        p = text.strip().strip("`'\"").replace("\\", "/")
        p = p.lstrip("@")  # "@src/app.ts": a chat client's file mention
        p = re.sub(r":\d+(?::\d+)?$", "", p)
        p = re.sub(r"^(?:\./)+", "", p)
        return p.rstrip("/")

    def _resolve_path(self, text: str) -> tuple[list[str], list[str], str | None, bool, int]:
        """(files, did-you-mean, folder, exists on disk though not indexed, how many files match)."""
        p = self.clean_path(text)
        if not p or p in (".", ".."):
            return [], [], None, False, 0
        if p in self.files:
            return [p], [], None, False, 1
        search = self.search
        if p in search.dirs:
            return [], [], p, False, 0
        parts = [x for x in p.split("/") if x and x not in (".", "..")]
        if not parts:
            return [], [], None, False, 0
        # An absolute or foreign prefix (a traceback from another machine): try shorter suffixes.
        base = parts[-1].lower()
        named = search.basenames.get(base, [])
        lowered = [(f, f.lower()) for f in named] if len(parts) > 1 else []  # once, not once per suffix
        for k in range(len(parts), 0, -1):
            suffix = "/".join(parts[-k:])
            if k == 1:
                hits = list(named)
            else:
                low = suffix.lower()
                tail = "/" + low
                hits = [f for f, lf in lowered if lf == low or lf.endswith(tail)]
                if not hits and suffix in search.dirs:
                    return [], [], suffix, False, 0
            if hits:
                return sorted(hits, key=lambda f: (is_test_path(f), len(f), f))[:5], [], None, False, len(hits)
            if k <= 2 and len(parts) > 2:
                break
        if self._on_disk(p):
            return [], [], None, True, 0
        return [], self._did_you_mean_path(p), None, False, 0

    def _on_disk(self, p: str) -> bool:
        """A relative path inside the root that exists although the index leaves it out (`dist/`,
        a git-ignored `.env`). Never follows a symlink, never looks outside the root."""
        if p.startswith("/") or re.match(r"^[A-Za-z]:", p) or ".." in p.split("/"):
            return False
        root = self.search.index.root
        here = str(root)
        for part in p.split("/"):
            here = os.path.join(here, part)
            try:
                st = os.lstat(here)
            except (OSError, ValueError):
                return False
            if stat.S_ISLNK(st.st_mode):
                # Something is there (a symlink in the repository, or a path through one); whether
                # its target exists is not ours to check: it is never followed. So it is not absent,
                # and "no such file" would be a false claim.
                return True
        return True

    def _did_you_mean_path(self, p: str) -> list[str]:
        """Existing files close to a path that is not there: a near file name, or the same name in
        another folder. difflib only ever compares a few dozen candidates, picked by shared folders."""
        search = self.search
        base = posixpath.basename(p).lower()
        parts = set(p.lower().split("/")[:-1])

        folder_sets = self._folder_sets

        def shared_folders(f: str) -> int:
            # A file name shared by hundreds of files (django.po in every locale folder): each
            # path's folders are split once per resolver, not once per lookup.
            got = folder_sets.get(f)
            if got is None:
                got = folder_sets[f] = frozenset(f.lower().split("/")[:-1])
            return len(parts & got)

        def nearest(paths: list[str], n: int) -> list[str]:
            return heapq.nsmallest(n, paths, key=lambda f: (-shared_folders(f), len(f), f))  # = sorted(...)[:n]

        names = search.close_basenames(base, n=3, cutoff=0.75)
        pool = [f for name in names for f in nearest(search.basenames[name], 10)]
        if posixpath.dirname(p):
            pool += nearest(search.basenames.get(base, []), 10)
        # The three best by difflib's ratio among those close enough (or sharing a close file name).
        # ratio() is the cost (a few dozen long paths); quick_ratio() bounds it from above, so going
        # down the bounds the search stops once no bound can beat the third best: the same three.
        bounded = []
        for f in dict.fromkeys(pool):
            matcher = difflib.SequenceMatcher(None, p, f)
            bounded.append((-matcher.quick_ratio(), f, matcher))
        bounded.sort(key=lambda row: (row[0], row[1]))
        best: list[tuple[float, str]] = []
        for negative_bound, f, matcher in bounded:
            if len(best) == 3 and -negative_bound < -best[-1][0]:
                break
            r = matcher.ratio()
            if r >= 0.6 or posixpath.basename(f).lower() in names:
                best = sorted([*best, (-r, f)])[:3]
        return [f for _, f in best]

    def resolve_identifier(self, name: str) -> tuple[list[str], list[str], list[str]]:
        """(defining files, referencing files, did-you-mean names)."""
        name = name.strip("`").rstrip("()").split("::")[-1]
        s = self.search
        assert s.defs_by_name is not None and s.refs_by_name is not None
        defs = s.defs_by_name.get(name)
        if not defs:
            lowered = s.defs_by_lower.get(name.lower(), [])
            defs = [d for n in lowered for d in s.defs_by_name[n]]
        defining = sorted({d[0] for d in defs or []}, key=lambda f: (is_test_path(f), f))
        users = sorted(set(s.refs_by_name.get(name, ())) - set(defining))
        if defining or users:
            return defining, users, []
        return [], [], s.close_names(name, n=3, cutoff=0.8)

    def resolve_route(self, route: str) -> list[tuple[str, str, int]]:
        want = normalize_route(route.split()[-1])
        method = route.split()[0].upper() if len(route.split()) > 1 else None
        hits = []
        for path, m, segments, raw, line in self.search.routes:
            if not segments or m == "USE":
                continue
            # Routers mount under prefixes: "/signup" in users.ts serves "POST /users/signup".
            if want == segments or (len(segments) <= len(want) and want[-len(segments):] == segments):
                if method is None or m in (method, "ROUTE", "ALL", "API_ROUTE", "PATH", "RE_PATH", "URL", "HANDLEFUNC", "HANDLE", "REQUEST"):
                    hits.append((path, f"{m} {raw}", line))
        return hits

    def resolve_module(self, dotted: str) -> tuple[list[str], list[str]]:
        """`django.db.models.query.QuerySet.only` -> (["django/db/models/query.py"], ["QuerySet", "only"]):
        the longest prefix that is a module of the repository, and the names after it."""
        parts = dotted.rstrip("()").split(".")
        modules = self.search.modules
        for k in range(len(parts), 0, -1):
            mod = ".".join(parts[:k])
            path = modules.get(mod)
            if path is None and k >= 2:
                path = self._module_suffixes.get(mod)
            if path is not None:
                return [path], parts[k:]
        return [], parts

    @property
    def _module_suffixes(self) -> dict[str, str]:
        """`models.query` -> django/db/models/query.py when only one module ends that way."""
        got = self.__dict__.get("_suffixes")
        if got is None:
            seen: dict[str, set[str]] = {}
            for mod, path in self.search.modules.items():
                parts = mod.split(".")
                for k in range(2, len(parts)):
                    seen.setdefault(".".join(parts[-k:]), set()).add(path)
            got = {m: next(iter(p)) for m, p in seen.items() if len(p) == 1}
            self.__dict__["_suffixes"] = got
        return got

    def mentions(self, analysis: "Analysis") -> list[Mention]:
        out: list[Mention] = []
        text = analysis.text
        for span in analysis.code_spans:
            kind, inner = span.kind, span.inner
            if kind == "url":
                continue
            if kind in ("fenced", "traceback"):
                for m in _FRAME.finditer(span.text):
                    out.append(Mention(m.group(1), "frame", span.start + m.start(1), span.start + m.end(1), line=int(m.group(2))))
                for m in _INLINE_PATH.finditer(span.text):
                    if "://" in span.text[max(0, m.start() - 8) : m.start()]:
                        continue
                    if not any(o.start <= span.start + m.start(1) < o.end for o in out):
                        out.append(Mention(m.group(1), "path", span.start + m.start(1), span.start + m.end(1), line=int(m.group(2)) if m.group(2) else None))
                continue
            if kind == "frame":
                m = _FRAME.search(inner)
                if m:
                    out.append(Mention(m.group(1), "frame", span.start, span.end, line=int(m.group(2))))
                continue
            start, end = span.start, span.end
            if kind == "backtick":
                inner = inner.strip()
                if re.fullmatch(r"(?:GET|POST|PUT|PATCH|DELETE)\s+/\S*", inner):
                    kind = "route"
                elif inner.startswith("@") and re.fullmatch(r"@[\w./-]+", inner) and ("/" in inner or _INLINE_PATH.fullmatch(inner[1:])):
                    kind = "path"
                elif "/" in inner and " " not in inner and not inner.startswith("/") or _INLINE_PATH.fullmatch(inner):
                    kind = "path"
                elif re.fullmatch(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*(\(\))?", inner) and not _INLINE_PATH.fullmatch(inner):
                    kind = "module"
                elif re.fullmatch(r"[A-Za-z_][\w:]*(\(\))?", inner):
                    kind = "identifier"
                else:
                    # Code with spaces ("`npm test`"): its identifiers still point somewhere.
                    continue
            else:
                # "@release-config.yml": a chat client's file mention; the span may have started after the "@".
                head = re.search(r"@[\w.-]*$", text[max(0, start - 80) : start])
                windows = re.search(r"(?<![\w\\/.-])[\w.-]+(?:\\[\w.-]+)*\\$", text[max(0, start - 200) : start])
                if windows and kind == "path":
                    # "packages\config\eslint\src\index.ts": a Windows path the span caught only the end of
                    start -= len(windows.group(0))
                    inner = text[start:end]
                elif head and kind in ("path", "module", "identifier"):
                    start -= len(head.group(0))
                    inner = text[start + 1 : end]
                    kind = "path"
                elif inner.startswith("@") and kind == "path":
                    inner = inner[1:]
            if kind in ("call", "rust-path"):
                kind = "identifier"
            if kind == "module" and _INLINE_PATH.fullmatch(inner) and not inner.endswith("()"):
                kind = "path"  # "config.yml" found as a dotted name
            if kind in ("path", "module", "identifier", "route"):
                out.append(Mention(inner, kind, start, end))
        for m in out:
            self._resolve_mention(m)
        return out

    def _resolve_mention(self, m: Mention) -> None:
        # A long prompt repeats its paths and names: resolve each distinct one once.
        key = (m.kind, m.text)
        cached = self._memo.get(key)
        if cached is None:
            self._resolve_fresh(m)
            self._memo[key] = (m.paths, m.defined_in, m.suggestions, m.directory, m.on_disk, m.used_in, m.matches)
        else:
            paths, defined, suggestions, m.directory, m.on_disk, used, m.matches = cached
            m.paths, m.defined_in, m.suggestions, m.used_in = list(paths), list(defined), list(suggestions), list(used)

    def _resolve_fresh(self, m: Mention) -> None:
        if m.kind in ("path", "frame"):
            m.paths, m.suggestions, m.directory, m.on_disk, m.matches = self._resolve_path(m.text)
        elif m.kind == "route":
            hits = self.resolve_route(m.text)
            m.paths = list(dict.fromkeys(h[0] for h in hits))
        elif m.kind == "module":
            text = m.text.rstrip("()")
            paths, rest = self.resolve_module(text)
            if paths and not rest:
                m.paths = paths
                return
            names = [p for p in text.split(".") if p not in _SELF]
            if paths:
                # `module.Symbol`: the file of the module, and the symbol if it defines it
                m.paths = paths
                defining, _users, _close = self.resolve_identifier(rest[0])
                m.defined_in = [p for p in defining if p in paths] or []
                return
            # `obj.method`, `self._value`, `Model.save`: the last name, where the one before it lives
            last = names[-1] if names else text
            defining, users, close = self.resolve_identifier(last)
            if len(names) >= 2 and defining:
                owner, _, _ = self.resolve_identifier(names[-2])
                both = [p for p in defining if p in owner]
                if both:
                    defining = both
            m.defined_in, m.used_in = defining, users
            m.paths = defining or users[:5]
            m.suggestions = close if not (defining or users) else []
        else:
            defining, users, close = self.resolve_identifier(m.text)
            m.defined_in, m.used_in, m.suggestions = defining, users, close
            m.paths = defining or users[:5]
        if m.kind in ("identifier", "module") and not m.exists and m.suggestions:
            # before calling it a near miss, look for the exact name in the files that hold its words
            # (an object key or a string the symbol index does not list)
            name = _display_name(m.text).rsplit(".", 1)[-1]
            found = self.files_containing(name)
            if found:
                m.on_disk, m.suggestions, m.used_in = True, [], found[:5]
            elif self.search.index.stats.deferred:
                # A cold check's index holds lexical stand-ins for now (repo/index.py, defer_parse):
                # no methods or getters of most languages, nothing of a test suite's files. A name
                # they lack is not known to be missing: no near miss until the parse completes it.
                m.suggestions = []

    # --- the query --------------------------------------------------------------------------------
    def query(self, analysis: "Analysis", mentions: list[Mention] | None = None) -> Query:
        s = self.search
        pid = s.path_id
        text = analysis.text
        mentions = self.mentions(analysis) if mentions is None else mentions
        q = Query()
        blocks = [sp for sp in analysis.code_spans if sp.kind in ("fenced", "traceback")]
        prose = text
        for sp in blocks:
            prose = prose[: sp.start] + " " * (sp.end - sp.start) + prose[sp.end :]
        q.words = text_words(prose)
        q.prose_names = prose_names(prose)
        q.code_words = text_words(" ".join(sp.inner for sp in blocks), 1.0)
        head = next((line for line in prose.split("\n") if line.strip()), "")
        q.head_words = text_words(head)
        # Words for the whole program ("the app", "the code") and the task's own verbs ("add",
        # "create", "fix") say little about where.
        for w in _generic_words():
            for words in (q.words, q.head_words):
                if w in words:
                    words[w] *= 0.3
        verbs: set[str] = set()
        for verb in analysis.task_verbs:
            verbs.update(split_identifier(verb.lemma), split_identifier(text[verb.start : verb.end]), (text[verb.start : verb.end].lower(),))
            for w in {*split_identifier(verb.lemma), *split_identifier(text[verb.start : verb.end])}:
                for words in (q.words, q.head_words):
                    words.pop(w, None)
        q.prose_names = q.prose_names - verbs
        q.mentions_tests = self.about_tests(analysis, mentions)
        # prose mentions
        last_frame_in_block: dict[int, int] = {}
        for m in mentions:
            ids = [pid[p] for p in m.paths if p in pid]
            if m.kind == "frame":
                for i in ids:
                    add_max(q.frames, i, 1.0 / max(len(ids), m.matches))
                    q.frame_lines.setdefault(i, m.line or 0)
                if ids:
                    block = next((k for k, sp in enumerate(blocks) if sp.start <= m.start < sp.end), -1)
                    last_frame_in_block[block] = ids[0] if len(ids) == 1 else last_frame_in_block.get(block, ids[0])
            elif m.kind == "path":
                # a file name shared by many files names none of them
                share = 1.0 / max(len(ids), m.matches, 1)
                if not q.mentions_tests and ids and self._only_a_test_fixture(m):
                    share *= _FIXTURE_SHARE
                if analysis.is_code_block(m.start):
                    for i in ids:
                        add_max(q.frames, i, 0.5 * share)
                else:
                    for i in ids:
                        add_max(q.named, i, share)
                    if m.directory:
                        q.named_dirs.append(m.directory)
            elif m.kind == "route":
                for i in ids:
                    q.routes.setdefault(i, []).append(m.text)
                    add_max(q.def_prose, i, 1.0 / len(ids))
            elif m.kind == "module" and not m.defined_in and m.paths and not m.used_in:
                for i in ids:
                    add_max(q.modules, i, 1.0 / len(ids))
            if m.kind in ("identifier", "module"):
                name = _display_name(m.text)
                if m.kind == "module" and m.paths and not m.used_in and not m.defined_in:
                    pass
                defining = [pid[p] for p in m.defined_in if p in pid]
                if m.kind == "module" and m.defined_in and set(m.defined_in) <= set(m.paths) and not m.used_in:
                    for i in defining:
                        add_max(q.modules, i, 1.0 / len(defining))
                if 0 < len(defining) <= _DEF_CANDIDATES:
                    spec = self.specificity(name.rsplit(".", 1)[-1])
                    for i in defining:
                        add(q.def_prose, i, 1.0 / len(defining))
                        add(q.def_prose_spec, i, spec / len(defining))
                        q.defines.setdefault(i, []).append(name)
                users = [pid[p] for p in m.used_in if p in pid]
                if 0 < len(users) <= 200:
                    for i in users:
                        add(q.uses, i, 1.0 / math.log2(2 + len(users)))
                        q.used.setdefault(i, []).append(name)
        for i in last_frame_in_block.values():
            q.frame_last[i] = 1.0
        # pasted code: imports, dotted names and the names it uses
        self._code_evidence(q, blocks, text)
        # error messages, wherever they are
        for m in _ERROR_LINE.finditer(text):
            q.messages.append(m.group(2))
        return q

    def specificity(self, name: str) -> float:
        """How much naming ``name`` says about where to look, from how many files use it (an idf in
        [0, 1]): a helper two files call is specific, a base class the whole codebase uses
        (`Model`, `CharField`, `Expr`) is the project's vocabulary and says little."""
        s = self.search
        assert s.refs_by_name is not None
        n = len(s.index.symbols) + 1
        used = int(s.refs_by_name.ids(name).size)
        return max(0.0, min(1.0, math.log(n / (1.0 + used)) / math.log(n))) if n > 1 else 1.0

    def about_tests(self, analysis: "Analysis", mentions: list[Mention]) -> bool:
        """Is the task about tests (then test files rank with the rest, else they are ranked apart)?
        Yes when the prompt names a test file, or asks to test ("cover X", "verify ..."), or a task
        verb acts on tests ("add a test for", "fix the failing specs"). The word in passing ("my
        test case", "pytest 7.1", "I tested it") does not make the task about tests: issues say it
        constantly and the fix is in the code."""
        for m in mentions:
            if m.kind == "path" and not analysis.is_code_block(m.start) and m.paths:
                named = self.clean_path(m.text)
                if _TEST_NAME.search(posixpath.basename(named)) or ("/" in named and all(is_test_path(p) for p in m.paths)):
                    return True
        doc = analysis.doc
        for verb in analysis.task_verbs:
            if verb.kind == "test":
                return True
            if verb.kind == "investigate":
                continue
            for tok in doc[verb.token + 1 : verb.token + 8]:
                if tok.is_punct or tok.lower_ in _OBJECT_STOP:
                    break
                if singular(tok.lower_) in _TEST_OBJECTS:
                    return True
        return False

    def _only_a_test_fixture(self, m: Mention) -> bool:
        """A bare file name ("manage.py", "settings.py") that the repository has only inside its tests:
        the prompt means the user's own file, not the test suite's sample project."""
        named = self.clean_path(m.text)
        return "/" not in named and not _TEST_NAME.search(named) and all(is_test_path(p) for p in m.paths)

    def _code_evidence(self, q: Query, blocks: list[Any], text: str) -> None:
        if not blocks:
            return
        s = self.search
        pid = s.path_id
        assert s.defs_by_name is not None
        code = "\n".join(sp.inner for sp in blocks)
        imported_names: set[str] = set()
        for m in _PY_FROM_IMPORT.finditer(code):
            paths, _rest = self.resolve_module(m.group(1))
            for p in paths:
                add_max(q.code_imports, pid[p], 1.0)
            for name in re.findall(r"[A-Za-z_]\w*", m.group(2)):
                imported_names.add(name)
                if paths:
                    defining, _u, _c = self.resolve_identifier(name)
                    inside = [p for p in defining if p in paths]
                    for p in inside:
                        add(q.def_code, pid[p], 1.0)
                        add(q.def_code_spec, pid[p], self.specificity(name))
                        q.defines.setdefault(pid[p], []).append(name)
        for m in _PY_IMPORT.finditer(code):
            for mod in re.split(r"\s*,\s*", m.group(1)):
                paths, _rest = self.resolve_module(mod)
                for p in paths:
                    add_max(q.code_imports, pid[p], 0.7)
        for m in _DOTTED.finditer(code):
            dotted = m.group(0)
            if dotted.split(".", 1)[0] in _SELF:
                continue
            paths, rest = self.resolve_module(dotted)
            if paths and len(dotted.split(".")) - len(rest) >= 2:
                for p in paths:
                    add_max(q.code_imports, pid[p], 0.7)
        seen: set[str] = set()
        for m in _NAME.finditer(code):
            name = m.group(0)
            if name in seen or name.lower() in _CODE_KEYWORDS:
                continue
            seen.add(name)
            n_defs = s.defs_by_name.count(name)
            if not 0 < n_defs:
                continue
            ids = sorted(set(s.defs_by_name.path_ids(name)))
            if len(ids) > _DEF_CANDIDATES:
                continue
            spec = self.specificity(name)
            for i in ids:
                add(q.def_code, i, 1.0 / len(ids))
                add(q.def_code_spec, i, spec / len(ids))
                q.defines.setdefault(i, []).append(name)

    # --- ranking ----------------------------------------------------------------------------------
    def rank(self, words: dict[str, float], mentions: list[Mention], mentions_tests: bool) -> list[tuple[str, float, dict[str, Any]]]:
        """Rank by words alone (and any mentions): for rules that weigh one noun phrase."""
        q = Query(words=dict(words), mentions_tests=mentions_tests)
        pid = self.search.path_id
        for m in mentions:
            for p in m.paths:
                if p in pid:
                    add_max(q.named, pid[p], 1.0 / len(m.paths))
        return [(r.path, r.score, {"named": r.named, "features": r.features}) for r in self.ranker.rank(q, k=10)]

    def query_words(self, analysis: "Analysis") -> dict[str, float]:
        return text_words(analysis.text)

    def resolve(self, analysis: "Analysis", limit: int = 10) -> Resolution:
        mentions = self.mentions(analysis)
        q = self.query(analysis, mentions)
        res = Resolution(mentions=mentions, query_words=merge_words(q.words, q.head_words), mentions_tests=q.mentions_tests)
        ranked = self.ranker.rank(q, k=max(limit, 10) + 5)
        res.new_file = self.new_file_task(analysis, mentions, q)
        main = [r for r in ranked if q.mentions_tests or r.named or not self.search.is_test[self.search.path_id[r.path]]]
        res.ranked = [(r.path, r.probability if not r.named else 1.0) for r in main]
        listed = {r.path for r in main[:limit]}
        # what the prompt names is in scope whatever else ranks higher
        named_rest = [Ranked(self.search.paths[i], 0.0, 0.0, {"named": 1.0}, True) for i in sorted(set(q.named) | set(q.frames)) if max(q.named.get(i, 0.0), q.frames.get(i, 0.0)) >= 0.5 and self.search.paths[i] not in listed]
        for r in [*main[:limit], *named_rest]:
            score = 1.0 if r.named else r.probability
            if score < MIN_SCORE:
                continue
            support = None if r.named else self.ranker.word_support(q, r)
            if support is not None and support < MIN_WORD_SUPPORT:
                continue  # one shared word, nothing else: a coincidence, not a suggestion
            if res.new_file is not None and r.path != res.new_file.pattern and not self.ranker.points_at(r):
                # The thing to write does not exist: a file that only shares words with the prompt
                # is not context for it either (kysely-dialect.ts for "a cron job with all required code").
                continue
            ref = self._reference(q, r, score)
            if res.new_file is not None and not r.named:
                # The thing to write does not exist yet: these files are patterns and context, not targets.
                what = res.new_file.what
                if r.path == res.new_file.pattern:
                    ref.reason = f"closest existing pattern for the new {what} (a new file): {ref.reason}"
                else:
                    ref.reason = f"related code, not the file to change (the {what} is new): {ref.reason}"
            res.references.append(ref)
        if res.new_file is not None and res.new_file.pattern and all(r.path != res.new_file.pattern for r in res.references):
            pattern = res.new_file.pattern
            chance = next((r.probability for r in ranked if r.path == pattern), MIN_SCORE)
            symbol, line = self._symbol_of(q, pattern)
            if len(res.references) >= limit:
                del res.references[limit - 1 :]
            res.references.append(Reference(pattern, max(chance, MIN_SCORE), f"closest existing pattern for the new {res.new_file.what} (a new file)", symbol, line))
        wiring = res.new_file.wiring if res.new_file is not None else None
        if wiring and all(r.path != wiring for r in res.references):
            chance = next((r.probability for r in ranked if r.path == wiring), MIN_SCORE)
            why = f"where {res.new_file.pattern} is registered" if res.new_file.pattern else "imports the most modules: where new code gets registered"
            if len(res.references) >= limit:
                del res.references[limit - 1 :]
            symbol, line = self._symbol_of(q, wiring)
            res.references.append(Reference(wiring, max(chance, MIN_SCORE), f"to wire the new {res.new_file.what} into, not to replace: {why}", symbol, line, ("graph",)))
        # what the prompt names is in scope whatever else ranks higher: it is listed first
        res.references.sort(key=lambda ref: ref.score < 1.0)
        if not q.mentions_tests:
            for r in [r for r in ranked if r not in main][:3]:
                if r.probability >= MIN_SCORE / 2:
                    res.tests.append(self._reference(q, r, r.probability))
        return res

    def new_file_task(self, analysis: "Analysis", mentions: list[Mention], q: Query) -> NewFile | None:
        """A create task whose object lives in a file of its own ("add a rate limiter", "create a
        guard"), when the prompt names no existing file or symbol to put it in."""
        if any(m.paths or m.defined_in for m in mentions if m.kind != "route"):
            return None
        kinds = object_kinds()
        doc = analysis.doc
        for verb in analysis.task_verbs:
            if verb.kind != "create":
                continue
            words = []
            for tok in doc[verb.token + 1 : verb.token + 12]:
                if tok.is_space and "\n" not in tok.text:
                    continue
                if tok.is_punct or tok.is_space or tok.lower_ in _OBJECT_STOP:
                    break
                words.append(tok)
            for k in range(len(words) - 1, -1, -1):
                kind = kinds.get(singular(words[k].lower_)) or kinds.get(singular(words[k].lemma_.lower()))
                if kind == "container":
                    break
                if kind == "new-file":
                    what = " ".join(t.text for t in words[: k + 1] if t.lower_ not in _DETERMINERS)
                    pattern = self._pattern_for(singular(words[k].lower_), what, q)
                    folder = posixpath.dirname(pattern) if pattern else (q.named_dirs[0] if q.named_dirs else None)
                    return NewFile(what=what, folder=folder or None, pattern=pattern, wiring=self._wiring_for(pattern))
        return None

    def _pattern_for(self, kind_word: str, what: str, q: Query) -> str | None:
        """The closest existing file of the same kind: its name or its definitions say the kind
        (or a synonym of it), and it matches the rest of the prompt best among those."""
        s = self.search
        assert s.path_field is not None and s.symbol is not None
        kind_words = {kind_word, *synonyms().get(kind_word, ())}
        # the words that say which one ("cron" of "cron job"): src/cron/cron.service.ts is the
        # pattern of a new cron job though neither its path nor its class says "job"
        kind_words |= {w for w in split_identifier(what) if len(w) >= 3 and w not in STOPWORDS and w not in _generic_words()}
        same_kind: set[int] = set()
        for w in sorted(kind_words):
            post = s.path_field.postings(w)
            if post is not None:
                same_kind.update(post[0].tolist())
            # a type or function named for the kind (`class CleanupJob`), not a member that happens
            # to be (`private readonly queue` in typeorm's QueryLock, offered as the pattern for a cron job)
            post = s.symbol.postings(w)
            if post is not None:
                same_kind.update(post[0][post[1] >= SYMBOL_TYPE_WEIGHT].tolist())
        same_kind = {i for i in same_kind if not s.junk[i] and not s.is_test[i] and s.paths[i] in s.index.symbols}
        if not same_kind:
            return None
        words = dict(q.words)
        for w in split_identifier(what):
            words[w] = words.get(w, 0.0) + 2.0
        for w in kind_words:
            words[w] = max(words.get(w, 0.0), 1.5)
        ranked = [r for r in self.ranker.rank(Query(words=words), k=50) if s.path_id[r.path] in same_kind]
        if not ranked:
            return min((s.paths[i] for i in same_kind), key=lambda p: (p.count("/"), p))
        # Among near-equals, the one with a test shows the whole pattern (code and its test).
        close = [r for r in ranked if r.score >= ranked[0].score - 0.25]
        return next((r.path for r in close if self.sibling_test(r.path)), ranked[0].path)

    def _wiring_for(self, pattern: str | None) -> str | None:
        """Where a new file of this kind gets registered: the file that imports the pattern and the
        most else; with no pattern, the module that imports the most files (a composition root)."""
        s = self.search
        assert s.imports is not None and s.imported_by is not None
        out_degree = np.diff(s.imports.offsets)
        if pattern is not None:
            pool = [i for i in s.imported_by.row(s.path_id[pattern]).tolist() if not s.is_test[i] and not s.junk[i]]
        else:
            pool = [i for i in np.flatnonzero(out_degree >= 3).tolist() if not s.is_test[i] and not s.junk[i] and not s.is_secondary[i]]
        if not pool:
            return None
        best = max(pool, key=lambda i: (int(out_degree[i]), -len(s.paths[i]), s.paths[i]))
        return s.paths[best] if out_degree[best] >= (2 if pattern else 3) else None

    def files_containing(self, name: str, limit: int = 12) -> list[str]:
        """Files whose text has ``name`` as a whole word: read only among the files whose vocabulary
        holds every word of the name (few), at most ``limit`` of them, each at most 1 MB."""
        s = self.search
        words = sorted(set(split_identifier(name)))
        if not words or s.content is None or not re.fullmatch(r"[A-Za-z_$][\w$]*", name):
            return []
        pool: set[int] | None = None
        for w in words:
            post = s.content.postings(w)
            ids = set(post[0].tolist()) if post is not None else set()
            pool = ids if pool is None else pool & ids
            if not pool:
                return []
        pattern = re.compile(rb"(?<![\w$])" + re.escape(name.encode()) + rb"(?![\w$])")
        found = []
        root = self.search.index.root
        for i in sorted(pool or ())[:limit]:
            try:
                data = read_regular(root / s.paths[i], 1_000_000, root=root, follow_symlinks=False)
            except OSError:
                continue  # gone, grown past the cap, or no longer a regular file: not evidence
            if name.encode() in data and pattern.search(data):
                found.append(s.paths[i])
        return found

    @property
    def project_words(self) -> frozenset[str]:
        """The words of the project's own name (package.json, Cargo.toml, pyproject.toml, the folder):
        "make the ledger more robust" in ledger-core is about the whole crate, not one file."""
        got = self.__dict__.get("_project_words")
        if got is None:
            root = self.search.index.root
            words = set(split_identifier(root.name))
            for manifest, pattern in (("package.json", rb'"name"\s*:\s*"([^"]+)"'), ("Cargo.toml", rb'(?m)^name\s*=\s*"([^"]+)"'), ("pyproject.toml", rb'(?m)^name\s*=\s*"([^"]+)"')):
                if manifest not in self.files:
                    continue
                try:
                    found = re.search(pattern, read_regular(root / manifest, 200_000, root=root, follow_symlinks=False))
                except OSError:
                    continue
                if found:
                    words.update(split_identifier(found.group(1).decode("utf-8", "replace").rsplit("/", 1)[-1]))
            got = frozenset(words)
            self.__dict__["_project_words"] = got
        return got

    def naming_words(self, path: str) -> set[str]:
        """The words of a file's path and of its definitions' names."""
        words = set(split_identifier(path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path))
        syms = self.search.index.symbols.get(path)
        if syms is not None:
            for name, _kind, _line in syms.defs[:400]:
                words.update(split_identifier(name))
        return words

    def sibling_test(self, path: str) -> str | None:
        """The test file named after ``path`` (users.ts -> tests/users.test.ts, query.py -> test_query.py)."""
        stem = posixpath.basename(path).split(".")[0].lower()
        if not stem:
            return None
        s = self.search
        tests = self.__dict__.get("_tests_by_stem")
        if tests is None:
            tests = {}
            for p in s.paths:
                if is_test_path(p):
                    base = posixpath.basename(p).lower().split(".")[0]
                    for key in {base, re.sub(r"^test_|_test$|_spec$", "", base)}:
                        tests.setdefault(key, []).append(p)
            self.__dict__["_tests_by_stem"] = tests
        found = tests.get(stem)
        return min(found, key=lambda p: (p.count("/"), p)) if found else None

    def _reference(self, q: Query, r: Ranked, score: float) -> Reference:
        reason = self.ranker.reason(q, r)
        symbol, line = self._symbol_of(q, r.path)
        return Reference(path=r.path, score=score, reason=reason, symbol=symbol, line=line, evidence=self.ranker.evidence_kinds(r))

    def _symbol_of(self, q: Query, path: str) -> tuple[str | None, int | None]:
        syms = self.search.index.symbols.get(path)
        i = self.search.path_id.get(path)
        if i is not None and i in q.frame_lines and q.frame_lines[i]:
            return None, q.frame_lines[i]
        if syms is None or not syms.defs:
            return None, None
        wanted = q.defines.get(i, []) if i is not None else []
        for name in wanted:
            for d_name, _kind, line in syms.defs:
                if d_name == name:
                    return d_name, line
        main = [d for d in syms.defs if d[1] in ("class", "struct", "interface", "trait", "enum", "type", "function", "constant")] or syms.defs
        return main[0][0], main[0][2]


def add(d: dict[int, float], key: int, value: float) -> None:
    d[key] = d.get(key, 0.0) + value


@functools.lru_cache(maxsize=1)
def _generic_words() -> frozenset[str]:
    from ..resources import lexicon

    words = set(lexicon()["generic-objects"]["words"]) | {"file", "function", "method", "class", "module", "crate", "package", "repo", "repository", "program", "script", "feature"}
    return frozenset(singular(w) for w in words)


def add_max(d: dict[int, float], key: int, value: float) -> None:
    if value > d.get(key, 0.0):
        d[key] = value


def _display_name(text: str) -> str:
    return text.strip("`").rstrip("()").split("::")[-1]
