"""Precision first: default-on rules measured on the labelled fixture prompts, with floors."""

from __future__ import annotations

import pytest

from promptlint.evaluation import evaluate
from promptlint.resources import load_toml

from .conftest import PROMPTS, REPOS

LABEL_SETS = ["labels.toml", "heldout/labels.toml"]


@pytest.mark.parametrize("labels", LABEL_SETS)
def test_precision_and_recall_per_family(linter, labels, capsys):
    result = evaluate(PROMPTS / labels, linter, REPOS)
    with capsys.disabled():
        print(f"\n{labels} ({result.prompts} prompts)\n{result.table()}")
    for family, score in result.families.items():
        assert score.precision >= 0.9, f"{family} precision {score.precision:.2f}: {result.mistakes}"
        assert score.recall >= 0.6, f"{family} recall {score.recall:.2f}: {result.mistakes}"
    assert {"VAG", "SCO", "CON", "REF"} <= set(result.families) or labels != "labels.toml"
    assert result.tiers_labelled == result.prompts
    assert result.tier_accuracy >= 0.95, result.tier_mistakes


def test_there_are_enough_labelled_prompts_of_both_kinds():
    items = load_toml(PROMPTS / "labels.toml")["prompt"]
    assert len(items) >= 40
    explicit = [i for i in items if not i["expect"]]
    vague = [i for i in items if i["expect"]]
    assert len(explicit) >= 15 and len(vague) >= 15
    long_prompts = [i for i in items if (PROMPTS / i["file"]).read_text().count("\n") >= 4]
    assert len(long_prompts) >= 5


def test_every_label_names_a_real_rule_and_file(linter):
    for labels in LABEL_SETS:
        for item in load_toml(PROMPTS / labels)["prompt"]:
            assert (PROMPTS / labels).parent.joinpath(item["file"]).is_file()
            assert (REPOS / item["repo"]).is_dir()
            assert set(item["expect"]) <= set(linter.catalog)


def test_explicit_prompts_are_quiet(linter):
    """The bar for precision: a prompt a careful engineer would call explicit gets no default-on finding."""
    for item in load_toml(PROMPTS / "labels.toml")["prompt"]:
        if not item["expect"]:
            report = linter.lint((PROMPTS / item["file"]).read_text())
            assert report.findings == [], (item["file"], [(f.code, f.message) for f in report.findings])
