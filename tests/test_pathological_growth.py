"""Untrusted prompt text must not make the analysis superlinear (bench/bench_pathological.py times
it). No timing here: each test counts the work a stage does on a hostile text of size n and of 2n, and
asserts it doubles at most (with slack), where the quadratic version quadrupled."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint.pipeline import Linter
from promptlint.text import analysis


@pytest.fixture(scope="module")
def linter():
    return Linter()


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def _calls(monkeypatch, module, name: str, run) -> int:
    real = getattr(module, name)
    count = 0

    def counted(*args, **kwargs):
        nonlocal count
        count += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    try:
        run()
    finally:
        monkeypatch.setattr(module, name, real)
    return count


def test_clause_starts_in_a_run_of_brackets_are_walked_once(linter, monkeypatch):
    # Every "(" starts a clause and every start skipped the whole run of punctuation after it: the
    # markup test ran once per (start, token) pair, 4x per doubling.
    small = _calls(monkeypatch, analysis, "_is_markup", lambda: linter.lint(_fill("([{`\"'< ", 4000)))
    large = _calls(monkeypatch, analysis, "_is_markup", lambda: linter.lint(_fill("([{`\"'< ", 8000)))
    assert small > 0 and large <= 2.5 * small, (small, large)


def _leading_repeat_crosses_lines(pattern: str) -> bool:
    """Whether a '^'-anchored pattern starts with an unbounded repeat that can match a line break. Under
    re.M such a pattern, searched over a text of punctuation lines ('#' * 200 per line), runs from every
    line start to the end of the text and back: quadratic. '^[^\\w\\n]*' finds the same lines."""
    from promptlint.rules.regex_safety import _c, _p, _repeated_items_match

    items = list(_p.parse(pattern))
    if not items or items[0] != (_c.AT, _c.AT_BEGINNING):
        return False
    return len(items) > 1 and _repeated_items_match(items[1:2], "\n")


def test_the_follow_up_patterns_do_not_rescan_from_every_line_start():
    from promptlint.resources import lexicon

    patterns = lexicon()["follow-up"]["patterns"]
    assert any(p.startswith("^") for p in patterns)
    assert [p for p in patterns if _leading_repeat_crosses_lines(p)] == []


@pytest.mark.parametrize("pattern, crosses", [(r"^\W*(?:continue|go)", True), (r"^[^\w\n]*(?:continue|go)", False), (r"\bstill\b", False), (r"^[ \t]*-", False)])
def test_leading_repeat_check_examples(pattern, crosses):
    assert _leading_repeat_crosses_lines(pattern) is crosses


@pytest.mark.parametrize("text", [_fill('"', 8000), _fill('{"a":', 8000), "Fix the cache. " * 400 + "\nUpdate the docs.\n" * 3])
def test_a_line_is_judged_once_however_many_sentences_it_holds(linter, monkeypatch, text):
    # Each sentence used to rescan its whole line (title, heading, table shape, the whole text's
    # strip()): a 40 kB line cut into hundreds of sentences was quadratic.
    calls = _calls(monkeypatch, analysis, "_is_title_line", lambda: linter.lint(text))
    assert 1 <= calls <= text.count("\n") + 1, calls


def _fence_text(n: int) -> str:
    return "Fix the parser.\n" + _fill("```\nx = 1\n", n) + "\nThen run `pytest -q` and `ruff check`.\n"


@pytest.mark.parametrize("text", [_fence_text(3000), "Use `a` and `b`, then `c d`.\n```py\nx = 1\n```\nDone: `e`"])
def test_bulk_merge_makes_the_same_tokens_as_the_retokenizer(monkeypatch, text):
    from promptlint.text import nlp
    from promptlint.text.codespans import find_code_spans

    pipeline = nlp.get_pipeline()
    spans = [(s.start, s.end) for s in find_code_spans(text)]
    assert len(spans) >= 2

    def tokens():
        doc = nlp.run(pipeline, text, spans)
        return [(t.text, t.idx, t.whitespace_, t.lemma_, t.norm_, t.is_punct, t.is_space, t.is_sent_start) for t in doc]

    bulk = tokens()
    module = sys.modules[type(nlp.run(pipeline, "a b").retokenize()).__module__]
    assert callable(getattr(module, nlp._BULK_MERGE))  # the bulk path is the one taken here
    monkeypatch.setattr(nlp, "_BULK_MERGE", "_no_such_function")  # the public retokenizer path
    assert tokens() == bulk


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="()ab \t\n.", max_size=24))
def test_trailing_parenthetical_is_removed_as_the_regex_did(body):
    assert analysis._without_trailing_parenthetical(body) == re.sub(r"\s*\([^)]*\)\s*$", "", body)


def test_trailing_parenthetical_examples():
    assert analysis._without_trailing_parenthetical("Add Retry Logic (v2)") == "Add Retry Logic"
    assert analysis._without_trailing_parenthetical("Configure (a) and (b)") == "Configure (a) and"
    assert analysis._without_trailing_parenthetical("( " * 20000 + "x)") == ""
    assert analysis._without_trailing_parenthetical("( " * 20000) == "( " * 20000
