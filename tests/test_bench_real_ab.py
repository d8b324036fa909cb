"""bench/bench_real_ab.py: the same prompts linted under two trees, scored against one set of verdicts."""

from __future__ import annotations

import sys

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from bench_real_ab import lint_under, main, score_part  # noqa: E402
from bench_real_prompts import MISS_RULES, Verdicts  # noqa: E402

# Paraphrased prompts in the shape collect_prompts.py writes; no text from a repository.
PROMPTS = [
    {"id": "p1", "kind": "claude-transcript-turn", "split": "a", "previous_turn": "Done.", "text": "Validate the name, email, phone etc. on the signup form."},
    {"id": "p2", "kind": "claude-transcript-turn", "split": "a", "previous_turn": None, "text": "CHECKOUT NOT WORKING???"},
]


def test_a_tree_lints_as_the_linter_does_in_process(linter):
    answer = lint_under(ROOT, PROMPTS)
    assert answer["promptlint"].startswith(str(ROOT))
    for p in PROMPTS:
        report = linter.lint(p["text"], path="<prompt>", previous_turn=None)
        assert [(f["code"], f["line"], f["column"]) for f in answer["findings"][p["id"]]] == [(f.code, f.start.line, f.start.column) for f in report.findings]
    assert answer["catalog"]["VAG003"]["severity"] == linter.catalog["VAG003"].severity.name
    assert answer["miss_rules"]["missing-detail"] == list(MISS_RULES["missing-detail"])


def test_findings_are_split_by_default_on_and_scored_against_verdicts():
    answer = {"catalog": {"VAG003": {"severity": "warning", "default_on": True}, "VAG002": {"severity": "info", "default_on": False},
                          "CON010": {"severity": "info", "default_on": False}},
              "findings": {"p1": [{"code": "VAG003", "span": "etc", "line": 1, "column": 36, "message": ""},
                                  {"code": "VAG002", "span": "nice", "line": 1, "column": 1, "message": ""}],
                           "p2": [{"code": "CON010", "span": "CHECKOUT", "line": 1, "column": 1, "message": ""}]}}
    verdicts = Verdicts()
    verdicts.add({"id": "p1", "code": "VAG003", "span": "etc", "line": 1, "column": 36, "verdict": "TP"}, "own")
    verdicts.add({"id": "p2", "code": "CON010", "span": "CHECKOUT", "line": 1, "column": 1, "verdict": "FP"}, "own")
    misses = [{"id": "p2", "code": "MISS:missing-detail", "verdict": "miss"}, {"id": "p1", "code": "MISS:subjective-term", "verdict": "miss"},
              {"id": "elsewhere", "code": "MISS:missing-detail", "verdict": "miss"}]
    part = score_part(PROMPTS, answer, verdicts, misses)
    assert part.warnings == [1, 1, 0, 0]
    assert part.info == [2, 0, 1, 1]  # VAG002 has no verdict
    assert [u["code"] for u in part.unjudged] == ["VAG002"]
    # Both misses of this part are caught by a finding of their family (CON010, VAG002), neither by a warning.
    assert (part.misses, part.caught, part.warned) == (2, 2, 0)


def test_a_folder_that_is_not_a_source_tree_is_refused(tmp_path, capsys):
    assert main(["--base", str(tmp_path), "--collection", str(tmp_path / "c.jsonl")]) == 2
    assert "not a promptlint source tree" in capsys.readouterr().err


def test_a_tree_that_maps_a_new_rule_to_a_family_catches_with_it():
    answer = {"catalog": {"CON099": {"severity": "info", "default_on": False}},
              "findings": {"p2": [{"code": "CON099", "span": "CHECKOUT", "line": 1, "column": 1, "message": ""}]}}
    misses = [{"id": "p2", "code": "MISS:missing-detail", "verdict": "miss"}]
    assert score_part(PROMPTS, answer, Verdicts(), misses).caught == 0  # this tree's mapping has no CON099
    answer["miss_rules"] = {"missing-detail": ["CON099"]}
    assert score_part(PROMPTS, answer, Verdicts(), misses).caught == 1
