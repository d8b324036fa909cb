"""Code-like spans in a prompt, found with regular expressions (no spaCy needed).

Code spans are concrete by nature: rules treat a task whose object is a code span as specific,
wording rules never fire inside one, and the repository scan resolves them to files.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# Extensions that make a bare word a file name ("schema.ts", "Cargo.toml").
FILE_EXTENSIONS = (
    "py pyi ts tsx js jsx mjs cjs rs go java kt kts scala rb php cs c h cc cpp hpp swift m mm "
    "md mdx rst txt toml json jsonc yaml yml ini cfg conf env sql sh bash zsh ps1 bat html htm css "
    "scss sass less vue svelte astro graphql gql proto xml gradle lock dockerfile tf hcl ipynb csv prompt"
).split()
_EXT = "|".join(sorted(FILE_EXTENSIONS, key=len, reverse=True))
# Top-level folders that make "src/db" a path even without an extension or a second slash.
_PATH_ROOTS = (
    "src lib app apps pkg pkgs cmd internal test tests spec specs docs scripts packages crates "
    "components pages api routes config migrations public bench examples fixtures tools"
).split()
# Dotted or slashed words that are prose, not code.
_NOT_CODE = {"e.g", "i.e", "a.k.a", "and/or", "w/o", "n/a", "i/o", "node.js", "vue.js", "next.js", "nuxt.js"}

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("fenced", re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)),
    (
        "traceback",
        re.compile(
            r"^[ \t]*Traceback \(most recent call last\):[^\n]*\n(?:[ \t]+[^\n]*\n?|[A-Za-z_.]+(?:Error|Exception|Exit|Interrupt)\b[^\n]*\n?)+",
            re.M,
        ),
    ),
    ("frame", re.compile(r'File "[^"\n]+", line \d+(?:, in [\w<>.]+)?')),
    ("backtick", re.compile(r"`[^`\n]+`")),
    ("url", re.compile(r"\bhttps?://[^\s<>()\"'`]+[^\s<>()\"'`.,;:!?]")),
    (
        "route",
        re.compile(
            r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+/[\w{}:<>.-]*(?:/[\w{}:<>.-]+)*/?"
            r"|(?<=[\"'])/[\w{}:<>-]+(?:/[\w{}:<>.-]+)*/?(?=[\"'])"
        ),
    ),
    (
        "path",
        re.compile(
            r"(?<![\w/.@-])(?:~|\.{1,2})?/?(?:[\w@.-]+/)+[\w@.-]*(?<![.,;:!?])"
            r"|(?<![\w/.@-])[\w-]+(?:\.[\w-]+)*\.(?:" + _EXT + r")\b(?![\w/-])"
            r"|(?<![\w/.@-])(?:Dockerfile|Makefile|Procfile|Gemfile|Rakefile|Justfile)\b",
            re.I,
        ),
    ),
    ("module", re.compile(r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?(?![\w])")),
    ("call", re.compile(r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*\(\)")),
    ("rust-path", re.compile(r"(?<![\w:])[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_<>]*)+")),
    ("identifier", re.compile(r"(?<![\w.])(?:[a-z_][a-z0-9]*(?:_[a-z0-9]+)+|_[a-z0-9_]+|[a-z]+[0-9]*[A-Z][A-Za-z0-9]*|[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*|[A-Z]{2,}_[A-Z0-9_]+)(?![\w])")),
]


@dataclass(frozen=True)
class CodeSpan:
    start: int
    end: int
    kind: str  # fenced | traceback | frame | backtick | url | path | route | module | call | rust-path | identifier
    text: str

    @property
    def inner(self) -> str:
        """The code itself, without backticks or fences."""
        if self.kind == "backtick":
            return self.text[1:-1].strip()
        if self.kind == "fenced":
            lines = self.text.split("\n")
            return "\n".join(lines[1:-1] if len(lines) > 2 else lines[1:])
        return self.text


def _is_path_like(token: str) -> bool:
    low = token.lower().rstrip("/")
    if low in _NOT_CODE or "://" in token:
        return False
    if token.startswith(("/", "./", "../", "~/")) or token.endswith("/"):
        return token.strip("/.~") != ""
    segments = [s for s in token.split("/") if s]
    if len(segments) >= 3:
        return True
    if re.search(r"\.(?:" + _EXT + r")$", low):
        return True
    return len(segments) == 2 and segments[0].lower() in _PATH_ROOTS


def _accept(kind: str, text: str) -> bool:
    low = text.lower()
    if low in _NOT_CODE:
        return False
    if kind == "path":
        if "/" in text or "\\" in text:
            return _is_path_like(text)
        return low not in _NOT_CODE
    if kind == "route":
        # A route needs a letter and must not be a fraction or a date ("1/2").
        body = text.split()[-1]
        return bool(re.search(r"[a-z]", body, re.I)) or body == "/"
    if kind == "module":
        parts = text.rstrip("()").split(".")
        if len(parts) == 2 and parts[0].isalpha() and parts[0].islower() and parts[1][:1].isupper() and parts[1][1:].islower():
            return False  # "one.Sentence": a missing space in prose, not a module
        # Abbreviations ("U.S.") and version-ish words are prose; a module needs real segments.
        return all(len(p) >= 2 for p in parts) and not text[0].isupper() or text.endswith("()")
    return True


def find_code_spans(text: str) -> list[CodeSpan]:
    """Non-overlapping code-like spans, earlier kinds in _PATTERNS taking precedence."""
    taken_starts: list[int] = []  # sorted, non-overlapping intervals
    taken_ends: list[int] = []
    spans: list[CodeSpan] = []

    def overlaps(start: int, end: int) -> bool:
        k = bisect.bisect_left(taken_starts, end)  # intervals starting before ``end``
        return k > 0 and taken_ends[k - 1] > start

    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.start(), m.end()
            if kind == "fenced" or kind == "traceback":
                # Leading indentation belongs to the block, trailing newline does not.
                while end > start and text[end - 1] in "\r\n":
                    end -= 1
            chunk = text[start:end]
            if not chunk.strip() or not _accept(kind, chunk) or overlaps(start, end):
                continue
            k = bisect.bisect_left(taken_starts, start)
            taken_starts.insert(k, start)
            taken_ends.insert(k, end)
            spans.append(CodeSpan(start, end, kind, chunk))
    spans.sort(key=lambda s: s.start)
    return spans
