"""Languages, their tree-sitter grammars (individual wheels, offline) and our tag queries.

Grammars and compiled queries are loaded once per process, on first use: compiling a query costs
3-10 ms, which aider pays per file.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# Code in languages we have no grammar for: still code, read lexically (its words, messages and, by
# line patterns, the types and functions it declares; see extract.extract_lexical). Without this a
# C#, Kotlin or Elixir repository had no file content at all, and the one JavaScript file in it
# (assets/js/app.js of a Phoenix app) matched every prompt on content alone.
LEXICAL_EXTENSIONS = {
    ".cs": "csharp", ".kt": "kotlin", ".kts": "kotlin", ".swift": "swift", ".scala": "scala", ".dart": "dart",
    ".rb": "ruby", ".php": "php", ".lua": "lua", ".gd": "gdscript", ".ex": "elixir", ".exs": "elixir",
    ".heex": "heex", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp",
    ".m": "objc", ".mm": "objc", ".vue": "vue", ".svelte": "svelte", ".astro": "astro", ".al": "al",
}
LEXICAL_LANGUAGES = frozenset(LEXICAL_EXTENSIONS.values())
EXTENSIONS = {**EXTENSIONS, **LEXICAL_EXTENSIONS}


# language -> (grammar module, function returning its language capsule, query file)
_GRAMMARS: dict[str, tuple[str, str, str]] = {
    "python": ("tree_sitter_python", "language", "python.scm"),
    "typescript": ("tree_sitter_typescript", "language_typescript", "typescript.scm"),
    "tsx": ("tree_sitter_typescript", "language_tsx", "typescript.scm"),
    "javascript": ("tree_sitter_javascript", "language", "javascript.scm"),
    "rust": ("tree_sitter_rust", "language", "rust.scm"),
    "go": ("tree_sitter_go", "language", "go.scm"),
    "java": ("tree_sitter_java", "language", "java.scm"),
}


@dataclass
class Toolkit:
    language: Any
    parser: Any
    query: Any


_lock = threading.Lock()
_toolkits: dict[str, Toolkit | None] = {}


# The warm server forks `check` children while its background warm-up may be loading a grammar
# under _lock (compiling a query takes a while): the child would inherit the lock held by a thread
# it does not have and wait for ever at its first parse. A forked child gets a lock of its own (a
# toolkit appears in _toolkits only once built, so what the child sees is whole).
def _new_lock_in_child() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def import_grammars() -> None:
    """Import tree_sitter and every installed grammar module (not build them: a Language and its
    query are built on first need), so that a process about to fork imports nothing later."""
    import importlib

    import tree_sitter  # noqa: F401

    for module_name in sorted({module for module, _, _ in _GRAMMARS.values()}):
        try:
            importlib.import_module(module_name)
        except ImportError:
            pass


def language_of(path: str) -> str | None:
    dot = path.rfind(".")
    return EXTENSIONS.get(path[dot:].lower()) if dot >= 0 else None


def toolkit(name: str) -> Toolkit | None:
    """Parser and compiled query for a language, or None when its grammar is not installed (or it
    has none: a lexical-only language)."""
    if name not in _GRAMMARS:
        return None
    with _lock:
        if name not in _toolkits:
            _toolkits[name] = _load(name)
        return _toolkits[name]


def _load(name: str) -> Toolkit | None:
    import importlib

    from tree_sitter import Language, Parser, Query

    module_name, function, query_file = _GRAMMARS[name]
    try:
        language = Language(getattr(importlib.import_module(module_name), function)())
    except ImportError:
        return None
    query = Query(language, (QUERY_DIR / query_file).read_text(encoding="utf-8"))
    return Toolkit(language=language, parser=Parser(language), query=query)
