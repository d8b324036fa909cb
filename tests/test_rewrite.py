"""The deterministic rewrite and the model advice, on the fixtures and as commands."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from promptlint.cli import main
from promptlint.resources import load_toml

from .conftest import PROMPTS, REPOS

TS = REPOS / "ts-api"
RUST = REPOS / "rust-crate"
_PATH = re.compile(r"(?<![\w/.<-])((?:[\w.-]+/)+[\w.-]+\.\w+|[\w-]+\.(?:ts|tsx|js|py|rs|go|java|toml|json|md))\b")


def all_fixture_prompts():
    for labels in ("labels.toml", "heldout/labels.toml"):
        for item in load_toml(PROMPTS / labels)["prompt"]:
            yield (PROMPTS / labels).parent / item["file"], REPOS / item["repo"], item


def test_seed_example_rewrite(linter):
    report = linter.lint("Add a database table for customer orders", repo=TS)
    text = report.rewrite
    assert text.startswith("Add a database table for customer orders\n")
    assert "Use the existing code in src/db/schema.ts as the reference (it defines `users`, `products`, `User`)." in text
    assert "Fields: <name, type and key of each field; relations to other tables>" in text
    assert "Tests use vitest in tests/, following tests/users.test.ts; run them with `npm test`." in text
    assert "TypeScript strict mode is on" in text
    assert "Don't modify existing tests" in text
    assert text.rstrip().endswith("ask me before you start.")


def test_rust_rewrite_names_the_error_crate(linter):
    text = linter.lint("Add error handling to the crate.", repo=RUST).rewrite
    assert "Errors: define error variants with thiserror" in text
    assert "`cargo test`" in text and "`cargo clippy -- -D warnings`" in text


def test_an_info_finding_of_a_rule_that_offers_the_rewrite_still_gets_one(linter):
    # CON004 reports at info (demoted for precision on fresh prompts) and is marked offers-rewrite
    assert linter.catalog["CON004"].offers_rewrite and linter.catalog["CON004"].severity.name == "info"
    report = linter.lint("Add a database table for customer orders", path="<prompt>")
    assert {f.severity.name for f in report.findings} == {"info"}
    assert "Fields: <name, type and key of each field" in report.rewrite
    # an info finding of a rule without the mark asks for no rewrite on its own
    assert not linter.catalog["CON002"].offers_rewrite
    only_tests = linter.lint("Add a `--json` flag to `cli.py` that prints the report as JSON.", path="<prompt>")
    assert {f.code for f in only_tests.findings} <= {"CON002"} and only_tests.rewrite is None


def test_explicit_prompts_get_no_rewrite(linter):
    for prompt, repo, item in all_fixture_prompts():
        if not item["expect"]:
            assert linter.lint(prompt.read_text(), repo=repo).rewrite is None, prompt.name


def test_over_broad_prompt_becomes_a_numbered_split_with_a_planning_step(linter):
    report = linter.lint((PROMPTS / "three-tasks.prompt").read_text(), repo=TS)
    assert report.advice["model"] == "sonnet"
    text = report.rewrite
    assert text.startswith("This prompt holds 3 independent tasks.")
    assert "0. Planning prompt (Sonnet):" in text
    steps = re.findall(r"^(\d)\. (.+)$", text, re.M)
    assert [s[1] for s in steps[1:]] == ["Add a dark mode toggle to the settings page.", "Fix the flaky signup test.", "Migrate the config to YAML."]


def test_placeholders_never_invent_facts(linter, preview_linter):
    text = linter.lint("Make the search fast, if possible, and handle errors etc.", repo=None).rewrite
    assert '"fast": <a measurable target' in text
    assert '"etc.": <the complete list>' in text
    assert "if possible" not in text.split("\n\n", 1)[1]  # VAG004 is preview: no placeholder by default
    assert "Stack:" not in text  # no repository, no repository facts
    text = preview_linter.lint("Make the search fast, if possible, and handle errors etc.", repo=None).rewrite
    assert '"if possible": <required, or under which condition?>' in text


@pytest.mark.parametrize("prompt,repo,item", list(all_fixture_prompts()), ids=lambda v: getattr(v, "name", ""))
def test_every_path_in_a_rewrite_exists_or_was_in_the_prompt(linter, prompt, repo, item):
    report = linter.lint(prompt.read_text(), repo=repo)
    if report.rewrite is None:
        return
    files = set(linter.repo_context(repo).index.files)
    for match in _PATH.finditer(report.rewrite):
        path = match.group(1)
        assert path in files or path in report.text, f"{prompt.name}: invented {path!r}"


def test_advise_command(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["advise", str(PROMPTS / "security-review-auth.prompt"), "--repo", str(TS)])
    assert result.exit_code == 0
    assert result.stdout.startswith("Model: Claude Opus 4.5")
    assert "ESC007" in result.stdout
    data = json.loads(runner.invoke(main, ["advise", "-", "--no-repo", "--format", "json"], input="How should I structure the billing module?").stdout)
    assert data["model"] == "sonnet" and data["reasons"][0]["code"] == "ESC001"


def test_rewrite_command_and_diff():
    runner = CliRunner()
    plain = runner.invoke(main, ["rewrite", str(PROMPTS / "orders-table.prompt"), "--repo", str(TS)])
    assert plain.exit_code == 0 and "Fields: <" in plain.stdout
    diff = runner.invoke(main, ["rewrite", str(PROMPTS / "orders-table.prompt"), "--repo", str(TS), "--diff"])
    assert diff.stdout.startswith("--- ") and "+Context:" in diff.stdout
    explicit = runner.invoke(main, ["rewrite", str(PROMPTS / "orders-table-explicit.prompt"), "--repo", str(TS)])
    assert explicit.exit_code == 0 and explicit.stdout == "" and "already explicit" in explicit.stderr


def test_advice_prices_come_from_config(tmp_path):
    (tmp_path / "promptlint.toml").write_text("[advice]\nsonnet-at = 0.1\nprices = { opus = [15, 75] }\n")
    prompt = tmp_path / "p.prompt"
    prompt.write_text("Add a database table for customer orders")
    data = json.loads(CliRunner().invoke(main, ["advise", str(prompt), "--repo", str(TS), "--format", "json"]).stdout)
    assert data["model"] == "sonnet" and data["score"] < 0.45  # under the default threshold, over this one
    assert data["cost"]["per_million_tokens"]["opus"] == {"input": 15.0, "output": 75.0}
    assert data["cost"]["per_million_tokens"]["haiku"] == {"input": 1.0, "output": 5.0}


def test_bad_advice_config_names_the_key(tmp_path):
    (tmp_path / "promptlint.toml").write_text("[advice]\nsonet-at = 0.2\n")
    prompt = tmp_path / "p.prompt"
    prompt.write_text("Fix it.")
    result = CliRunner().invoke(main, ["advise", str(prompt)])
    assert result.exit_code == 2 and "unknown key 'advice.sonet-at'" in result.stderr
