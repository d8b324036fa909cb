from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from promptlint.model import Position
from promptlint.text.source import PromptSource

from .conftest import codes


def test_positions_are_one_based_lines_and_columns():
    src = PromptSource("ab\ncdé\n\nx")
    assert src.position(0) == Position(1, 1)
    assert src.position(3) == Position(2, 1)
    assert src.position(5) == Position(2, 3)  # columns count code points, not bytes
    assert src.position(8) == Position(4, 1)


@given(st.text(max_size=200))
def test_position_round_trips_to_offset(text):
    src = PromptSource(text)
    lines = text.split("\n")
    for offset in range(len(text) + 1):
        pos = src.position(offset)
        assert sum(len(l) + 1 for l in lines[: pos.line - 1]) + pos.column - 1 == offset


def test_html_comments_and_front_matter_are_masked_but_keep_offsets():
    text = "---\nname: x\n---\n<!-- fix it -->\nFix the `login()` bug.\n"
    src = PromptSource(text)
    assert len(src.prose) == len(text)
    assert "fix it" not in src.prose and "name: x" not in src.prose
    assert src.prose.count("\n") == text.count("\n")
    assert src.prose.endswith("Fix the `login()` bug.\n")


def test_disable_next_line_by_code(linter):
    text = "<!-- promptlint: disable=VAG003 -->\nAdd caching to `getProduct`, `getUser` etc.\nAlso log misses, hits etc.\n"
    report = linter.lint(text)
    open_lists = [f.start.line for f in report.findings if f.code == "VAG003"]
    assert open_lists == [3]


def test_disable_all_rules_for_next_line_skips_blank_lines(linter):
    text = "<!-- promptlint: disable -->\n\nFix it.\n"
    assert [f for f in linter.lint(text).findings if f.start.line == 3] == []


def test_disable_by_prefix(linter):
    text = "<!-- promptlint: disable=VAG -->\nFix it.\n"
    found = codes(linter.lint(text, path="draft.prompt"))
    assert not any(c.startswith("VAG") for c in found)
    assert "CON001" in found


def test_disable_file(linter):
    assert linter.lint("<!-- promptlint: disable-file -->\nFix it.\n").findings == []


def test_disable_file_for_some_codes(linter):
    found = codes(linter.lint("<!-- promptlint: disable-file=VAG005,CON -->\nFix it.\n", path="draft.prompt"))
    assert "VAG001" in found
    assert not {"VAG005", "CON001", "CON002"} & found


def test_directive_text_is_not_linted(linter):
    report = linter.lint("<!-- promptlint: disable=VAG004 etc. if possible -->\nAdd `x` to `y.py`; run `pytest`.\n")
    assert all(f.start.line != 1 for f in report.findings)
