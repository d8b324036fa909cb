"""rules/scores.toml: the runtime reads the fitted weights and rejects a malformed file clearly."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

from promptlint import scoring
from promptlint.cli import main
from promptlint.resources import builtin_rules_dir, load_toml
from promptlint.scoring import LinearModel, ScoresError, Term, load_scores, parse_scores


def builtin() -> dict:
    return load_toml(builtin_rules_dir() / "scores.toml")


def test_the_builtin_weights_load_and_are_fitted():
    scores = load_scores()
    assert scores.vagueness.terms, "the vagueness model has features"
    assert scores.escalation_repo.terms, "the escalation model with a repository has features"
    assert set(scores.cost.tiers) == {"haiku", "sonnet", "opus"}
    assert builtin()["meta"]["fitted-by"] == "bench/fit_scores.py fit"


def test_a_model_is_a_logistic_function_of_standardised_features():
    model = LinearModel("m", "t", -1.0, (Term("names_code", 1.0, 0.5, 2.0), Term("hedges", 0.0, 1.0, -1.0)))
    values = {"names_code": 2.0, "hedges": 0.5}
    z = -1.0 + 2.0 * (2.0 - 1.0) / 0.5 - 1.0 * 0.5
    assert model.linear(values) == pytest.approx(z)
    assert model.probability(values) == pytest.approx(1 / (1 + math.exp(-z)))
    assert model.contributions(values) == [("names_code", pytest.approx(4.0)), ("hedges", pytest.approx(-0.5))]
    # A feature the prompt does not have counts at its mean: no contribution.
    assert model.linear({}) == pytest.approx(-1.0)
    assert 0 < model.probability({"names_code": 1e9}) <= 1


def _broken(change) -> dict:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(builtin())
    change(data)
    return data


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d: d["vagueness"]["features"].append({"name": "shoe_size", "mean": 0, "sd": 1, "weight": 1}), "unknown feature 'shoe_size'"),
        (lambda d: d["vagueness"]["features"].append({"name": "top_share", "mean": 0, "sd": 1, "weight": 1}), "'top_share' needs a repository"),
        (lambda d: d["vagueness"].pop("intercept"), "needs an 'intercept'"),
        (lambda d: d["vagueness"].update(intercept="high"), "'intercept' must be a finite number"),
        (lambda d: d["escalation"]["repo"]["features"].append({"name": "hedges", "mean": 0, "sd": 0, "weight": 1}), "'sd' must be positive"),
        (lambda d: d["escalation"]["repo"]["features"].append({"name": "hedges", "mean": 0, "weight": 1}), "exactly the keys name, mean, sd, weight"),
        (lambda d: d["escalation"].pop("text"), "missing [text] table"),
        (lambda d: d.update(weights={}), "unknown table [weights]"),
        (lambda d: d["vagueness"].update(bias=1.0), "[vagueness] has no key 'bias'"),
        (lambda d: d["escalation"]["text"].update({"sets-tier": "no"}), "'sets-tier' must be true or false"),
        (lambda d: d["cost"]["haiku"].update({"tokens-like": "gpt"}), "'tokens-like' must name another tier"),
        (lambda d: d["cost"]["sonnet"].update(slope=float("nan")), "'slope' must be a finite number"),
        (lambda d: d["cost"].update({"output-per-input": -1}), "'output-per-input' must not be negative"),
        (lambda d: d["cost"].update({"min-logit": 3.0, "max-logit": 1.0}), "'min-logit' must not exceed 'max-logit'"),
        (lambda d: d["cost"].update(dollars=1), "[cost] has no key 'dollars'"),
    ],
)
def test_a_malformed_weights_file_is_a_clear_error(change, message):
    with pytest.raises(ScoresError) as err:
        parse_scores(_broken(change), "scores.toml")
    assert message in str(err.value) and str(err.value).startswith("scores.toml")


def test_a_duplicate_feature_is_an_error():
    def dup(d: dict) -> None:
        d["vagueness"]["features"] = [{"name": "hedges", "mean": 0, "sd": 1, "weight": 1}] * 2

    with pytest.raises(ScoresError, match="appears twice"):
        parse_scores(_broken(dup), "scores.toml")


def test_a_broken_weights_file_stops_the_cli_with_one_line_and_exit_2(tmp_path, monkeypatch):
    (tmp_path / "scores.toml").write_text("[vagueness]\nintercept = 0.0\nfeatures = [{ name = 'nope', mean = 0, sd = 1, weight = 1 }]\n")
    monkeypatch.setattr(scoring, "builtin_rules_dir", lambda: tmp_path)
    scoring.load_scores.cache_clear()
    try:
        result = CliRunner().invoke(main, ["check", "-", "--no-repo"], input="Fix the parser.")
    finally:
        scoring.load_scores.cache_clear()
    assert result.exit_code == 2
    assert "scores.toml" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_or_invalid_toml_is_a_clear_error(tmp_path):
    with pytest.raises(ScoresError, match="the model weights are missing"):
        load_scores(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[vagueness\n")
    with pytest.raises(ScoresError, match="invalid TOML"):
        load_scores(bad)


def test_vagueness_is_a_probability(linter):
    for text in ("fix it", "Fix `parse_config` in src/config.py: `parse_config('')` raises KeyError; it should return {}.", "x" * 3000):
        assert 0.0 <= linter.lint(text).vagueness <= 1.0
    assert linter.lint("   ").vagueness == 0.0


def _project_with_scores(tmp_path, monkeypatch, text: str):  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "scores.toml").write_text(text)
    (tmp_path / "promptlint.toml").write_text('rules-dir = "rules"\n')
    (tmp_path / "p.prompt").write_text("Fix the parser.\n")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[vagueness\n", "invalid TOML"),
        ("[vagueness]\nintercept = 0.0\nfeatures = [{ name = 'nope', mean = 0, sd = 1, weight = 1 }]\n", "missing [escalation] table"),
        ("\x00\x01garbage", "invalid TOML"),
    ],
)
def test_a_broken_weights_file_in_a_projects_rules_dir_is_one_line_and_exit_2(tmp_path, monkeypatch, text, message):
    _project_with_scores(tmp_path, monkeypatch, text)
    result = CliRunner().invoke(main, ["check", "--no-repo", "p.prompt"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "scores.toml" in lines[0] and message in lines[0]
    assert "Traceback" not in result.stderr


def test_a_projects_weights_replace_the_builtin_ones(tmp_path, monkeypatch):
    import json

    data = builtin()
    data["vagueness"]["intercept"] = 3.0
    data["vagueness"]["features"] = []
    data["escalation"]["text"]["intercept"] = 2.0  # P(Haiku fails) 0.88: past opus-at
    data["escalation"]["text"]["features"] = []
    lines = []
    for table, body in (("vagueness", data["vagueness"]), ("escalation.text", data["escalation"]["text"]), ("escalation.repo", data["escalation"]["repo"])):
        lines += [f"[{table}]", f"intercept = {body['intercept']}", "features = ["]
        lines += [f"  {{ name = '{t['name']}', mean = {t['mean']}, sd = {t['sd']}, weight = {t['weight']} }}," for t in body["features"]]
        lines.append("]")
    builtin_text = (builtin_rules_dir() / "scores.toml").read_text()
    lines.append(builtin_text[builtin_text.index("[cost]"):])
    _project_with_scores(tmp_path, monkeypatch, "\n".join(lines))
    result = CliRunner().invoke(main, ["check", "--no-repo", "--format", "json", "p.prompt"])
    report = json.loads(result.stdout)
    first = report[0] if isinstance(report, list) else report["files"][0]
    assert first["vagueness"] == pytest.approx(1 / (1 + math.exp(-3.0)), abs=1e-3)
    assert first["advice"]["score"] == pytest.approx(1 / (1 + math.exp(-2.0)), abs=1e-3)
    assert first["advice"]["model"] == "opus"
    # The same prompt without the project's file: the built-in weights.
    (tmp_path / "rules" / "scores.toml").unlink()
    again = json.loads(CliRunner().invoke(main, ["check", "--no-repo", "--format", "json", "p.prompt"]).stdout)
    first = again[0] if isinstance(again, list) else again["files"][0]
    assert first["vagueness"] != pytest.approx(1 / (1 + math.exp(-3.0)), abs=1e-3)


def test_out_of_range_numbers_are_rejected_and_costs_cannot_overflow():
    def huge(d: dict) -> None:
        d["vagueness"]["intercept"] = 1e300

    with pytest.raises(ScoresError, match="must be between"):
        parse_scores(_broken(huge), "scores.toml")
    cost = scoring.TierCost(intercept=1e6, slope=1e6, low=-1e6, high=1e6)
    assert math.isfinite(cost.input_tokens(1e6))


# A project's scores.toml is repository input: whatever it holds, loading it either works or is a
# ScoresError (one line, exit 2), and a loaded model gives a probability and a finite cost.
_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node, prefix=()):  # type: ignore[no-untyped-def]
    yield prefix
    if isinstance(node, dict):
        for k in sorted(node):
            yield from _paths(node[k], (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


_BUILTIN_PATHS = [p for p in _paths(load_toml(builtin_rules_dir() / "scores.toml")) if p]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_BUILTIN_PATHS), st.one_of(_leaf, st.just("<delete>"))), min_size=1, max_size=3),
       st.floats(-1e6, 1e6))
def test_any_mutation_of_the_weights_loads_or_is_a_clear_error(mutations, value):
    data = copy.deepcopy(builtin())
    for path, new in mutations:
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            if new == "<delete>":
                del node[path[-1]]
            else:
                node[path[-1]] = new
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    try:
        scores = parse_scores(data, "scores.toml")
    except ScoresError as exc:
        assert str(exc).startswith("scores.toml") and "\n" not in str(exc)
        return
    for model in (scores.vagueness, scores.escalation_text, scores.escalation_repo):
        values = {t.feature: value for t in model.terms}
        assert 0.0 <= model.probability(values) <= 1.0
        for tier in ("haiku", "sonnet", "opus"):
            assert math.isfinite(scores.cost.tiers[tier].input_tokens(model.linear(values)))


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "outside", "huge"])
def test_a_projects_weights_file_is_read_as_untrusted_input(tmp_path, monkeypatch, kind):
    """A FIFO, /dev/zero or a symlink out of the rules folder under the name scores.toml: one line,
    exit 2, at once (it used to block on the FIFO and read /dev/zero until memory ran out)."""
    import os

    _project_with_scores(tmp_path, monkeypatch, "")
    target = tmp_path / "rules" / "scores.toml"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    elif kind == "outside":
        secret = tmp_path / "elsewhere.toml"
        secret.write_text((builtin_rules_dir() / "scores.toml").read_text())
        target.symlink_to(secret)
    else:
        target.write_text("# " + "x" * 2_000_000 + "\n")
    result = CliRunner().invoke(main, ["check", "--no-repo", "p.prompt"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "scores.toml" in lines[0], lines
    assert "Traceback" not in result.stderr
