"""GitHub Actions workflow commands: one annotation per finding."""

from __future__ import annotations

from typing import TextIO

from ..model import Report, Severity
from ..textsafe import for_terminal

_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "notice"}


def _escape_data(value: str) -> str:
    # Newlines would start a new workflow command; other control characters reach the log raw.
    return for_terminal(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def write_github(report: Report, stream: TextIO) -> None:
    for file in report.files:
        for f in file.findings:
            props = ",".join(
                [
                    f"file={_escape_property(file.path)}",
                    f"line={f.start.line}",
                    f"col={f.start.column}",
                    f"endLine={f.end.line}",
                    f"endColumn={f.end.column}",
                    f"title={_escape_property(f'{f.code} {f.name}')}",
                ]
            )
            message = f.message + (f" ({f.suggestion})" if f.suggestion else "")
            stream.write(f"::{_LEVEL[f.severity]} {props}::{_escape_data(message)}\n")
