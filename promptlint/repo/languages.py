"""Languages, their tree-sitter grammars (individual wheels, offline) and our tag queries.

Grammars and compiled queries are loaded once per process, on first use: compiling a query costs
3-10 ms, which aider pays per file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

QUERY_DIR = Path(__file__).resolve().parent / "queries"

EXTENSIONS = {
    ".py": "python", ".pyi": "python",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
}


def _python() -> Any:
    import tree_sitter_python

    return tree_sitter_python.language()


def _typescript() -> Any:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_typescript()


def _tsx() -> Any:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_tsx()


def _javascript() -> Any:
    import tree_sitter_javascript

    return tree_sitter_javascript.language()


def _rust() -> Any:
    import tree_sitter_rust

    return tree_sitter_rust.language()


def _go() -> Any:
    import tree_sitter_go

    return tree_sitter_go.language()


def _java() -> Any:
    import tree_sitter_java

    return tree_sitter_java.language()


_GRAMMARS: dict[str, tuple[Callable[[], Any], str]] = {
    "python": (_python, "python.scm"),
    "typescript": (_typescript, "typescript.scm"),
    "tsx": (_tsx, "typescript.scm"),
    "javascript": (_javascript, "javascript.scm"),
    "rust": (_rust, "rust.scm"),
    "go": (_go, "go.scm"),
    "java": (_java, "java.scm"),
}


@dataclass
class Toolkit:
    language: Any
    parser: Any
    query: Any


_lock = threading.Lock()
_toolkits: dict[str, Toolkit | None] = {}


def language_of(path: str) -> str | None:
    dot = path.rfind(".")
    return EXTENSIONS.get(path[dot:].lower()) if dot >= 0 else None


def toolkit(name: str) -> Toolkit | None:
    """Parser and compiled query for a language, or None when its grammar is not installed."""
    with _lock:
        if name not in _toolkits:
            _toolkits[name] = _load(name)
        return _toolkits[name]


def _load(name: str) -> Toolkit | None:
    from tree_sitter import Language, Parser, Query

    loader, query_file = _GRAMMARS[name]
    try:
        language = Language(loader())
    except ImportError:
        return None
    query = Query(language, (QUERY_DIR / query_file).read_text(encoding="utf-8"))
    return Toolkit(language=language, parser=Parser(language), query=query)
