"""Every rule's should-fail examples raise it and its should-pass examples do not (proselint's discipline)."""

from __future__ import annotations

import pytest

from promptlint.config import Config
from promptlint.pipeline import Linter
from promptlint.rules.catalog import load_catalog

from .conftest import REPOS

CATALOG = load_catalog()
CASES = [(code, "fail", i, text) for code, rule in CATALOG.items() for i, text in enumerate(rule.fail_examples)] + [
    (code, "pass", i, text) for code, rule in CATALOG.items() for i, text in enumerate(rule.pass_examples)
]


@pytest.fixture(scope="module")
def every_rule():
    return Linter(Config(select=("ALL",), preview=True))


def test_catalog_has_the_issue_families():
    families = {r.family for r in CATALOG.values()}
    assert {"VAG", "SCO", "CON", "REF"} <= families
    assert len(CATALOG) >= 12


@pytest.mark.parametrize("code,expectation,index,text", CASES, ids=[f"{c}-{e}{i}" for c, e, i, _ in CASES])
def test_rule_example(every_rule, code, expectation, index, text):
    repo = REPOS / CATALOG[code].examples_repo if CATALOG[code].examples_repo else None
    found = [f for f in every_rule.lint(text, repo=repo).findings if f.code == code]
    if expectation == "fail":
        assert found, f"{code} should flag: {text!r}"
    else:
        assert not found, f"{code} should not flag {text!r}, got {[text[f.start_offset:f.end_offset] for f in found]}"


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_rule_doc_has_every_section(code):
    doc = CATALOG[code].render_doc()
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in doc
    assert CATALOG[code].message.strip()


def test_vag_docs_cite_requirement_smell_literature():
    cited = " ".join(" ".join(r.doc.get("references", [])) for r in CATALOG.values() if r.family == "VAG")
    assert "29148" in cited and "Femmer" in cited


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_use_instead_does_not_raise_its_own_rule(every_rule, code):
    text = CATALOG[code].doc["use-instead"]
    repo = REPOS / CATALOG[code].examples_repo if CATALOG[code].examples_repo else None
    assert code not in {f.code for f in every_rule.lint(text, repo=repo).findings}
