from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from promptlint.config import Config
from promptlint.errors import RuleCatalogError
from promptlint.pipeline import Linter
from promptlint.rules.catalog import load_catalog

GOOD_RULE = textwrap.dedent(
    '''
    code = "TEAM001"
    name = "jira-ticket-missing"
    family = "TEAM"
    severity = "error"
    status = "stable"
    kind = "existence"
    message = "\\"{match}\\" is our code word for an unplanned task"
    [check]
    match = "lower"
    phrases = ["yolo"]
    [doc]
    what = "Flags yolo."
    why = "Because."
    example = "yolo fix"
    use-instead = "Fix PROJ-12."
    [examples]
    fail = ["Just yolo the migration."]
    pass = ["Run the migration in PROJ-12."]
    '''
)


def write_rule(folder: Path, text: str, name: str = "TEAM001.toml") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_user_rules_dir_adds_a_rule(tmp_path):
    folder = write_rule(tmp_path / "rules", GOOD_RULE)
    linter = Linter(Config(rules_dirs=(folder,)))
    report = linter.lint("Just yolo the migration.")
    found = [f for f in report.findings if f.code == "TEAM001"]
    assert len(found) == 1
    assert found[0].message == '"yolo" is our code word for an unplanned task'
    assert (found[0].start.line, found[0].start.column, found[0].end.column) == (1, 6, 10)


@pytest.mark.parametrize(
    "change,complaint",
    [
        (("[examples]\nfail = [\"Just yolo the migration.\"]\npass = [\"Run the migration in PROJ-12.\"]", ""), "examples"),
        (('pass = ["Run the migration in PROJ-12."]', "pass = []"), "'pass' must be a non-empty list"),
        (('kind = "existence"', 'kind = "telepathy"'), "'kind' 'telepathy' is not one of"),
        (('code = "TEAM001"', 'code = "T1"'), "'code' 'T1' must be"),
        (('name = "jira-ticket-missing"', 'name = "JiraTicket"'), "kebab-case"),
        (('severity = "error"', 'severity = "fatal"'), "unknown severity"),
        (('why = "Because."', ""), "missing required key 'why'"),
        (('family = "TEAM"', 'family = "TEAM"\nfamilly = "x"'), "unknown key 'familly'"),
        (('family = "TEAM"', 'family = "VAG"'), "does not match the code prefix"),
        (('family = "TEAM"', 'family = "TEAM"\noffers-rewrite = "yes"'), "'offers-rewrite' must be true or false"),
        (('phrases = ["yolo"]', 'phrases = ["yolo"]\nphrase = ["typo"]'), "[check] has no key 'phrase' for kind 'existence'"),
    ],
)
def test_invalid_rule_files_are_rejected_with_the_reason(tmp_path, change, complaint):
    old, new = change
    text = GOOD_RULE.replace(old, new)
    assert text != GOOD_RULE
    folder = write_rule(tmp_path / "rules", text)
    with pytest.raises(RuleCatalogError, match=complaint.replace("(", r"\(").replace("[", r"\[")) as info:
        load_catalog((folder,))
    assert "TEAM001.toml" in str(info.value)


def test_duplicate_codes_are_rejected(tmp_path):
    folder = write_rule(tmp_path / "rules", GOOD_RULE.replace("TEAM001", "VAG001").replace('family = "TEAM"', 'family = "VAG"'))
    with pytest.raises(RuleCatalogError, match="duplicate rule code VAG001"):
        load_catalog((folder,))


def test_invalid_toml_names_the_file(tmp_path):
    folder = write_rule(tmp_path / "rules", "code = ")
    with pytest.raises(RuleCatalogError, match="invalid TOML"):
        load_catalog((folder,))


def test_bad_token_pattern_is_a_catalog_error(tmp_path):
    text = GOOD_RULE.replace('phrases = ["yolo"]', 'patterns = [[{NOSUCHATTR = "x"}]]')
    folder = write_rule(tmp_path / "rules", text)
    linter = Linter(Config(rules_dirs=(folder,)))
    with pytest.raises(RuleCatalogError, match="patterns"):
        linter.lint("anything at all")


def test_token_patterns_match_on_lemmas(tmp_path):
    text = GOOD_RULE.replace('phrases = ["yolo"]', 'patterns = [[{LEMMA = "ship"}, {LOWER = "it"}]]')
    folder = write_rule(tmp_path / "rules", text)
    linter = Linter(Config(rules_dirs=(folder,), select=("TEAM",)))
    report = linter.lint("We shipped it yesterday; ship it again.")
    assert [report.text[f.start_offset : f.end_offset] for f in report.findings] == ["shipped it", "ship it"]


def test_rules_choose_the_message_kinds_they_run_on(tmp_path):
    text = GOOD_RULE.replace('phrases = ["yolo"]', 'phrases = ["yolo"]\n    kinds = ["change-request"]')
    folder = write_rule(tmp_path / "rules", text)
    linter = Linter(Config(rules_dirs=(folder,), select=("TEAM",)))
    assert [f.code for f in linter.lint("Add the orders table and yolo the migration.").findings] == ["TEAM001"]
    assert linter.lint("Why would anyone yolo a migration?").findings == []


def test_unknown_message_kind_is_a_catalog_error(tmp_path):
    folder = write_rule(tmp_path / "rules", GOOD_RULE.replace('phrases = ["yolo"]', 'phrases = ["yolo"]\n    kinds = ["chit-chat"]'))
    with pytest.raises(RuleCatalogError, match="unknown message kind 'chit-chat'"):
        load_catalog([folder])


def test_conversational_examples_carry_their_previous_turn(tmp_path):
    text = GOOD_RULE.replace('fail = ["Just yolo the migration."]', 'fail = [{prompt = "yolo it", previous-turn = "I wrote the migration."}]')
    rule = next(r for r in load_catalog([write_rule(tmp_path / "rules", text)]).values() if r.code == "TEAM001")
    assert rule.fail_examples == ("yolo it",)
    assert rule.example_previous_turns == {"yolo it": "I wrote the migration."}


def test_a_rule_that_reads_other_findings_runs_after_them():
    from promptlint.rules.engine import _batches

    catalog = load_catalog()
    order = {r.code: i for i, batch in enumerate(_batches(list(catalog.values()))) for r in batch}
    assert order["CON001"] > order["VAG001"] and order["CON001"] > order["VAG002"]
    assert order["CON005"] > order["CON001"] and order["CON005"] > order["SCO002"]
