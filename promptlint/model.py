"""The data that flows out of the pipeline: findings and reports (JSON contract version 1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .textsafe import scrub_surrogates

JSON_VERSION = 1


class Severity(enum.IntEnum):
    info = 1
    warning = 2
    error = 3

    @classmethod
    def parse(cls, value: str) -> "Severity":
        try:
            return cls[value.strip().lower()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r} (expected error, warning or info)") from None


@dataclass(frozen=True)
class Position:
    """1-based line and column (columns count Unicode code points)."""

    line: int
    column: int


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    family: str
    severity: Severity
    message: str
    start_offset: int  # 0-based character offsets into the prompt text, end exclusive
    end_offset: int
    start: Position
    end: Position
    suggestion: str | None = None
    # A replacement for exactly [start_offset, end_offset), when the rule knows one (quick fixes).
    replacement: str | None = None
    # The span is a secret (SEC001): every front end shows it masked and no message repeats it.
    masked: bool = False

    def sort_key(self) -> tuple:
        return (self.start_offset, self.code, self.end_offset)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "family": self.family,
            "severity": self.severity.name,
            "message": self.message,
            "start": {"line": self.start.line, "column": self.start.column},
            "end": {"line": self.end.line, "column": self.end.column},
            "suggestion": self.suggestion,
        }
        if self.replacement is not None:
            data["fix"] = {"replacement": self.replacement}
        return data


def mask_secrets(text: str, findings: "list[Finding]") -> str:
    """``text`` with the span of every masked finding (a pasted secret) replaced by asterisks of the
    same length, line breaks kept: columns and line numbers stay where they were."""
    spans = [(f.start_offset, f.end_offset) for f in findings if f.masked]
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for i in range(max(0, start), min(end, len(chars))):
            if chars[i] not in "\r\n":
                chars[i] = "*"
    return "".join(chars)


def redact_secrets(text: str, source: str, findings: "list[Finding]") -> str:
    """``text`` (derived from ``source``, e.g. a rewrite of it) with every masked finding's secret
    replaced by the finding's placeholder ("$ANTHROPIC_API_KEY"): a rewrite is meant to be sent."""
    for f in sorted((f for f in findings if f.masked), key=lambda f: f.start_offset - f.end_offset):
        secret = source[f.start_offset : f.end_offset]
        if secret:
            text = text.replace(secret, f.replacement or "<secret>")
    return text


@dataclass
class FileReport:
    path: str
    text: str
    findings: list[Finding] = field(default_factory=list)
    vagueness: float = 0.0
    references: list[dict[str, Any]] = field(default_factory=list)
    advice: dict[str, Any] | None = None
    rewrite: str | None = None
    # What the pipeline used, for --verbose; not part of the JSON contract.
    notes: list[str] = field(default_factory=list)
    # Problems the user should see on stderr (e.g. an LLM rewrite that was rejected).
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            # A file name that is not UTF-8 (kept by surrogateescape) cannot be written as JSON: one
            # such prompt file failed the whole run's JSON output. Its bytes become U+FFFD here.
            "path": scrub_surrogates(self.path),
            "findings": [f.to_json() for f in self.findings],
            "vagueness": round(self.vagueness, 3),
            "references": self.references,
            "advice": self.advice,
            "rewrite": self.rewrite,
        }


@dataclass
class Report:
    files: list[FileReport] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"version": JSON_VERSION, "files": [f.to_json() for f in self.files]}

    def findings_at_or_above(self, threshold: Severity) -> int:
        return sum(1 for fr in self.files for f in fr.findings if f.severity >= threshold)
