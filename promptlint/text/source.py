"""The prompt as a source file: positions, masked regions and inline suppression directives.

Masked regions (HTML comments, YAML front matter) keep their length so every offset the
analysis reports is an offset into the original text. Carriage returns read as spaces: a prompt
saved with Windows line ends (``\r\n``) is analysed like any other, so a closing code fence or a
heading still ends at its line end.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from ..model import Position

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_DIRECTIVE = re.compile(
    r"<!--\s*promptlint\s*:\s*(?P<verb>disable-file|disable-next-line|disable)"
    r"(?:\s*=\s*(?P<codes>[A-Za-z0-9_,\s]*?))?\s*-->"
)


@dataclass
class Suppressions:
    """Which codes are silenced where. An empty code set means every rule."""

    whole_file: set[str] | None = None  # None: no file-level directive
    by_line: dict[int, set[str]] = field(default_factory=dict)  # 1-based line -> codes

    @staticmethod
    def _covers(codes: set[str], code: str) -> bool:
        return not codes or any(code.startswith(c) for c in codes)

    def is_suppressed(self, code: str, line: int) -> bool:
        if self.whole_file is not None and self._covers(self.whole_file, code):
            return True
        codes = self.by_line.get(line)
        return codes is not None and self._covers(codes, code)


class PromptSource:
    def __init__(self, text: str, path: str = "<prompt>"):
        self.path = path
        self.text = text
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.prose = self._mask(text)
        self.suppressions = self._parse_directives(text)

    # --- positions -------------------------------------------------------------------------
    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line=line_index + 1, column=offset - self._line_starts[line_index] + 1)

    def line_of(self, offset: int) -> int:
        return self.position(offset).line

    # --- masking ---------------------------------------------------------------------------
    @staticmethod
    def _mask(text: str) -> str:
        def blank(m: re.Match[str]) -> str:
            return re.sub(r"[^\n]", " ", m.group(0))

        front = _FRONT_MATTER.match(text)
        head = blank(front) if front else ""
        return (head + _HTML_COMMENT.sub(blank, text[len(head):])).replace("\r", " ")

    # --- suppression -----------------------------------------------------------------------
    def _parse_directives(self, text: str) -> Suppressions:
        sup = Suppressions()
        lines = text.split("\n")
        for m in _DIRECTIVE.finditer(text):
            codes = {c.strip().upper() for c in (m.group("codes") or "").split(",") if c.strip()}
            if m.group("verb") == "disable-file":
                if not codes or sup.whole_file == set():
                    sup.whole_file = set()
                else:
                    sup.whole_file = (sup.whole_file or set()) | codes
                continue
            # "disable" and "disable-next-line" both apply to the next line that has text.
            target = self.line_of(m.end()) + 1
            while target <= len(lines) and not lines[target - 1].strip():
                target += 1
            existing = sup.by_line.get(target)
            if existing is not None and (not existing or not codes):
                sup.by_line[target] = set()
            else:
                sup.by_line[target] = (existing or set()) | codes
        return sup
