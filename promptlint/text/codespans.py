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
    "scss sass less vue svelte astro graphql gql proto xml gradle lock dockerfile tf hcl ipynb csv prompt "
    "ex exs heex gd dart lua al"
).split()
_EXT = "|".join(sorted(FILE_EXTENSIONS, key=len, reverse=True))
# Top-level folders that make "src/db" a path even without an extension or a second slash.
_PATH_ROOTS = (
    "src lib app apps pkg pkgs cmd internal test tests spec specs docs scripts packages crates "
    "components pages api routes config migrations public bench examples fixtures tools"
).split()
# Dotted or slashed words that are prose, not code.
_NOT_CODE = {"e.g", "i.e", "a.k.a", "and/or", "w/o", "n/a", "i/o", "node.js", "vue.js", "next.js", "nuxt.js"}

# One line of pasted tool output: a stack frame, a compiler or linter diagnostic, a log record, a
# code frame ("> 575 |"), an exception line. A run of them (with their indented continuations) is
# a pasted log, reported as a "traceback" span so every rule treats it as output, not prose.
_LOG_LINE = re.compile(
    r"""^[ \t]*["'`]?(?:
        at\s+\S.*(?:\(|\s)\S*:\d+(?::\d+)?\)?\s*$                      # JS / Java stack frame
      | (?:[\w.~-]*[/\\])*[\w.-]+\.[A-Za-z]{1,5}:\d+(?::\d+)?\b.*         # file.ts:12:3 ...
      | \d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?\S*\s.*                  # 2025-12-26 08:06:32 ...
      | \[(?:ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL|error|warn|warning|info|debug)\].*
      | (?:ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL)\b[:\s]\s*\S.*
      | (?:error|warn|warning|info|debug):\s.*
      | (?:npm|yarn|pnpm|bun)\s+(?:ERR!|WARN|warn|error)\b.*
      | >?\s*\d{1,6}\s*\|.*                                               # code frame
      | \s*\^[\^~-]*\s*                                                     # caret marker
      | (?:[A-Z][\w.]*)?(?:Error|Exception|Warning)(?:\s*\[\w+\])?:\s.*    # TypeError: ..., Error: ...
      | (?:error|warning)(?:\[\w+\]|\s+TS\d+)?:\s.*                        # rustc / tsc diagnostics
      | Caused\ by:.* | \.\.\.\s\d+\s(?:more|common\ frames\ omitted).*
      | (?:FAIL|PASS|ERR|ERROR|FAILED)\s+\S.*
      | Exception\ in\ thread.*
      | [\u276f\u203a\u25b8\u279c]\s.*                                         # a terminal prompt or selection cursor: "❯ Update now"
      | (?:Failed\ to|Unable\ to|Could\ not|Cannot|Can't)\ \w+[^:\n]{0,60}:\s.*   # "Failed to update: Plugin not found"
      | \[[\w./:-]{2,}\]\s+\S.*                                               # [build] ..., [vite] ...
      | \S+\(\d+,\d+\)\s*:\s*(?:error|warning|fatal)\b.*                       # MSVC: file.h(46,25): error
      | (?:fatal|hint|remote|error|warning):\s.*                                 # git
      | (?:[*|\\/ ]+\s)?[0-9a-f]{7,40}\s+\S.*                                   # git log --oneline
      | (?:Uncaught\ )?(?:Type|Syntax|Reference|Runtime|Build|Compile|Fatal|Internal|Unhandled)\ ?[Ee]rror\b.*
      | (?:Failed\ to\ compile|Module\ not\ found|Cannot\ find\ module|Segmentation\ fault|panicked\ at|Import\ trace\ for|Build\ Error|Compiled\ with)\b.*
      | \.{0,2}/?[\w@.\[\]!?=-]+(?:/[\w@.\[\]!?=-]+){2,}\S*\s*                   # a bare path line
      | (?:import|export)\s+.*\bfrom\s+["'][^"']+["'];?\s*                          # pasted source lines
      | (?:const|let|var)\s+[\w{}\[\], ]+\s*=\s*\S.*
      | (?:from\s+[\w.]+\s+)?import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+)*\s*
      | (?:def|class|fn|func|function)\s+\w+\s*[(<:{].*
      | \[?\d\d:\d\d:\d\d(?:[.,]\d{1,6})?\]?(?:\s.*)?                      # 21:07:51.289 Running build ... (a build service's clock)
      | (?:\x1b)?\[\d{1,3}(?:;\d{1,3})*m.*                                        # an ANSI colour code, escape stripped or not
      | [\u2713\u2714\u2716\u2717\u2718\u00d7\u26a0\u25b2\u25cf\u25cb\u2139\u2800-\u28ff]\s.*   # status glyphs and spinners: "✓ Compiled", "✖ Error", "⠴ Finalizing" (not a person's emoji "✔️" list)
      | \?\s[A-Z][^\n?]{1,100}?[?:]\s.*                                             # a CLI question and its answer: "? Device name: ..."
      | (?:\([\w.-]+\)\s+)?[\u276f\u279c$%]\s+\S.*                                   # a shell prompt: "(base) ➜  app git:(main)", "$ npm test"
      | [\w.-]+@[\w.-]+:[~/][^\n$#]*[$#](?:\s.*)?                                   # user@host:~/app$ ...
      | (?:\#\#\[(?:error|warning|group|endgroup|debug)\]|::(?:error|warning|notice|group|endgroup)\b).*   # GitHub Actions annotations
      | (?:Step\s\d+/\d+\s:|\#\d+\s\[[\w .:/-]*\d+/\d+\]|=>\s(?:\[|ERROR|CACHED|exporting)).*   # docker build steps
      | >\s[\w@/.-]+@\d[\w.-]*\s+\S.*                                                # npm script header: "> app@0.1.0 build"
      | (?:npm|yarn|pnpm|bun)\s+(?:notice|info|verb|http|timing)\b.*
      | \[\d+/\d+\]\s.*                                                           # yarn's "[1/4] Resolving packages..."
      | (?:added|removed|changed|audited)\s\d+\spackages?\b.* | up\ to\ date\b.*\bin\s[\d.]+m?s\b.*
      | (?:Collecting|Downloading|Installing\ collected\ packages|Successfully\ (?:installed|built)|Requirement\ already\ satisfied|Building\ wheels?)\b.*   # pip
      | (?:Compiling|Finished|Downloaded|Checking)\s[\w-]+\sv\d.* | BUILD\ (?:SUCCESSFUL|FAILED)\b.* | >\ Task\ :\S+.*   # cargo, gradle
      | (?:thread\s'[^']*'\spanicked\sat|goroutine\s\d+\s\[|-->\s+\S+:\d+).*   # rust, go
      | File\s"[^"\n]+",\sline\s\d+.*                                                # a Python frame out of its traceback
      | (?:CREATE|ALTER|DROP|INSERT|SELECT|UPDATE|DELETE|WITH)\s+(?:TABLE|INDEX|UNIQUE|VIEW|INTO|FROM|SEQUENCE|DATABASE|SCHEMA|TRIGGER|TEMPORARY|OR\ REPLACE|DISTINCT|\*|["`\w]+\s+(?:SET|AS|FROM|ADD|ALTER|DROP|MODIFY|RENAME))\b.*   # SQL
    )$""",
    re.X,
)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # Blocks the agent harness writes into the user's turn (Claude Code: a background task's report,
    # a reminder, a local command's output and the caveat before it): the agent's or a tool's words,
    # not the user's.
    (
        "harness",
        re.compile(
            r"<(task-notification|system-reminder|local-command-stdout|local-command-stderr|local-command-caveat|bash-stdout|bash-stderr|user-prompt-submit-hook)>"
            r".*?(?:</\1>|\Z)"
            r"|^Caveat: The messages below were generated by the user while running local commands\.[^\n]*",
            re.S | re.M,
        ),
    ),
    ("fenced", re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)),
    (
        "traceback",
        re.compile(
            r"^[ \t]*Traceback \(most recent call last\):[^\n]*\n(?:[ \t]+[^\n]*\n?|[A-Za-z_.]+(?:Error|Exception|Exit|Interrupt)\b[^\n]*\n?)+",
            re.M,
        ),
    ),
    ("frame", re.compile(r'File "[^"\n]+", line \d+(?:, in [\w<>.]+)?')),
    # Placeholders filled in when a command or prompt file runs: $ARGUMENTS, ${input:bug}, {{name}}.
    ("template", re.compile(r"\$ARGUMENTS(?:\[\d+\])?|\$\{[A-Za-z_][\w.:-]*(?::[^}\n]*)?\}|\{\{\s*[\w.-]+\s*\}\}|\$[1-9]\b|\$[A-Z][A-Z0-9_]{2,}\b")),
    # What a chat client attached: "[Image #1]", "[Pasted text #2 +40 lines]".
    ("attachment", re.compile(r"\[(?:Image|Pasted text|Pasted image|File|Screenshot)[^\]\n]{0,40}\]", re.I)),
    # Copilot Chat's context variables that attach the terminal output, the selection, the problems list
    # or a failing test (the error the prompt is about).
    ("attachment", re.compile(r"(?<![\w#])#(?:terminalSelection|terminalLastCommand|selection|problems|testFailure)\b")),
    # Cursor's terminal and file selections: "@bash (208-252)", "@terminal (1-40)", "@app.ts (12-30)".
    ("attachment", re.compile(r"(?:(?<=[\s(,])|^)@[\w./-]+[ \t]*\(\d+-\d+\)", re.M)),
    ("backtick", re.compile(r"`[^`\n]+`")),
    ("url", re.compile(r"\bhttps?://[^\s<>()\"'`]+[^\s<>()\"'`.,;:!?]")),
    # A mention of a file (Cursor "@src/app.ts", Copilot "#file:app.ts"): the path without its marker.
    ("path", re.compile(r"(?:(?<=[\s(,\"'])|^)(?:@|#file:)(?P<inner>[\w.~-]*[/\\]?[\w.~/\\-]*\.[A-Za-z0-9]{1,8}|[\w.~-]+[/\\][\w.~/\\-]*)(?=[\s,.;:)?!]|$)", re.M)),
    # An @-mention of an agent, a person or a tool ("@critic", "@agent-web-search").
    ("mention", re.compile(r"(?:(?<=[\s(,])|^)@[A-Za-z][\w-]*(?![\w-]|://)", re.M)),
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
    # A dotted name; a part is more than underscores ("codebase.__" is a sentence closed by emphasis).
    ("module", re.compile(r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]*(?:\.(?!_+(?![A-Za-z0-9]))[A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?(?![\w])")),
    ("call", re.compile(r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*\(\)")),
    ("rust-path", re.compile(r"(?<![\w:])[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_<>]*)+")),
    # Not "__can" in "__can you fix it__": Markdown emphasis, not a dunder name.
    ("identifier", re.compile(r"(?<![\w.])(?!__[a-z0-9]+(?:\s|$))(?:[a-z_][a-z0-9]*(?:_[a-z0-9]+)+|_[a-z0-9_]+|[a-z]+[0-9]*[A-Z][A-Za-z0-9]*|[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*|[A-Z]{2,}_[A-Z0-9_]+)(?![\w])")),
]


@dataclass(frozen=True)
class CodeSpan:
    start: int
    end: int
    # fenced | traceback (a Python traceback or any pasted log) | frame | template | attachment |
    # backtick | url | marker (the "@" or "#file:" before a mentioned path) | path | mention | route |
    # module | call | rust-path | identifier
    kind: str
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


def _is_log_line(line: str) -> bool:
    # The indentation is stripped first: the pattern's own leading [ \t]* followed by the \s* of
    # several alternatives backtracked quadratically over a long run of blanks (a masked 70 kB front
    # matter line took minutes); every alternative accepts any indentation, so the answer is the same.
    return _LOG_LINE.match(line.lstrip(" \t")) is not None


_LIST_START = re.compile(r"[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t]")


def _symbolic(line: str) -> bool:
    """More punctuation than words: a line of tool output, not of prose."""
    stripped = line.strip()
    if len(stripped) < 8:
        return False
    words = re.findall(r"[A-Za-z]{2,}", stripped)
    marks = len(re.findall(r"[:@()\[\]{}=<>|\\/;$#]|---|\.{3,}", stripped))
    return marks >= 3 and marks * 2 >= len(words)


# Lines that say little alone but continue a log already started: a progress line ("Finalizing
# push...", "retrying in 530.48ms..."), an npm script's command ("> next build"), a token wrapped
# onto its own line. Never a log's first line: prose ends with "..." too. Plain string tests
# first, one short search after: a regular expression with two bounded runs around the duration
# took 2 ms a line on 500-character lines.
_DURATION = re.compile(r"\b\d+(?:\.\d+)?[ \t]?m?s\b")
_WRAPPED_TOKEN = re.compile(r"[A-Za-z0-9+/=_.-]{12,}(?:[ \t]+\.+)?")


def _continues_log(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 160:
        return False
    if stripped.endswith(("...", "\u2026")) and len(stripped) <= 120:
        return True
    if stripped.startswith("> ") and len(stripped) <= 100:
        return True
    return _WRAPPED_TOKEN.fullmatch(stripped) is not None or _DURATION.search(stripped) is not None


def _log_blocks(text: str) -> list[tuple[int, int]]:
    """Pasted output: runs of log lines (see _LOG_LINE) with their indented continuation lines, and
    Markdown indented code blocks (four spaces or a tab after a blank line, not a list item)."""
    blocks: list[tuple[int, int]] = []
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    i = 0
    while i < len(lines):
        line = lines[i]
        indented = bool(re.match(r"(?: {4}|\t)\S", line)) and not _LIST_START.match(line)
        after_blank = i == 0 or not lines[i - 1].strip()
        starts_log = _is_log_line(line) and len(line.strip()) > 2
        # A symbolic line ("maven-plugin:3.3.1:resources (default) @ common ---") just before a log.
        starts_log = starts_log or (_symbolic(line) and i + 1 < len(lines) and _is_log_line(lines[i + 1]))
        if starts_log or (indented and after_blank):
            j = i + 1
            while j < len(lines):
                nxt = lines[j]
                if _is_log_line(nxt) or _symbolic(nxt) or _continues_log(nxt) or (nxt[:1] in (" ", "\t") and nxt.strip() and not _LIST_START.match(nxt)):
                    j += 1
                elif not nxt.strip() and j + 1 < len(lines) and (_is_log_line(lines[j + 1]) or re.match(r"(?: {2,}|\t)\S", lines[j + 1])):
                    j += 1  # a blank line inside the output
                else:
                    break
            start = offsets[i] + (len(line) - len(line.lstrip()))
            end = offsets[j] - 1
            if text[start:end].strip():
                blocks.append((start, end))
            i = j
        else:
            i += 1
    return blocks


def find_code_spans(text: str) -> list[CodeSpan]:
    """Non-overlapping code-like spans, earlier kinds in _PATTERNS taking precedence."""
    taken_starts: list[int] = []  # sorted, non-overlapping intervals
    taken_ends: list[int] = []
    spans: list[CodeSpan] = []

    def overlaps(start: int, end: int) -> bool:
        k = bisect.bisect_left(taken_starts, end)  # intervals starting before ``end``
        return k > 0 and taken_ends[k - 1] > start

    def take(kind: str, start: int, end: int) -> None:
        k = bisect.bisect_left(taken_starts, start)
        taken_starts.insert(k, start)
        taken_ends.insert(k, end)
        spans.append(CodeSpan(start, end, kind, text[start:end]))

    for kind, pattern in _PATTERNS:
        if kind == "frame":
            # Pasted logs go right after fenced blocks and Python tracebacks.
            for start, end in _log_blocks(text):
                if not overlaps(start, end):
                    take("traceback", start, end)
        for m in pattern.finditer(text):
            start, end = (m.start("inner"), m.end("inner")) if "inner" in pattern.groupindex else (m.start(), m.end())
            if start > m.start() and not overlaps(m.start(), end) and _accept(kind, text[start:end]):
                # The mention's marker ("@", "#file:") is not prose either, but not part of the path.
                take("marker", m.start(), start)
            if kind == "fenced" or kind == "traceback":
                # Leading indentation belongs to the block, trailing newline does not.
                while end > start and text[end - 1] in "\r\n":
                    end -= 1
            chunk = text[start:end]
            if not chunk.strip() or not _accept(kind, chunk) or overlaps(start, end):
                continue
            take(kind, start, end)
    spans.sort(key=lambda s: s.start)
    return spans
