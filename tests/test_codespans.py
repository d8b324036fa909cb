from __future__ import annotations

import pytest
from hypothesis import given
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
