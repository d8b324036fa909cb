"""Human output: ruff-style findings with the source line and the span underlined (rich)."""

from __future__ import annotations

import shlex
from typing import TextIO

from ..model import FileReport, Finding, Report, Severity, mask_secrets
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
    lines = mask_secrets(file.text, file.findings).split("\n")
    line = lines[f.start.line - 1].rstrip("\r") if f.start.line - 1 < len(lines) else ""
    start = f.start.column - 1
    end = f.end.column - 1 if f.end.line == f.start.line else len(line)
    end = max(end, start + 1)
    offset = 0
    if len(line) > _MAX_SHOWN_LINE:
        offset = max(0, min(start - 40, len(line) - _MAX_SHOWN_LINE))
        line = line[offset : offset + _MAX_SHOWN_LINE]
    return safe(line.replace("\t", " ")), start - offset, min(end, offset + len(line)) - start


# One printed line: its text and the style of the whole line, then pieces appended with their own
# style (rich's Text(base, style=...) then .append(piece, style=...)); None is an empty line.
def _lines(report: Report, verbose: bool, counts: dict[Severity, int]):  # type: ignore[no-untyped-def]
    """The text report, line by line; counts the findings by severity into ``counts``."""
    files_with_findings = 0
    for file in report.files:
        path = name_shown(file.path)
        if verbose:
            for note in file.notes:
                yield f"{path}: {one_line(note)}", "dim", ()
        if file.findings:
            files_with_findings += 1
        for f in file.findings:
            counts[f.severity] += 1
            style = _STYLE[f.severity]
            yield "", "", ((f"{path}:{f.start.line}:{f.start.column}: ", "bold"), (f.code, style), (f" {one_line(f.message)} ", None),
                           (f"[{f.severity.name}]", "dim"))
            line, col, width = _snippet(file, f)
            gutter = str(f.start.line)
            pad = " " * len(gutter)
            yield f" {pad} |", "blue", ()
            yield f" {gutter} | ", "blue", ((line, None),)
            yield f" {pad} | ", "blue", ((" " * max(col, 0), None), ("^" * max(width, 1), style), (f" {f.name}", style))
            if f.suggestion:
                yield f" {pad} = help: ", "bold", ((one_line(f.suggestion), None),)
            yield None
        if file.references and (file.findings or verbose):
            yield f"{path}: most likely files in the repository:", "bold", ()
            for ref in file.references[:5]:
                where = f":{ref['line']}" if ref.get("line") else ""
                yield f"  {ref['score']:.2f} ", "dim", ((name_shown(f"{ref['path']}{where}"), "bold"), (one_line(f"  {ref['reason']}"), "dim"))
        if file.advice and (file.findings or verbose):
            a = file.advice
            why = f" ({a['reasons'][0]['message']})" if a["reasons"] and a["model"] != "haiku" else ""
            yield f"{path}: model advice: {a['model']}{one_line(why)}", "dim", ()
        if file.rewrite and file.path not in ("-", "<prompt>"):
            # A command to copy: quoted for the shell, so a prompt file named '$(...).prompt' in a
            # checkout runs nothing when pasted.
            command = f"promptlint rewrite {shlex.quote(file.path)}"
            yield f"{path}: an explicit rewrite for Haiku: {name_shown(command)}", "dim", ()
        if file.findings or verbose:
            yield f"{path}: vagueness {file.vagueness:.2f} (0 = explicit, 1 = everything left to guess)", "dim", ()
    total = sum(counts.values())
    if not report.files:
        return  # every input was refused; the errors say why
    if total == 0:
        yield f"All clear: no problems in {len(report.files)} file{'s' if len(report.files) != 1 else ''}.", "bold green", ()
        return
    yield (
        f"Found {total} problem{'s' if total != 1 else ''} "
        f"({counts[Severity.error]} error{'s' if counts[Severity.error] != 1 else ''}, "
        f"{counts[Severity.warning]} warning{'s' if counts[Severity.warning] != 1 else ''}, "
        f"{counts[Severity.info]} info) in {files_with_findings} of {len(report.files)} file{'s' if len(report.files) != 1 else ''}.",
        "bold", (),
    )


def _console(stream: TextIO, color: bool | None):  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(
        file=stream, highlight=False, soft_wrap=True, emoji=False,
        force_terminal=color if color is not None else None, no_color=(color is False),
    )


def _print_rich(console, line) -> None:  # type: ignore[no-untyped-def]
    from rich.text import Text

    if line is None:
        console.print()
        return
    base, style, pieces = line
    text = Text(base, style=style)
    for piece, piece_style in pieces:
        text.append(piece, style=piece_style)
    console.print(text)


def _plain_is_rich(console, stream: TextIO) -> bool:  # type: ignore[no-untyped-def]
    """Whether rich would print our lines as their bare text: no terminal (so no colour and no
    control codes), no notebook, nothing recorded or hidden, and an encoder that cannot fail.
    Soft wrap (our console's setting) neither wraps, crops nor trims; what it still changes, tabs
    and line breaks, _write_plain leaves to rich line by line."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
    return (not console.is_terminal and console.color_system is None and not console.is_jupyter and not console.record
            and not console.quiet and encoding in ("utf-8", "utf8"))


def _write_plain(console, stream: TextIO, lines) -> None:  # type: ignore[no-untyped-def]
    """The bytes rich would write, for a fraction of its time (a `check` through the warm server
    spent more on rich's rendering than on a lint's rules). Flushed once at the end, not after
    every line: the same bytes in the same order, as nothing else writes meanwhile."""
    from rich.control import strip_control_codes  # what rich's Text does to every piece it is given

    try:
        for line in lines:
            if line is None:
                stream.write("\n")
                continue
            base, _, pieces = line
            text = strip_control_codes(base + "".join(piece for piece, _ in pieces) if pieces else base)
            if "\t" in text or "\n" in text:  # rich expands tabs; leave those lines to it
                _print_rich(console, line)
                continue
            stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        console.on_broken_pipe()  # as rich does: quiet, stdout to /dev/null, exit 1


def write_text(report: Report, stream: TextIO, verbose: bool = False, color: bool | None = None) -> None:
    console = _console(stream, color)
    counts = {s: 0 for s in Severity}
    lines = _lines(report, verbose, counts)
    if _plain_is_rich(console, stream):
        _write_plain(console, stream, lines)
        return
    for line in lines:
        _print_rich(console, line)
