"""Rank the files a prompt is about by fusing the evidence the index holds.

Each kind of evidence is one feature, computed for a few hundred candidate files (every file with
explicit evidence, plus the best lexical matches), and the score is a weighted sum whose weights
are data (``rules/_ranking.toml``, fitted by ``bench/fit_ranking.py`` on one half of the SWE-bench
dev tasks and checked on the other). The weights are a conditional logit: ``softmax(score)`` over
the candidates estimates the chance that each one is the file to change.

Evidence (feature groups, each measured on its own by ``bench/bench_localization.py``):

- paths: files the prompt names, traceback frames (the deepest frame in the repository apart);
- modules: dotted modules in the prose, and modules the prompt's code imports;
- definitions: identifiers and dotted names resolved to the files that define them (rarer names
  count more), and, weaker, to the files that use them;
- messages: an error message pasted in the prompt found among a file's string literals;
- content: BM25 of the prompt's words (identifiers split) against each file's vocabulary, for the
  prose, the pasted code and the first line apart;
- path words and symbol words: the prompt's words (and synonyms) in file names, folders and
  definition names;
- graph: files that import, or are imported by, the files with explicit evidence;
- priors: import in-degree, and test, secondary (docs, examples, migrations), package-init and
  non-code files.

Junk (metadata, lock files, vendored, generated and minified files) is never a candidate unless the
prompt names it; a tool config only when the prompt names every word of its file name; an agent's
own tooling (.claude/hooks, skills, adws/) only when the prompt is about that tooling.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..resources import builtin_rules_dir, load_toml
from .search import RepoSearch, agent_tooling, message_trigrams
from .words import split_identifier, stem, synonyms

FEATURES = (
    "named", "frame", "frame_last", "in_named_dir",
    "module", "code_import",
    "def_prose", "def_code", "uses", "def_prose_spec", "def_code_spec",
    "message",
    "content", "content_code", "content_head", "content_top",
    "path", "symbol", "file_word",
    "graph",
    "indegree", "test", "secondary", "init", "noncode",
)
GROUPS = {
    "paths": ("named", "frame", "frame_last", "in_named_dir"),
    "modules": ("module", "code_import"),
    "definitions": ("def_prose", "def_code", "uses", "def_prose_spec", "def_code_spec"),
    "messages": ("message",),
    "content": ("content", "content_code", "content_head", "content_top"),
    "path words": ("path", "file_word"),
    "symbol words": ("symbol",),
    "graph": ("graph",),
    "priors": ("indegree", "test", "secondary", "init", "noncode"),
}
# The score of "none of these files": the probabilities are softmax over the candidates and this
# option, so one weak candidate does not get probability 1 (fitted for calibration, see fit_ranking).
NONE = "none"
LEXICAL_POOL = 120  # best lexical matches that join the explicit candidates
_SYNONYM_DISCOUNT = 0.6
_VARIANT_DISCOUNT = 0.6
_RARE_DECLARED = 2  # a word in the definition names of at most this many files is a pointer, not a coincidence
_SAME_WORD_PREFIX = 5  # matched words that share this many leading letters (after stemming) count once
_FILE_WORD_MAX = 12  # a file name more files share than this (`utils`, `models`) names none of them  # another form of the word ("migration" for "migrating") counts as a synonym does

# Function words and the filler of chat prompts: they say nothing about where the code is.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren as at be because been before being below
    between both but by can cannot could did do doe does doing don down during each few for from further had has
    have having he her here hers herself him himself his how if in into is isn it its itself just let me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she should so some
    such than that the their theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours yourself yourselves
    please thank thanks hi hello hey ok okay yes yeah want wanted need needed like would could should might must
    shall may make made sure also really actually basically currently still already maybe perhaps etc eg ie via
    get got use used using way thing something anything everything someone one two see seem seems think know
    try tried trying able instead rather however though although since even well much many lot lots bit""".split()
)


@functools.lru_cache(maxsize=1)
def default_weights() -> dict[str, float]:
    data = load_toml(builtin_rules_dir() / "_ranking.toml")
    weights = {name: float(value) for name, value in data.get("weights", {}).items()}
    unknown = set(weights) - set(FEATURES) - {NONE}
    if unknown:
        raise ValueError(f"_ranking.toml: unknown features {sorted(unknown)}")
    return {name: weights.get(name, 0.0) for name in (*FEATURES, NONE)}


@dataclass
class Query:
    """What a prompt gives the ranker, resolved against the index (see resolve.Resolver.query)."""

    words: dict[str, float] = field(default_factory=dict)  # prose and inline code words
    code_words: dict[str, float] = field(default_factory=dict)  # pasted code, logs, tracebacks
    head_words: dict[str, float] = field(default_factory=dict)  # the first line (an issue's title)
    named: dict[int, float] = field(default_factory=dict)  # file id -> share of a path mention
    named_dirs: list[str] = field(default_factory=list)
    frames: dict[int, float] = field(default_factory=dict)
    frame_last: dict[int, float] = field(default_factory=dict)
    modules: dict[int, float] = field(default_factory=dict)
    code_imports: dict[int, float] = field(default_factory=dict)
    def_prose: dict[int, float] = field(default_factory=dict)
    def_code: dict[int, float] = field(default_factory=dict)
    uses: dict[int, float] = field(default_factory=dict)
    # the same definitions, each name weighted by how few files use it (Resolver.specificity)
    def_prose_spec: dict[int, float] = field(default_factory=dict)
    def_code_spec: dict[int, float] = field(default_factory=dict)
    routes: dict[int, list[str]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    # the prose's words as written, lower-cased ("inspectdb", "autodetector", "number_format"): a
    # word that is a file's own name ("the autodetector") points at that file
    prose_names: frozenset[str] = frozenset()
    mentions_tests: bool = False
    # for reasons: file id -> names it defines / uses, as the prompt wrote them
    defines: dict[int, list[str]] = field(default_factory=dict)
    used: dict[int, list[str]] = field(default_factory=dict)
    frame_lines: dict[int, int] = field(default_factory=dict)

    @property
    def explicit(self) -> set[int]:
        out: set[int] = set()
        for d in (self.named, self.frames, self.modules, self.code_imports, self.def_prose, self.def_code, self.routes):
            out.update(d)
        return out


@dataclass
class Ranked:
    path: str
    score: float  # the model's raw score
    probability: float  # softmax over the candidates
    features: dict[str, float]
    named: bool


def add(d: dict[int, float], key: int, value: float) -> None:
    d[key] = d.get(key, 0.0) + value


# Words that say a prompt speaks of a coding agent (with a kind of tooling: "the agent's hooks").
_AGENT_CUES = frozenset({
    # not "cursor": a mouse cursor has hooks too
    "agent", "subagent", "claude", "codex", "gemini", "copilot", "windsurf", "cline", "roo", "kiro",
    "aider", "opencode", "harness", "slash", "mcp",
})
_AGENT_GENERIC = frozenset({"agent"})


class Ranker:
    def __init__(self, search: RepoSearch, weights: dict[str, float] | None = None, morphology: bool = True):
        self.search = search
        self.weights = dict(weights or default_weights())
        self.morphology = morphology  # a prompt's words also match their variants (words.stem)
        n = len(search.paths)
        self._n = n
        has_symbols = np.zeros(n, dtype=bool)
        init = np.zeros(n, dtype=bool)
        for i, p in enumerate(search.paths):
            has_symbols[i] = p in search.index.symbols
            init[i] = p.endswith(("__init__.py", "/index.ts", "/index.js", "/mod.rs")) or p in ("index.ts", "index.js")
        self._memo: tuple[Query | None, dict[str, dict[str, float]]] = (None, {})
        self._noncode = ~has_symbols
        self._init = init
        self._indegree = np.log1p(search.in_degree_ids.astype(np.float32)) if n else np.zeros(0, dtype=np.float32)
        self._junk = np.asarray([bool(j) for j in search.junk], dtype=bool) if n else np.zeros(0, dtype=bool)
        self._config = np.asarray([j == "tool config" for j in search.junk], dtype=bool) if n else np.zeros(0, dtype=bool)
        # a tool config ranks when the prompt names every word of its file name ("the nest-cli config")
        self._config_stems = []
        for i in np.flatnonzero(self._config).tolist():
            stem = [w for w in split_identifier(search.paths[i].rsplit("/", 1)[-1]) if w not in ("json", "js", "ts", "yml", "yaml", "cjs", "mjs", "config", "rc")]
            if stem:
                self._config_stems.append((i, stem))

    @functools.cached_property
    def _agent_tooling(self) -> list[tuple[tuple[str, ...], tuple[str, ...], np.ndarray]]:
        """(words of the harness folder, words of the kind below it, file ids) for each group of
        agent-tooling files: (("claude",), ("hook",), the ids under .claude/hooks/)."""
        groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
        for i, j in enumerate(self.search.junk):
            if j != "agent tooling":
                continue
            found = agent_tooling(self.search.paths[i])
            if found is None:
                continue
            folder, kind = found
            # ".agents" says only "agent", a word prompts about agent products use everywhere: such a
            # folder is named by the kind of tooling below it (its skills) with an agent, not by itself
            folder_words = tuple(w for w in split_identifier(folder) if w not in _AGENT_GENERIC)
            kind_words = tuple(split_identifier(kind)) if kind and "." not in kind.lstrip(".") else ()
            groups.setdefault((folder_words, kind_words), []).append(i)
        return [(f, k, np.asarray(ids, dtype=np.int64)) for (f, k), ids in sorted(groups.items())]

    def _about_agent_tooling(self, words: set[str]) -> list[np.ndarray]:
        """The agent-tooling files a prompt is about: it says their harness folder's name ("the
        playwright cli", "the ADW"), or the kind of tooling with an agent ("the pre-tool hook of the
        agent", "the Claude Code skill", "a subagent")."""
        if "subagent" in words:
            words = words | {"agent"}
        cues = words & _AGENT_CUES
        out = []
        for folder_words, kind_words, ids in self._agent_tooling:
            # a harness's own name ("Claude Code", "Cursor") is said of the agent, not of its folder:
            # it counts as naming the folder only with the kind of tooling below it
            if folder_words and set(folder_words) - _AGENT_CUES and all(w in words for w in folder_words):
                out.append(ids)
            elif kind_words and all(w in words for w in kind_words) and cues - set(kind_words):
                out.append(ids)
        return out

    @functools.cached_property
    def _file_names(self) -> dict[str, np.ndarray]:
        """file name -> the code files that carry it: `autodetector.py`, `fields/__init__.py` (a
        package's file is named by its folder)."""
        s = self.search
        names: dict[str, list[int]] = {}
        for i, p in enumerate(s.paths):
            if self._noncode[i] or self._junk[i]:
                continue
            names.setdefault(file_stem(p), []).append(i)
        return {k: np.asarray(v, dtype=np.int64) for k, v in names.items()}

    def file_word_scores(self, q: Query) -> dict[int, float]:
        """file id -> 1 / (files with that name) for each code file whose name the prose says as a
        word: "inspectdb should generate..." points at inspectdb.py, "the autodetector" at
        autodetector.py; a name many files share (`models`, `base`) says little about any one."""
        if not q.prose_names:
            return {}
        names = self._file_names
        out: dict[int, float] = {}
        for w in sorted(q.prose_names):
            ids = names.get(w)
            if ids is None or ids.size > _FILE_WORD_MAX:
                continue
            for i in ids.tolist():
                out[i] = max(out.get(i, 0.0), 1.0 / ids.size)
        return out

    # --- lexical ----------------------------------------------------------------------------------
    def _expanded(self, words: dict[str, float]) -> dict[str, float]:
        syn = synonyms()
        out = dict(words)
        for w, q in sorted(words.items()):
            for other in sorted(syn.get(w, ())):
                out[other] = max(out.get(other, 0.0), q * _SYNONYM_DISCOUNT)
        return out

    def _query_words(self, q: Query, what: str, make: Callable[[], dict[str, float]]) -> dict[str, float]:
        """The word expansion ``what`` of query ``q``, made once for all the files explained for it
        (reason() runs per ranked file; the expansions were most of its time)."""
        memo = self._memo
        if memo[0] is not q:
            memo = self._memo = (q, {})
        words = memo[1].get(what)
        if words is None:
            words = memo[1][what] = make()
        return words

    def _with_variants(self, words: dict[str, float], fld) -> dict[str, float]:  # type: ignore[no-untyped-def]
        """The words and, a little weaker, the field's variants of them ("migrating" finds
        "migration"): prose says what code names in another form."""
        if not self.morphology:
            return words
        out = dict(words)
        for w, q in sorted(words.items()):
            for v in fld.variants(w):
                out[v] = max(out.get(v, 0.0), q * _VARIANT_DISCOUNT)
        return out

    @staticmethod
    def _normalized(scores: np.ndarray) -> np.ndarray:
        top = float(scores.max()) if scores.size else 0.0
        return scores / top if top > 0 else scores

    # --- features ---------------------------------------------------------------------------------
    def features(self, q: Query) -> tuple[np.ndarray, np.ndarray]:
        """(candidate file ids, feature matrix with one column per FEATURES entry)."""
        s = self.search
        n = self._n
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, len(FEATURES)), dtype=np.float32)
        assert s.content is not None and s.path_field is not None and s.symbol is not None
        content = self._normalized(s.content.score(self._with_variants(q.words, s.content), n)) if q.words else np.zeros(n, dtype=np.float32)
        content_code = self._normalized(s.content.score(q.code_words, n)) if q.code_words else np.zeros(n, dtype=np.float32)
        content_head = self._normalized(s.content.score(self._with_variants(q.head_words, s.content), n)) if q.head_words else np.zeros(n, dtype=np.float32)
        expanded = self._expanded(q.words) if q.words else {}
        path = self._normalized(s.path_field.score(self._with_variants(expanded, s.path_field), n)) if expanded else np.zeros(n, dtype=np.float32)
        symbol = self._normalized(s.symbol.score(self._with_variants(expanded, s.symbol), n)) if expanded else np.zeros(n, dtype=np.float32)
        message = np.zeros(n, dtype=np.float32)
        for text in q.messages:
            grams = sorted(set(message_trigrams(text)))
            if len(grams) < 2:
                continue
            hits = np.zeros(n, dtype=np.float32)
            field = s.message_field()  # built on the first prompt that needs it
            for g in grams:
                post = field.postings(g)
                if post is not None and post[0].size < max(50, n // 20):  # a trigram in every file says nothing
                    hits[post[0]] += 1.0
            np.maximum(message, hits / len(grams), out=message)
        lexical = content + 0.5 * content_code + 0.5 * content_head + path + symbol + message
        # Candidates: explicit evidence, plus the best lexical matches (never junk).
        explicit = q.explicit
        allowed = ~self._junk
        if self._config_stems:
            words = set(q.words) | set(q.head_words)
            for i, stem in self._config_stems:
                if all(w in words for w in stem):
                    allowed[i] = True
        if self._agent_tooling:
            for ids in self._about_agent_tooling(set(q.words) | set(q.head_words)):
                allowed[ids] = True
        pool = np.flatnonzero((lexical > 0) & allowed)
        if pool.size > LEXICAL_POOL:
            pool = pool[np.lexsort((pool, -lexical[pool]))[:LEXICAL_POOL]]
        named_dir_ids: set[int] = set()
        for d in q.named_dirs:
            prefix = d.rstrip("/") + "/"
            named_dir_ids.update(i for i, p in enumerate(s.paths) if p.startswith(prefix))
        keep_explicit = [i for i in explicit if allowed[i] or i in q.named or i in q.frames]
        file_word = self.file_word_scores(q)
        cands = np.asarray(sorted(set(pool.tolist()) | set(keep_explicit) | set(file_word)), dtype=np.int64)
        if cands.size == 0:
            return cands, np.zeros((0, len(FEATURES)), dtype=np.float32)
        # Graph: files one import away from the ones the prompt points at explicitly. Only the
        # candidates' values are read, so only they are looked up (a popular module has thousands
        # of importers; a dict of all of them was most of this stage).
        cl = cands.tolist()
        ncand = len(cl)
        strong: dict[int, float] = {}
        for d, w in ((q.named, 1.0), (q.frames, 1.0), (q.modules, 1.0), (q.def_prose, 0.7), (q.code_imports, 0.5)):
            for i, v in d.items():
                strong[i] = max(strong.get(i, 0.0), min(1.0, v) * w)
        graph = np.zeros(ncand, dtype=np.float64)
        for i, v in sorted(strong.items(), key=lambda kv: (-kv[1], kv[0]))[:12]:
            assert s.imports is not None and s.imported_by is not None
            near = np.concatenate((s.imports.row(i), s.imported_by.row(i)))
            near = near[near != i]
            if near.size == 0:
                continue
            at = np.searchsorted(cands, near)
            hit = at < ncand
            at, near = at[hit], near[hit]
            at = at[cands[at] == near]
            np.maximum.at(graph, at, v)
        # A tiny matrix: the explicit dicts are sparse, the lexical vectors are dense. The sparse
        # columns are filled from their few entries, not by a lookup per candidate.
        position = dict(zip(cl, range(ncand)))

        def sparse(d: dict[int, float], f: Callable[[float], float] | None = None) -> np.ndarray:
            col = np.zeros(ncand, dtype=np.float64)
            for i, v in d.items():
                j = position.get(i)
                if j is not None:
                    col[j] = v if f is None else f(v)
            return col

        def flags(ids) -> np.ndarray:  # type: ignore[no-untyped-def]
            col = np.zeros(ncand, dtype=np.float64)
            for i in ids:
                j = position.get(i)
                if j is not None:
                    col[j] = 1.0
            return col

        top_content = int(np.argmax(content)) if q.words and content.size else -1
        tests = s.is_test if not q.mentions_tests else np.zeros(n, dtype=bool)
        log1p = math.log1p
        cols = {
            "named": np.minimum(1.0, sparse(q.named)),
            "frame": np.minimum(1.0, sparse(q.frames)),
            "frame_last": np.minimum(1.0, sparse(q.frame_last)),
            "in_named_dir": flags(named_dir_ids),
            "module": np.minimum(1.0, sparse(q.modules)),
            "code_import": np.minimum(1.0, sparse(q.code_imports)),
            "def_prose": sparse(q.def_prose, log1p),
            "def_code": sparse(q.def_code, log1p),
            "uses": sparse(q.uses, log1p),
            "def_prose_spec": sparse(q.def_prose_spec, log1p),
            "def_code_spec": sparse(q.def_code_spec, log1p),
            "message": message[cands],
            "content": content[cands],
            "content_code": content_code[cands],
            "content_head": content_head[cands],
            "content_top": flags((top_content,)),
            "path": path[cands],
            "symbol": symbol[cands],
            "file_word": sparse(file_word),
            "graph": graph,
            "indegree": self._indegree[cands],
            "test": tests[cands].astype(np.float32),
            "secondary": s.is_secondary[cands].astype(np.float32),
            "init": self._init[cands].astype(np.float32),
            "noncode": self._noncode[cands].astype(np.float32),
        }
        X = np.empty((cands.size, len(FEATURES)), dtype=np.float32)
        for j, name in enumerate(FEATURES):
            X[:, j] = cols[name]
        return cands, X

    def rank(self, q: Query, k: int = 10, weights: dict[str, float] | None = None) -> list[Ranked]:
        """The best ``k`` files, best first; ties broken by path so the order never depends on
        hashing or on the order evidence was found in."""
        cands, X = self.features(q)
        if cands.size == 0:
            return []
        w = weights or self.weights
        wv = np.asarray([w.get(name, 0.0) for name in FEATURES], dtype=np.float64)
        scores = X.astype(np.float64) @ wv
        none = float(w.get(NONE, 0.0))
        top = max(float(scores.max()), none)
        probs = np.exp(scores - top)
        probs /= probs.sum() + math.exp(none - top)
        paths = self.search.paths
        if cands.size > k:
            # top-k selection: only the winners are sorted and explained
            part = np.argpartition(-scores, k - 1)[:k]
            cut = scores[part].min()
            part = np.flatnonzero(scores >= cut)
        else:
            part = np.arange(cands.size)
        order = sorted(part.tolist(), key=lambda j: (-scores[j], paths[cands[j]]))[:k]
        out = []
        for j in order:
            i = int(cands[j])
            out.append(Ranked(paths[i], float(scores[j]), float(probs[j]), {name: float(X[j, c]) for c, name in enumerate(FEATURES) if X[j, c]}, q.named.get(i, 0.0) >= 0.5 or q.frames.get(i, 0.0) >= 0.5))
        return out

    def evidence_kinds(self, r: Ranked) -> tuple[str, ...]:
        """The kinds of evidence that carry at least a tenth of the file's positive score."""
        kinds = {"named": "named", "frame": "frame", "frame_last": "frame", "module": "module", "code_import": "module",
                 "def_prose": "definition", "def_code": "definition", "def_prose_spec": "definition", "def_code_spec": "definition", "uses": "use", "message": "message", "content": "content",
                 "content_code": "content", "content_head": "content", "content_top": "content", "path": "path", "file_word": "path", "symbol": "symbol",
                 "graph": "graph", "in_named_dir": "named"}
        parts: dict[str, float] = {}
        for name, value in r.features.items():
            if name in kinds:
                parts[kinds[name]] = parts.get(kinds[name], 0.0) + self.weights.get(name, 0.0) * value
        total = sum(v for v in parts.values() if v > 0)
        return tuple(sorted(k for k, v in parts.items() if v > 0 and v >= 0.1 * total))

    # Evidence that points at a file by itself: a name, a frame, a module, a definition, a message,
    # the import graph. Without any, a file stands on the prompt's words alone.
    _POINTING = frozenset({"named", "frame", "frame_last", "in_named_dir", "module", "code_import", "def_prose", "def_code",
                           "uses", "def_prose_spec", "def_code_spec", "message", "file_word", "graph"})

    def points_at(self, r: Ranked) -> bool:
        """Whether evidence other than shared words points at the file."""
        return any(r.features.get(name) for name in self._POINTING)

    def word_support(self, q: Query, r: Ranked) -> int | None:
        """How many distinct words of the prompt the file's content and definition names match,
        when those words are all it has (None when anything else points at it, its own path's
        words included: `nuxt.config.ts` for "upgrade nuxt"). A single word in the code ('first',
        'android', 'doc') is a coincidence, not a reason: on the real chat prompts 30 of the 32
        files suggested on one content word alone were wrong."""
        if self.points_at(r):
            return None
        s = self.search
        i = s.path_id[r.path]

        def matched(words: dict[str, float], fld, name: str) -> list[str]:  # type: ignore[no-untyped-def]
            rows = self._query_words(q, "rows:" + name, lambda: self._posting_rows(words, fld))  # type: ignore[arg-type, return-value]
            out = []
            for word, docs, _vals, _idf, _weight in rows:  # type: ignore[misc]
                k = int(np.searchsorted(docs, i))
                if k < docs.size and docs[k] == i:
                    out.append(word)
            return out

        expanded = self._query_words(q, "expanded", lambda: self._expanded(q.words))
        if s.path_field is not None and matched(expanded, s.path_field, "expanded/path"):
            return None
        content_words = self._query_words(q, "content", lambda: self._with_variants(merge_words(q.words, q.head_words), s.content))
        found = set(matched(content_words, s.content, "content")) if s.content is not None else set()
        if s.symbol is not None:
            declared = matched(expanded, s.symbol, "expanded/symbol")
            # a word few files declare a name with ('signup': `SignupBody`) points at them
            if any(s.symbol.df(w) <= _RARE_DECLARED for w in declared):
                return None
            found.update(declared)
        # a prompt word and its variants ('caching': 'cache', 'cached') are one word
        return len({stem(w)[:_SAME_WORD_PREFIX] for w in found})

    def reason(self, q: Query, r: Ranked) -> str:
        """Why this file: the evidence that carried its score, strongest first, in words."""
        s = self.search
        i = s.path_id[r.path]
        w = self.weights
        f = r.features
        parts: list[tuple[float, str]] = []

        def weight(*names: str) -> float:
            return sum(w.get(n, 0.0) * f.get(n, 0.0) for n in names)

        if i in q.named:
            parts.append((weight("named") + 100, "named in the prompt"))
        if i in q.frames:
            line = q.frame_lines.get(i)
            parts.append((weight("frame", "frame_last") + 50, "in the traceback" + (f" (line {line})" if line else "")))
        if i in q.modules:
            parts.append((weight("module") + 40, "the module the prompt names"))
        if i in q.code_imports:
            parts.append((weight("code_import"), "imported by the prompt's code"))
        if q.defines.get(i):
            names = list(dict.fromkeys(q.defines[i]))[:3]
            parts.append((weight("def_prose", "def_code", "def_prose_spec", "def_code_spec"), "defines " + ", ".join(f"`{n}`" for n in names)))
        if i in q.routes:
            parts.append((30.0, "serves " + ", ".join(dict.fromkeys(q.routes[i]))))
        if f.get("message"):
            parts.append((weight("message"), "has the error message's text"))
        if q.used.get(i) and not q.defines.get(i):
            names = list(dict.fromkeys(q.used[i]))[:3]
            parts.append((weight("uses"), "uses " + ", ".join(f"`{n}`" for n in names)))
        lexical = weight("content", "content_code", "content_head", "content_top")
        if lexical > 0 and (f.get("content") or f.get("content_head")):
            words = self._matched_words(i, self._query_words(q, "content", lambda: self._with_variants(merge_words(q.words, q.head_words), s.content)), s.content, rows_of=(q, "content"))
            if words:
                parts.append((lexical, "its code mentions " + ", ".join(f"'{x}'" for x in words)))
        if f.get("file_word"):
            parts.append((weight("file_word"), f"the prompt says its name, '{file_stem(r.path)}'"))
        naming = weight("path", "symbol")
        if naming > 0 and (f.get("path") or f.get("symbol")):
            expanded = self._query_words(q, "expanded", lambda: self._expanded(q.words))
            shown = self._matched_words(i, expanded, s.path_field, direct=q.words, rows_of=(q, "expanded/path"))
            if shown:
                parts.append((naming, "its path matches " + ", ".join(shown)))
            else:
                shown = self._matched_words(i, expanded, s.symbol, direct=q.words, rows_of=(q, "expanded/symbol"))
                if shown:
                    parts.append((naming, "its definitions match " + ", ".join(shown)))
        if f.get("graph"):
            parts.append((weight("graph"), "imports or is imported by a file the prompt points at"))
        parts.sort(key=lambda p: -p[0])
        return "; ".join(text for _, text in parts[:3]) or "related"

    def _posting_rows(self, words: dict[str, float], fld) -> list[tuple[str, np.ndarray, np.ndarray, float, float]]:  # type: ignore[no-untyped-def]
        """(word, docs, weights, idf, query weight) of the words the field has, in word order; a
        long prompt keeps only its 40 strongest words (only they can be the ones shown)."""
        if len(words) > 40:
            words = dict(sorted(words.items(), key=lambda wv: (-wv[1] * fld.idf(wv[0]), wv[0]))[:40])
        rows = []
        for word in sorted(words):
            post = fld.postings(word)
            if post is not None:
                rows.append((word, post[0], post[1], fld.idf(word), words[word]))
        return rows

    def _matched_words(self, i: int, words: dict[str, float], fld, direct: dict[str, float] | None = None,  # type: ignore[no-untyped-def]
                       rows_of: tuple[Query, str] | None = None) -> list[str]:
        """The three query words that weigh most in file ``i``'s postings. ``rows_of`` (query,
        name): the words' postings are looked up once per query, not once per file explained."""
        if rows_of is not None:
            rows = self._query_words(rows_of[0], "rows:" + rows_of[1], lambda: self._posting_rows(words, fld))  # type: ignore[arg-type, return-value]
        else:
            rows = self._posting_rows(words, fld)
        scored = []
        syn = synonyms()
        for word, docs, vals, idf, weight in rows:
            k = int(np.searchsorted(docs, i))
            if k < docs.size and docs[k] == i:
                scored.append((-float(vals[k]) * idf * weight, word))
        scored.sort()
        out = []
        for _, word in scored[:3]:
            if direct is not None and word not in direct:
                fors = sorted(w for w in direct if word in syn.get(w, ()))[:2]
                out.append(f"'{word}'" + (" (for " + ", ".join(f"'{x}'" for x in fors) + ")" if fors else ""))
            else:
                out.append(word if direct is None else f"'{word}'")
        return out


def weights_vector(weights: dict[str, float]) -> np.ndarray:
    return np.asarray([weights.get(name, 0.0) for name in FEATURES], dtype=np.float64)


def ablated(weights: dict[str, float], drop: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> dict[str, float]:
    """Weights with some features switched off (``drop``) or all but some (``only``)."""
    out = dict(weights)
    for name in FEATURES:
        if name in drop or (only and name not in only):
            out[name] = 0.0
    return out


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def file_stem(path: str) -> str:
    """A code file's own name, lower-cased: `django/db/migrations/autodetector.py` -> "autodetector";
    a package's `__init__.py` (`index.ts`, `mod.rs`) is named by its folder."""
    base = path.rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0].lower()
    if stem in ("__init__", "index", "mod") and "/" in path:
        stem = path.rsplit("/", 2)[-2].lower()
    return stem


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


_PHRASE_SEP = re.compile(r"[ \t]+")


def prose_names(text: str) -> frozenset[str]:
    """The words of prose as written (identifiers whole), lower-cased, three letters or more, no
    stopwords: what can be a file's own name. Two or three words in a row are a name too, joined
    the ways file names join them: "the query runner" names QueryRunner.ts ("queryrunner"),
    query_runner.py and query-runner.ts."""
    names = {t for t in (m.lower() for m in _NAME.findall(text)) if len(t) >= 3 and t not in STOPWORDS}
    tokens = list(_NAME.finditer(text))
    for i in range(len(tokens)):
        run = [tokens[i].group().lower()]
        for j in range(i + 1, min(i + 3, len(tokens))):
            if not _PHRASE_SEP.fullmatch(text[tokens[j - 1].end() : tokens[j].start()]):
                break
            run.append(tokens[j].group().lower())
            if any(w in STOPWORDS or len(w) < 2 for w in run):
                break
            for sep in ("", "_", "-"):
                names.add(sep.join(run))
    return frozenset(names)


def text_words(text: str, weight: float = 1.0) -> dict[str, float]:
    """The words of a text for lexical search: identifiers split, singular, no stopwords; a word
    repeated counts a little more (1 + log of its count)."""
    counts: dict[str, int] = {}
    for token in _WORD.findall(text):
        for w in split_identifier(token):
            if len(w) > 2 and w not in STOPWORDS:
                counts[w] = counts.get(w, 0) + 1
    return {w: weight * (1.0 + math.log(c)) for w, c in counts.items()}


def merge_words(*parts: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for d in parts:
        for w, v in d.items():
            out[w] = max(out.get(w, 0.0), v)
    return out


def feature_table(ranker: Ranker, q: Query) -> tuple[list[str], Any]:
    """(candidate paths, feature matrix): what the bench dumps for fitting the weights."""
    cands, X = ranker.features(q)
    return [ranker.search.paths[i] for i in cands.tolist()], X
