"""The text format's plain writer (output/text.py): when rich sees no terminal, the report is
written as bare text without rich's rendering, and the bytes must be exactly rich's, for any text
a prompt, a path or a rule can put in a line (tabs, line breaks, control characters, wide and
combining characters, trailing spaces, long lines)."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint.model import FileReport, Finding, Position, Report, Severity
from promptlint.output import text as text_out

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200) | st.sampled_from(
    ["", " ", "\t", "a\tb", "x\n", "\n\n", "trailing   ", "\x1b[31mred", "\u202ehidden", "日本語\t表", "e\u0301", "   " * 40]
)


@st.composite
def _reports(draw) -> Report:
    report = Report()
    for index in range(draw(st.integers(0, 3))):
        text = draw(_TEXT)
        n_lines = text.count("\n") + 1
        findings = []
        for _ in range(draw(st.integers(0, 4))):
            line = draw(st.integers(1, n_lines + 1))
            col = draw(st.integers(1, 300))
            end_line = draw(st.sampled_from([line, line + 1]))
            findings.append(Finding(
                code=draw(st.sampled_from(["VAG001", "REF001", "CON007"])), name=draw(_TEXT), family="vagueness",
                severity=draw(st.sampled_from(list(Severity))), message=draw(_TEXT), start_offset=0, end_offset=1,
                start=Position(line, col), end=Position(end_line, draw(st.integers(1, 300))),
                suggestion=draw(st.none() | _TEXT),
            ))
        references = [{"path": draw(_TEXT), "line": draw(st.none() | st.integers(1, 9999)), "score": draw(st.floats(0, 1)),
                       "reason": draw(_TEXT)} for _ in range(draw(st.integers(0, 6)))]
        advice = draw(st.none() | st.builds(lambda model, message: {"model": model, "reasons": [{"message": message}] if message else []},
                                            st.sampled_from(["haiku", "sonnet", "opus"]), _TEXT))
        report.files.append(FileReport(
            path=draw(st.sampled_from(["-", "<prompt>", f"p{index}.prompt"]) | _TEXT), text=text, findings=findings,
            vagueness=draw(st.floats(0, 1)), references=references, advice=advice, rewrite=draw(st.none() | _TEXT),
            notes=draw(st.lists(_TEXT, max_size=3)),
        ))
    return report


def _through_rich(report: Report, verbose: bool) -> str:
    stream = io.StringIO()
    console = text_out._console(stream, None)
    for line in text_out._lines(report, verbose, {s: 0 for s in Severity}):
        text_out._print_rich(console, line)
    return stream.getvalue()


class _Utf8(io.StringIO):
    encoding = "utf-8"


@settings(max_examples=300, deadline=None)
@given(_reports(), st.booleans(), st.integers(20, 200))
def test_the_plain_writer_writes_what_rich_writes(report, verbose, columns):
    import os

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)  # rich trims or wraps against the width where it does: not here
    try:
        stream = _Utf8()
        console = text_out._console(stream, None)
        assert text_out._plain_is_rich(console, stream)  # the writer under test is the one that runs
        text_out.write_text(report, stream, verbose=verbose)
        assert stream.getvalue() == _through_rich(report, verbose)
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def test_rich_writes_when_it_would_colour_or_could_not_encode():
    class Tty(_Utf8):
        def isatty(self) -> bool:
            return True

    class Ascii(io.StringIO):
        encoding = "ascii"

    for stream, color in ((Tty(), None), (_Utf8(), True), (Ascii(), None)):
        assert not text_out._plain_is_rich(text_out._console(stream, color), stream)
    assert text_out._plain_is_rich(text_out._console(_Utf8(), False), _Utf8())  # --no-color on a pipe


def test_a_closed_pipe_ends_the_plain_writer_as_it_ends_rich(monkeypatch):
    """rich answers a broken pipe with exit 1 and stdout sent to /dev/null (Console.on_broken_pipe)."""
    import pytest

    class Broken(_Utf8):
        def flush(self) -> None:
            raise BrokenPipeError

    called = []
    monkeypatch.setattr("rich.console.Console.on_broken_pipe", lambda self: called.append(True) or (_ for _ in ()).throw(SystemExit(1)))
    report = Report(files=[FileReport(path="p.prompt", text="fix it")])
    with pytest.raises(SystemExit):
        text_out.write_text(report, Broken())
    assert called
