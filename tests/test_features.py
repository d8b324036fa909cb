"""The interpretable features behind the vagueness score and the model advice, one by one on small texts."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint import features
from promptlint.text.analysis import analyze
from promptlint.text.nlp import get_pipeline
from promptlint.text.source import PromptSource

from .conftest import REPOS


def feats(text: str) -> dict[str, float]:
    return features.text_features(analyze(PromptSource(text), get_pipeline("blank")), [])


def test_every_text_feature_is_declared_and_every_declared_text_feature_is_computed():
    computed = set(feats("Fix `parse_config` in src/config.py."))
    declared = {n for n, info in features.FEATURES.items() if not info.needs_repo and n != "vagueness"}
    assert computed == declared


def test_every_feature_has_a_doc_and_a_group():
    for name, info in features.FEATURES.items():
        assert info.name == name and info.doc and info.group in {"where", "what", "done", "doubt", "rules", "shape", "kind", "repo"}


@pytest.mark.parametrize(
    "feature,present,absent",
    [
        ("names_path", "Fix the parser in src/parse.py.", "Fix the parser."),
        ("has_error", "It fails with `KeyError: 'id'` when the id is missing.", "It does the wrong thing when the id is missing."),
        ("has_error", "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nValueError: bad\n", "It stopped."),
        ("has_reproducer", "To reproduce:\n```python\nimport foo\nfoo.bar(1)\n```", "The bar function is wrong."),
        ("has_expected", "`round_up(2.5)` should return 3.", "`round_up(2.5)` is odd."),
        ("has_expected", "Add a `--dry-run` flag that prints the commands instead of running them.", "Add a `--dry-run` flag."),
        ("has_actual", "Calling it returns None.", "Look at the rounding helper."),
        ("has_example_io", ">>> add(1, 2)\n4\n", "Look at the add helper."),
        ("states_done", "Add a test that covers the empty list.", "Handle the empty list."),
        ("feature_request", "It would be nice to support YAML config files.", "The YAML loader crashes on empty files."),
        ("proposes_fix", "The fix is to check for None before the loop.", "The loop crashes on None."),
    ],
)
def test_binary_features_on_small_texts(feature, present, absent):
    assert feats(present)[feature] == 1.0, present
    assert feats(absent)[feature] == 0.0, absent


def test_counts_are_log_scaled():
    assert feats("Set the timeout to 30 and the retries to 3.")["concrete_details"] == pytest.approx(math.log(3))
    assert feats("Set the timeout.")["concrete_details"] == 0.0
    assert feats("Set `retry_limit` to \"never\".")["concrete_details"] == pytest.approx(math.log(3))
    # `count_tokens` and src/app.py: two distinct named things; the repeat does not count twice.
    assert feats("Fix `count_tokens` in src/app.py; `count_tokens` is wrong.")["names_code"] == pytest.approx(math.log(3))
    assert feats("maybe it is the cache, I think, or perhaps not")["hedges"] == pytest.approx(math.log(4))


def test_questions_and_prose_words():
    values = feats("Why does it fail? Is it the cache? Fix the loader.")
    assert values["questions"] == pytest.approx(2 / 3)
    # Words inside code blocks are not prose; its lines count as code.
    values = feats("Fix this:\n```\na = 1\nb = 2\n```")
    assert values["prose_words"] == pytest.approx(math.log(3)) and values["code_lines"] == pytest.approx(math.log(3))


def test_rule_findings_feed_the_rule_features(linter):
    from promptlint.text.analysis import analyze

    analysis = analyze(PromptSource("Clean up the code and make it nicer."), linter.pipeline)
    findings = linter.engine.run(analysis)
    values = features.text_features(analysis, findings)
    assert values["vague_findings"] > 0 and values["constraint_findings"] > 0


def test_text_features_asked_again_are_the_same_and_follow_the_findings(linter):
    from promptlint.text.analysis import analyze

    text = "Clean up the code and make it nicer."
    analysis = analyze(PromptSource(text), linter.pipeline)
    findings = linter.engine.run(analysis)
    first = features.text_features(analysis, findings)
    first["vague_findings"] = -1.0  # a caller's change (extract adds to the dict) stays its own
    again = features.text_features(analysis, findings)
    fresh = features.text_features(analyze(PromptSource(text), linter.pipeline), findings)
    assert again == fresh and again["vague_findings"] > 0
    # other findings on the same analysis: the finding features are computed for them
    none = features.text_features(analysis, [])
    assert none["vague_findings"] == 0.0 and none["constraint_findings"] == 0.0
    assert {k: v for k, v in none.items() if not k.endswith("_findings")} == {k: v for k, v in fresh.items() if not k.endswith("_findings")}


def test_repository_features(linter):
    from promptlint.text.analysis import analyze

    repo = linter.repo_context(REPOS / "ts-api")
    analysis = analyze(PromptSource("Add a `stock` column to the products table in src/db/schema.ts."), linter.pipeline)
    resolution = repo.resolver.resolve(analysis)
    values = features.extract(analysis, [], resolution, repo, estimated_files=2)
    assert values["resolved_code"] > 0 and values["unresolved_share"] < 1
    assert 0 < values["top_share"] <= 1 and values["likely_files"] > 0
    assert values["estimated_files"] == pytest.approx(math.log(3))
    assert values["likely_size"] > 0 and values["likely_defs"] > 0 and values["likely_in_degree"] >= 0
    missing = analyze(PromptSource("Fix `noSuchFunctionAnywhere` in src/nowhere.ts."), linter.pipeline)
    values = features.extract(missing, [], repo.resolver.resolve(missing), repo)
    assert values["unresolved_share"] == 1.0 and values["resolved_code"] == 0.0
    # Without a repository only the text features exist.
    assert not any(features.FEATURES[n].needs_repo for n in features.extract(missing, []))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_the_extractor_never_raises_and_gives_finite_values(text):
    values = feats(text)
    assert all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in values.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["Fix", "`a_b`", "src/x.py", "```\nx = 1\n```", "?", "maybe", "42", "\"q\"", "\n", "should return", ">>> f()", "Error:"]), max_size=30))
def test_the_extractor_never_raises_on_code_like_fragments(parts):
    values = feats(" ".join(parts))
    assert all(math.isfinite(v) for v in values.values())


def test_several_symptoms_sees_added_symptoms_in_prose_only():
    one = "The export crashes on empty tables."
    two = "The export crashes on empty tables. It also drops the header, and another problem: the footer is doubled."
    assert feats(one)["several_symptoms"] == 0.0
    assert feats(two)["several_symptoms"] == 1.0
    # A word inside quoted code is not the reporter adding a symptom.
    assert feats("The export crashes:\n```python\nalso = another = 1\n```")["several_symptoms"] == 0.0
    # "also" as part of another word does not count.
    assert feats("The alsoran module crashes.")["several_symptoms"] == 0.0
