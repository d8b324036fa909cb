"""Resolve what a prompt mentions (paths, modules, identifiers, traceback frames, routes, plain noun
phrases) to files that exist in the repository, and rank the files the prompt is about.

Every path this module returns is a key of the index: it exists. Nothing is ever invented.
"""

from __future__ import annotations

import difflib
import math
import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..resources import lexicon
from .search import RepoSearch, is_secondary_path, is_test_path, normalize_route
from .words import singular, split_identifier, synonyms

if TYPE_CHECKING:  # pragma: no cover
    from ..text.analysis import Analysis

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_INLINE_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.(?:py|pyi|ts|tsx|js|jsx|mjs|cjs|rs|go|java|kt|rb|php|c|h|cc|cpp|hpp|cs|swift|scala|md|toml|json|ya?ml|sql|html|css|vue|svelte))(?::(\d+))?")
_SYNONYM_DISCOUNT = 0.6
_TEST_PENALTY = 0.55
_SECONDARY_PENALTY = 0.75
MIN_SCORE = 0.2  # below this a file is not worth suggesting


@dataclass
class Reference:
    path: str
    score: float
    reason: str
    symbol: str | None = None
    line: int | None = None

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

    @property
    def exists(self) -> bool:
        return bool(self.paths or self.defined_in)


@dataclass
class Resolution:
    references: list[Reference] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    ranked: list[tuple[str, float]] = field(default_factory=list)  # every scored file, best first (raw scores)
    query_words: dict[str, float] = field(default_factory=dict)
    mentions_tests: bool = False

    @property
    def named_existing(self) -> list[Mention]:
        return [m for m in self.mentions if m.exists]


def _squash(raw: float) -> float:
    return raw / (raw + 3.0)


class Resolver:
    def __init__(self, search: RepoSearch):
        self.search = search
        self.files = search.index.files
        self._memo: dict[tuple[str, str], tuple[list[str], list[str], list[str]]] = {}

    # --- explicit mentions ------------------------------------------------------------------------
    def resolve_path(self, text: str) -> tuple[list[str], list[str]]:
        """(existing files it names, did-you-mean suggestions)."""
        p = text.strip().strip("`'\"").replace("\\", "/")
        p = re.sub(r":\d+(?::\d+)?$", "", p)
        p = re.sub(r"^\./", "", p).rstrip("/")
        if not p or p in (".", ".."):
            return [], []
        if p in self.files:
            return [p], []
        if p in self.search.dirs:
            return [f for f in self.files if f.startswith(p + "/")][:1] or [p], []
        parts = [x for x in p.split("/") if x and x != ".."]
        # An absolute or foreign prefix (a traceback from another machine): try shorter suffixes.
        for k in range(len(parts), 0, -1):
            suffix = "/".join(parts[-k:])
            if k == 1:
                hits = self.search.basenames.get(suffix.lower(), [])
            else:
                hits = [f for f in self.files if f == suffix or f.endswith("/" + suffix)]
                if not hits and suffix in self.search.dirs:
                    return [suffix], []
            if hits:
                return sorted(hits, key=lambda f: (is_test_path(f), len(f)))[:5], []
            if k <= 2 and len(parts) > 2:
                break
        return [], self._did_you_mean_path(p)

    def _did_you_mean_path(self, p: str) -> list[str]:
        base = posixpath.basename(p).lower()
        names = difflib.get_close_matches(base, list(self.search.basenames), n=3, cutoff=0.75)
        out = [f for n in names for f in self.search.basenames[n]]
        full = difflib.get_close_matches(p, list(self.files), n=3, cutoff=0.8)
        ranked = sorted(dict.fromkeys(full + out), key=lambda f: -difflib.SequenceMatcher(None, p, f).ratio())
        return ranked[:3]

    def resolve_identifier(self, name: str) -> tuple[list[str], list[str], list[str]]:
        """(defining files, referencing files, did-you-mean names)."""
        name = name.strip("`").rstrip("()").split("::")[-1]
        defs = self.search.defs_by_name.get(name)
        if not defs:
            lowered = self.search.defs_by_lower.get(name.lower(), [])
            defs = [d for n in lowered for d in self.search.defs_by_name[n]]
        defining = sorted({d[0] for d in defs or []}, key=lambda f: (is_test_path(f), f))
        users = sorted(self.search.refs_by_name.get(name, set()) - set(defining))
        if defining or users:
            return defining, users, []
        close = difflib.get_close_matches(name, list(self.search.defs_by_name), n=3, cutoff=0.8)
        return [], [], close

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

    def mentions(self, analysis: "Analysis") -> list[Mention]:
        out: list[Mention] = []
        for span in analysis.code_spans:
            kind, text = span.kind, span.inner
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
                m = _FRAME.search(text)
                if m:
                    out.append(Mention(m.group(1), "frame", span.start, span.end, line=int(m.group(2))))
                continue
            if kind == "backtick":
                inner = text.strip()
                if re.fullmatch(r"(?:GET|POST|PUT|PATCH|DELETE)\s+/\S*", inner):
                    kind = "route"
                elif "/" in inner and " " not in inner and not inner.startswith("/") or _INLINE_PATH.fullmatch(inner):
                    kind = "path"
                elif re.fullmatch(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*(\(\))?", inner) and not _INLINE_PATH.fullmatch(inner):
                    kind = "module"
                elif re.fullmatch(r"[A-Za-z_][\w:]*(\(\))?", inner):
                    kind = "identifier"
                else:
                    # Code with spaces ("`npm test`"): its identifiers still point somewhere.
                    continue
                text = inner
            if kind in ("call", "rust-path"):
                kind = "identifier"
            if kind in ("path", "module", "identifier", "route"):
                out.append(Mention(text, kind, span.start, span.end))
        for m in out:
            self._resolve_mention(m)
        return out

    def _resolve_mention(self, m: Mention) -> None:
        # A long prompt repeats its paths and names: resolve each distinct one once.
        key = (m.kind, m.text)
        cached = self._memo.get(key)
        if cached is None:
            self._resolve_fresh(m)
            self._memo[key] = (m.paths, m.defined_in, m.suggestions)
        else:
            m.paths, m.defined_in, m.suggestions = (list(x) for x in cached)

    def _resolve_fresh(self, m: Mention) -> None:
        if m.kind in ("path", "frame"):
            m.paths, m.suggestions = self.resolve_path(m.text)
        elif m.kind == "route":
            hits = self.resolve_route(m.text)
            m.paths = list(dict.fromkeys(h[0] for h in hits))
        elif m.kind == "module":
            text = m.text.rstrip("()")
            as_path = text.replace(".", "/")
            for candidate in (as_path + ".py", as_path + "/__init__.py"):
                paths, _ = self.resolve_path(candidate)
                if paths and (candidate in self.files or any(p.endswith(candidate) for p in paths)):
                    m.paths = paths
                    return
            # `module.Symbol` or `obj.method`: the last part may be a definition.
            defining, users, close = self.resolve_identifier(text.rsplit(".", 1)[-1])
            m.defined_in, m.paths = defining, defining or users[:5]
            m.suggestions = close
        else:
            defining, users, close = self.resolve_identifier(m.text)
            m.defined_in, m.paths, m.suggestions = defining, defining or users[:5], close

    # --- ranking ----------------------------------------------------------------------------------
    def query_words(self, analysis: "Analysis") -> dict[str, float]:
        """Content words of the prompt, weighted: words in code-thing noun phrases count double."""
        lex = lexicon()
        skip = set(lex["generic-objects"]["words"]) | {"bug", "issue", "problem", "error", "fix", "change", "way", "thing", "code", "file", "function", "method", "class", "work", "new", "add"}
        verb_tokens = {t.token for t in analysis.task_verbs}
        in_np = set()
        for np_ in analysis.noun_phrases:
            for tok in analysis.doc.char_span(np_.start, np_.end, alignment_mode="expand") or []:
                in_np.add(tok.i)
        words: dict[str, float] = defaultdict(float)
        code = analysis.code_token_ids
        for tok in analysis.doc:
            if tok.i in code or tok.i in verb_tokens or not tok.is_alpha or tok.is_stop or len(tok.text) < 3:
                continue
            w = singular(tok.lemma_.lower())
            if w in skip:
                continue
            words[w] = max(words[w], 1.0 if tok.i in in_np else 0.6)
        # Identifiers and paths in code spans add their words too ("`rate_limiter`" -> rate, limiter).
        for span in analysis.code_spans:
            if span.kind in ("url", "fenced", "traceback"):
                continue
            for w in split_identifier(span.inner):
                if w not in skip and len(w) > 2:
                    words[w] = max(words[w], 0.8)
        return dict(words)

    def rank(self, words: dict[str, float], mentions: list[Mention], mentions_tests: bool) -> list[tuple[str, float, dict[str, Any]]]:
        search = self.search
        scores: dict[str, float] = defaultdict(float)
        evidence: dict[str, dict[str, Any]] = defaultdict(lambda: {"words": [], "defines": [], "uses": [], "named": False, "routes": []})
        syn = synonyms()
        for word, qweight in words.items():
            idf = search.idf(word)
            best: dict[str, tuple[float, str, str]] = {}
            for path, (weight, fname) in search.postings.get(word, {}).items():
                best[path] = (idf * qweight * weight, fname, word)
            for other in syn.get(word, ()):
                oidf = min(search.idf(other), idf) if idf else search.idf(other)
                for path, (weight, fname) in search.postings.get(other, {}).items():
                    value = oidf * qweight * weight * _SYNONYM_DISCOUNT
                    if value > best.get(path, (0.0, "", ""))[0]:
                        best[path] = (value, fname, other)
            for path, (value, fname, matched) in best.items():
                scores[path] += value
                evidence[path]["words"].append((value, word, fname, matched))
        for m in mentions:
            if m.kind in ("path", "frame") and m.paths:
                for p in m.paths[:3]:
                    if p in self.files:
                        scores[p] += 12.0 / len(m.paths[:3])
                        evidence[p]["named"] = True
            elif m.kind == "route":
                for p in m.paths:
                    scores[p] += 6.0
                    evidence[p]["routes"].append(m.text)
            elif m.kind in ("identifier", "module"):
                rarity = 1.0 / max(1, len(m.defined_in))
                for p in m.defined_in[:10]:
                    scores[p] += 6.0 * max(rarity, 0.3)
                    evidence[p]["defines"].append(m.text.strip("`").rstrip("()"))
                if not m.defined_in:
                    users = m.paths[:10]
                    for p in users:
                        scores[p] += 1.5 / math.sqrt(len(users))
                        evidence[p]["uses"].append(m.text)
        indeg = search.in_degree
        ranked = []
        for path, raw in scores.items():
            if path not in self.files:
                continue
            value = raw * (1 + 0.08 * math.log1p(indeg.get(path, 0)))
            if not evidence[path]["named"]:
                if is_test_path(path) and not mentions_tests:
                    value *= _TEST_PENALTY
                elif is_secondary_path(path):
                    value *= _SECONDARY_PENALTY
            ranked.append((path, value, evidence[path]))
        ranked.sort(key=lambda r: (-r[1], r[0]))
        return ranked

    def reason(self, path: str, ev: dict[str, Any]) -> tuple[str, str | None, int | None]:
        """A human reason, and the symbol and line that best show it."""
        syms = self.search.index.symbols.get(path)
        parts = []
        symbol, line = None, None
        if ev["named"]:
            parts.append("named in the prompt")
        if ev["defines"]:
            names = list(dict.fromkeys(ev["defines"]))[:3]
            parts.append("defines " + ", ".join(f"`{n}`" for n in names))
            if syms:
                for name, _kind, ln in syms.defs:
                    if name == names[0]:
                        symbol, line = name, ln
                        break
        if ev["routes"]:
            parts.append("serves " + ", ".join(dict.fromkeys(ev["routes"])))
        if ev["uses"]:
            parts.append("uses " + ", ".join(f"`{u}`" for u in list(dict.fromkeys(ev["uses"]))[:3]))
        words = sorted(ev["words"], reverse=True)
        if words:
            # "name 'schema' (for 'table', 'database')": what matched, and which prompt words it stands for.
            groups: dict[tuple[str, str], list[str]] = {}
            for _value, query_word, fname, matched in words[:5]:
                where = {"stem": "name", "dir": "folder", "def": "definitions", "member": "definitions", "route": "routes", "doc": "docs"}[fname]
                groups.setdefault((where, matched), [])
                if query_word != matched and query_word not in groups[(where, matched)]:
                    groups[(where, matched)].append(query_word)
            shown = [f"{where} '{matched}'" + (" (for " + ", ".join(f"'{q}'" for q in fors) + ")" if fors else "") for (where, matched), fors in list(groups.items())[:3]]
            parts.append("matches " + ", ".join(shown))
        if syms and symbol is None and syms.defs:
            kinds = [d for d in syms.defs if d[1] in ("class", "struct", "interface", "trait", "enum", "type", "function", "constant")]
            shown = kinds[:3] or syms.defs[:3]
            symbol, line = shown[0][0], shown[0][2]
            parts.append("has " + ", ".join(f"`{d[0]}`" for d in shown))
        return "; ".join(parts) or "related", symbol, line

    def resolve(self, analysis: "Analysis", limit: int = 10) -> Resolution:
        mentions = self.mentions(analysis)
        words = self.query_words(analysis)
        mentions_tests = any(w in ("test", "spec") for w in words) or any(is_test_path(p) for m in mentions for p in m.paths)
        ranked = self.rank(words, mentions, mentions_tests)
        res = Resolution(mentions=mentions, query_words=words, mentions_tests=mentions_tests)
        res.ranked = [(p, v) for p, v, _ in ranked]
        for path, value, ev in ranked[:limit]:
            score = 1.0 if ev["named"] else _squash(value)
            if score < MIN_SCORE:
                break
            reason, symbol, line = self.reason(path, ev)
            res.references.append(Reference(path=path, score=score, reason=reason, symbol=symbol, line=line))
        return res
