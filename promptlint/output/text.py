"""Human output: ruff-style findings with the source line and the span underlined (rich)."""

from __future__ import annotations

import shlex
from typing import TextIO

from ..model import FileReport, Finding, Report, Severity
from ..textsafe import escape_unprintable as name_shown  # a newline or ESC in a file name is shown escaped
from ..textsafe import for_terminal as safe  # prompt text and file names never drive the terminal
from ..textsafe import one_line  # a message quoting the prompt never starts a line of its own

_STYLE = {Severity.error: "bold red", Severity.warning: "bold yellow", Severity.info: "bold cyan"}
_MAX_SHOWN_LINE = 160


def write_concise(report: Report, stream: TextIO) -> None:
    for file in report.files:
        for f in file.findings:
            stream.write(f"{name_shown(file.path)}:{f.start.line}:{f.start.column}: {f.code} [{f.severity.name}] {one_line(f.message)}\n")


def _snippet(file: FileReport, f: Finding) -> tuple[str, int, int]:
    """The first line of the span (clipped around it when long) and the underline's start and width."""
    lines = file.text.split("\n")
    line = lines[f.start.line - 1].rstrip("\r") if f.start.line - 1 < len(lines) else ""
    start = f.start.column - 1
    end = f.end.column - 1 if f.end.line == f.start.line else len(line)
    end = max(end, start + 1)
    offset = 0
    if len(line) > _MAX_SHOWN_LINE:
        offset = max(0, min(start - 40, len(line) - _MAX_SHOWN_LINE))
        line = line[offset : offset + _MAX_SHOWN_LINE]
    return safe(line.replace("\t", " ")), start - offset, min(end, offset + len(line)) - start


def write_text(report: Report, stream: TextIO, verbose: bool = False, color: bool | None = None) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(
        file=stream, highlight=False, soft_wrap=True, emoji=False,
        force_terminal=color if color is not None else None, no_color=(color is False),
    )
    counts = {s: 0 for s in Severity}
    files_with_findings = 0
    for file in report.files:
        path = name_shown(file.path)
        if verbose:
            for note in file.notes:
                console.print(Text(f"{path}: {one_line(note)}", style="dim"))
        if file.findings:
            files_with_findings += 1
        for f in file.findings:
            counts[f.severity] += 1
            head = Text()
            head.append(f"{path}:{f.start.line}:{f.start.column}: ", style="bold")
            head.append(f.code, style=_STYLE[f.severity])
            head.append(f" {one_line(f.message)} ")
            head.append(f"[{f.severity.name}]", style="dim")
            console.print(head)
            line, col, width = _snippet(file, f)
            gutter = str(f.start.line)
            pad = " " * len(gutter)
            console.print(Text(f" {pad} |", style="blue"))
            src = Text(f" {gutter} | ", style="blue")
            src.append(line)
            console.print(src)
            mark = Text(f" {pad} | ", style="blue")
            mark.append(" " * max(col, 0))
            mark.append("^" * max(width, 1), style=_STYLE[f.severity])
            mark.append(f" {f.name}", style=_STYLE[f.severity])
            console.print(mark)
            if f.suggestion:
                console.print(Text(f" {pad} = help: ", style="bold").append(Text(one_line(f.suggestion), style="")))
            console.print()
        if file.references and (file.findings or verbose):
            console.print(Text(f"{path}: most likely files in the repository:", style="bold"))
            for ref in file.references[:5]:
                where = f":{ref['line']}" if ref.get("line") else ""
                line_text = Text(f"  {ref['score']:.2f} ", style="dim")
                line_text.append(name_shown(f"{ref['path']}{where}"), style="bold")
                line_text.append(one_line(f"  {ref['reason']}"), style="dim")
                console.print(line_text)
        if file.advice and (file.findings or verbose):
            a = file.advice
            why = f" ({a['reasons'][0]['message']})" if a["reasons"] and a["model"] != "haiku" else ""
            console.print(Text(f"{path}: model advice: {a['model']}{one_line(why)}", style="dim"))
        if file.rewrite and file.path not in ("-", "<prompt>"):
            # A command to copy: quoted for the shell, so a prompt file named '$(...).prompt' in a
            # checkout runs nothing when pasted.
            command = f"promptlint rewrite {shlex.quote(file.path)}"
            console.print(Text(f"{path}: an explicit rewrite for Haiku: {name_shown(command)}", style="dim"))
        if file.findings or verbose:
            console.print(Text(f"{path}: vagueness {file.vagueness:.2f} (0 = explicit, 1 = everything left to guess)", style="dim"))
    total = sum(counts.values())
    if not report.files:
        return  # every input was refused; the errors say why
    if total == 0:
        console.print(Text(f"All clear: no problems in {len(report.files)} file{'s' if len(report.files) != 1 else ''}.", style="bold green"))
        return
    summary = Text(
        f"Found {total} problem{'s' if total != 1 else ''} "
        f"({counts[Severity.error]} error{'s' if counts[Severity.error] != 1 else ''}, "
        f"{counts[Severity.warning]} warning{'s' if counts[Severity.warning] != 1 else ''}, "
        f"{counts[Severity.info]} info) in {files_with_findings} of {len(report.files)} file{'s' if len(report.files) != 1 else ''}.",
        style="bold",
    )
    console.print(summary)
