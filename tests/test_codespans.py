from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint.text.codespans import find_code_spans


def kinds(text):
    return [(s.kind, s.text) for s in find_code_spans(text)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("see src/db/schema.ts now", [("path", "src/db/schema.ts")]),
        ("edit `config.py`", [("backtick", "`config.py`")]),
        ("open README.md.", [("path", "README.md")]),
        ("import django.db.models here", [("module", "django.db.models")]),
        ("call get_user_by_id twice", [("identifier", "get_user_by_id")]),
        ("the UserService class", [("identifier", "UserService")]),
        ("use getUser()", [("call", "getUser()")]),
        ("POST /api/login fails", [("route", "POST /api/login")]),
        ('router.post("/login")', [("module", "router.post"), ("route", "/login")]),
        ("see https://example.com/a/b.", [("url", "https://example.com/a/b")]),
        ("impl Foo::bar now", [("rust-path", "Foo::bar")]),
        ("set HTTP_TIMEOUT", [("identifier", "HTTP_TIMEOUT")]),
        ("input/output and/or e.g. stuff", []),
        ("a 1/2 chance", []),
        ("Sentence one.Sentence two", []),
    ],
)
def test_code_span_kinds(text, expected):
    assert kinds(text) == expected


def test_fenced_block_and_traceback():
    text = (
        "It fails:\n```\nx = 1\n```\n"
        "Traceback (most recent call last):\n"
        '  File "app/models.py", line 12, in save\n'
        "    self.full_clean()\n"
        "ValueError: bad\n\nThanks"
    )
    found = find_code_spans(text)
    assert [s.kind for s in found] == ["fenced", "traceback"]
    assert found[0].inner == "x = 1"
    assert found[1].text.endswith("ValueError: bad")


def test_traceback_frame_alone():
    assert kinds('error at File "x/y.py", line 3, in main') == [("frame", 'File "x/y.py", line 3, in main')]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_spans_lie_inside_the_text_and_never_overlap(text):
    spans = find_code_spans(text)
    last_end = 0
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.text
        assert s.start >= last_end
        last_end = s.end


code_alphabet = st.sampled_from(list("abcXY_/.`:()\"' \n-0123456789#*"))


@given(st.text(alphabet=code_alphabet, max_size=200))
def test_code_like_noise_never_crashes(text):
    for s in find_code_spans(text):
        assert text[s.start : s.end] == s.text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t", max_size=6), st.sampled_from([
    "at foo (a.js:1:2)", "src/app.ts:12:3 error", "2025-12-26 08:06:32 boot", "[ERROR] x", "ERROR: y", "npm ERR! z",
    "> 12 | const a", "^^^", "TypeError: bad", "Caused by: x", "FAIL src/a.test.ts", "\u276f Update now", "abc1234 fix",
    "import x from 'y';", "def f(x):", "SELECT * FROM t", "plain prose here", "", "   ", "- a list item",
]), st.text(alphabet=" \tab:|^", max_size=4))
def test_a_log_line_is_one_whatever_its_indentation(indent, body, tail):
    """_is_log_line strips the indentation before matching (the pattern backtracked quadratically
    over long blank runs): the answer must be the full pattern's."""
    from promptlint.text.codespans import _LOG_LINE, _is_log_line

    line = indent + body + tail
    assert _is_log_line(line) == bool(_LOG_LINE.match(line))


def test_build_ci_and_package_manager_lines_are_log_lines():
    from promptlint.text.codespans import _is_log_line

    for line in [
        "09:14:03.551 Running build in Frankfurt",
        "[09:14:03] Starting 'compile'...",
        "\u2713 Compiled successfully in 14.4s",
        "\u2716 Error: unable to finish the upload",
        "\u2834 Finalizing push...",
        "? Device name: my laptop",
        "(base) \u279c  shop git:(main)",
        "dev@box:~/shop$ npm run build",
        "##[error]Process completed with exit code 1.",
        "::error file=app.js,line=1::Missing semicolon",
        "Step 3/9 : RUN npm ci",
        "#7 [builder 2/5] RUN pip install -r requirements.txt",
        "> shop@1.0.0 build",
        "npm notice New minor version of npm available!",
        "[2/4] Fetching packages...",
        "added 412 packages in 3s",
        "Successfully installed requests-2.32.3",
        "Compiling serde v1.0.210",
        "BUILD FAILED in 12s",
        "> Task :app:compileKotlin FAILED",
        "thread 'main' panicked at src/main.rs:4:5:",
        "  --> src/lib.rs:12:9",
        'File "/srv/app/views.py", line 88, in index',
        "[31merror[0m something broke",
        "src/a.ts:3:1 - error TS2345: Argument of type 'string' is not assignable",
    ]:
        assert _is_log_line(line), line
    for line in [
        "Fix the build so it passes on Node 22.",
        "why does the deploy fail?",
        "- the checkout page should show the total",
        "$5 a month is the price",
        "? what does this mean",
        "Thanks, that worked.",
    ]:
        assert not _is_log_line(line), line


def test_progress_lines_continue_a_log_but_never_start_one():
    text = "Loading the project settings...\nThat is all for now."
    assert not any(s.kind == "traceback" for s in find_code_spans(text))
    log = "\u2716 Error: upload failed\nretrying in 530ms...\n\u2834 Finalizing push..."
    assert [(s.kind, s.start, s.end) for s in find_code_spans(log) if s.kind == "traceback"] == [("traceback", 0, len(log))]


def test_an_emoji_check_mark_list_is_prose_not_output():
    # Tools print the text glyph (U+2714); people writing a list pick the emoji (U+2714 U+FE0F).
    text = "\u2714\ufe0f Meet other builders\n\u2714\ufe0f Win prizes\n\u2714\ufe0f Show your work"
    assert not any(s.kind == "traceback" for s in find_code_spans(text))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="a1. >/:m s\t", min_size=0, max_size=600))
def test_continuation_is_bounded_to_short_lines(line):
    """A continuation line is short: a long line of prose or symbols never continues a log just
    because it holds a duration or ends with an ellipsis."""
    from promptlint.text.codespans import _continues_log

    if len(line.strip()) > 160:
        assert not _continues_log(line)
