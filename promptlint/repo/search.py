"""Derived lookup structures over a RepoIndex: word postings with IDF, definitions, references,
routes and a cheap import graph. Built once per index and reused for every prompt."""

from __future__ import annotations

import math
import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from .index import RepoIndex
from .words import split_identifier

# How much a word found in each part of a file counts (the best part wins).
FIELD_WEIGHTS = {"stem": 1.0, "dir": 0.6, "def": 0.8, "member": 0.5, "route": 0.8, "doc": 0.25}
_TYPE_KINDS = {"class", "struct", "interface", "trait", "enum", "type", "module", "function", "macro"}
_TEST_PATH = re.compile(r"(^|/)(tests?|__tests__|specs?|testing)/|(^|/)test_[^/]*$|_test\.\w+$|\.(test|spec)\.\w+$|(^|/)conftest\.py$")
# Docs, examples and generated migrations ("app/migrations/0003_auto.py", not a migrations package).
_SECONDARY_PATH = re.compile(r"(^|/)(docs?|examples?|samples?|fixtures?|benchmarks?|scripts)/|(^|/)migrations/\d{4}_[^/]*$")


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


def is_secondary_path(path: str) -> bool:
    return bool(_SECONDARY_PATH.search(path))


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


@dataclass
class RepoSearch:
    index: RepoIndex
    postings: dict[str, dict[str, tuple[float, str]]] = field(default_factory=dict)  # word -> path -> (weight, field)
    defs_by_name: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)  # name -> (path, kind, line)
    defs_by_lower: dict[str, list[str]] = field(default_factory=dict)  # lower name -> names
    routes: list[tuple[str, str, tuple[str, ...], str, int]] = field(default_factory=list)  # (path, method, segments, raw, line)
    basenames: dict[str, list[str]] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, index: RepoIndex) -> "RepoSearch":
        s = cls(index=index)
        postings: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)

        def post(word: str, path: str, weight: float, field_name: str) -> None:
            current = postings[word].get(path)
            if current is None or current[0] < weight:
                postings[word][path] = (weight, field_name)

        for path in index.files:
            stem_part = posixpath.basename(path)
            s.basenames.setdefault(stem_part.lower(), []).append(path)
            directory = posixpath.dirname(path)
            while directory:
                s.dirs.add(directory)
                directory = posixpath.dirname(directory)
            for w in split_identifier(stem_part.rsplit(".", 1)[0] if "." in stem_part else stem_part):
                post(w, path, FIELD_WEIGHTS["stem"], "stem")
            for w in split_identifier(posixpath.dirname(path)):
                post(w, path, FIELD_WEIGHTS["dir"], "dir")
        for path, syms in index.symbols.items():
            for name, kind, line in syms.defs:
                s.defs_by_name.setdefault(name, []).append((path, kind, line))
                weight = FIELD_WEIGHTS["def"] if kind in _TYPE_KINDS else FIELD_WEIGHTS["member"]
                for w in split_identifier(name):
                    post(w, path, weight, "def")
            for method, raw, line in syms.routes:
                segments = normalize_route(raw)
                s.routes.append((path, method, segments, raw, line))
                for seg in segments:
                    for w in split_identifier(seg):
                        post(w, path, FIELD_WEIGHTS["route"], "route")
            if syms.doc:
                for w in set(split_identifier(syms.doc[:2000])):
                    post(w, path, FIELD_WEIGHTS["doc"], "doc")
        for name in s.defs_by_name:
            s.defs_by_lower.setdefault(name.lower(), []).append(name)
        s.postings = dict(postings)
        return s

    @cached_property
    def file_count(self) -> int:
        return max(1, len(self.index.files))

    def idf(self, word: str) -> float:
        df = len(self.postings.get(word, ()))
        return math.log((self.file_count + 1) / (df + 0.5)) if df else 0.0

    @cached_property
    def refs_by_name(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for path, syms in self.index.symbols.items():
            for name in syms.refs:
                out[name].add(path)
        return dict(out)

    @cached_property
    def in_degree(self) -> dict[str, int]:
        """How many files import each file: a cheap centrality, as in aider's repo map."""
        files = self.index.files
        modules: dict[str, str] = {}
        for path in files:
            if path.endswith(".py"):
                mod = path[:-3].replace("/", ".")
                if mod.endswith(".__init__"):
                    mod = mod[: -len(".__init__")]
                modules[mod] = path
                if mod.startswith("src."):
                    modules[mod[4:]] = path
        degree: dict[str, int] = defaultdict(int)
        for path, syms in self.index.symbols.items():
            targets = set()
            for imp in syms.imports:
                target = self._resolve_import(path, imp, syms.lang, modules)
                if target and target != path:
                    targets.add(target)
            for t in targets:
                degree[t] += 1
        return dict(degree)

    @cached_property
    def _suffix_map(self) -> dict[str, str]:
        """Path suffixes of Java files ("com/x/Foo.java") and of Go package folders ("pkg/db/")."""
        out: dict[str, str] = {}
        for path in self.index.files:
            if path.endswith(".java"):
                parts = path.split("/")
                for k in range(1, len(parts) + 1):
                    out.setdefault("/".join(parts[-k:]), path)
            elif path.endswith(".go"):
                parts = posixpath.dirname(path).split("/")
                for k in (1, 2):
                    if len(parts) >= k and parts[0]:
                        out.setdefault("/".join(parts[-k:]) + "/", path)
        return out

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
                src = "src"
                for k in range(len(parts), 0, -1):
                    stem = "/".join(parts[:k])
                    for candidate in (f"{src}/{stem}.rs", f"{src}/{stem}/mod.rs"):
                        if candidate in files:
                            return candidate
            return None
        if lang == "java":
            return self._suffix_map.get(imp.replace(".", "/") + ".java")
        if lang == "go":
            parts = imp.strip('"').split("/")
            return self._suffix_map.get("/".join(parts[-2:]) + "/") or self._suffix_map.get(parts[-1] + "/")
        return None
