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
    assert {"VAG", "SCO", "CON", "REF", "ESC"} <= families
    assert len(CATALOG) >= 12


def fired(linter, code: str, text: str) -> list:
    """Findings of ``code``; for escalation rules (advice reasons, not findings) the reasons."""
    rule = CATALOG[code]
    repo = REPOS / rule.examples_repo if rule.examples_repo else None
    report = linter.lint(text, path=rule.examples_path or "<prompt>", repo=repo, previous_turn=rule.example_previous_turns.get(text))
    if CATALOG[code].kind == "escalation":
        return [r for r in (report.advice or {}).get("reasons", []) if r["code"] == code]
    return [f for f in report.findings if f.code == code]


@pytest.mark.parametrize("code,expectation,index,text", CASES, ids=[f"{c}-{e}{i}" for c, e, i, _ in CASES])
def test_rule_example(every_rule, code, expectation, index, text):
    found = fired(every_rule, code, text)
    if expectation == "fail":
        assert found, f"{code} should flag: {text!r}"
    else:
        assert not found, f"{code} should not flag {text!r}, got {found}"


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
    if CATALOG[code].family == "ESC":
        return  # "use instead" of an escalation reason names the other model, not a better prompt
    if CATALOG[code].family == "CLD" and not CATALOG[code].doc["use-instead"].startswith(("---", "-", "#")):
        return  # described in words ("a 60-line CLAUDE.md"), not a file
    assert not fired(every_rule, code, CATALOG[code].doc["use-instead"])
