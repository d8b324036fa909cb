"""The command line through click's runner: exit codes, inputs, formats, config, rule docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptlint.cli import main

from .conftest import PROMPTS, REPOS

VAGUE = str(PROMPTS / "fix-it.prompt")
EXPLICIT = str(PROMPTS / "orders-table-explicit.prompt")


def run(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_explicit_prompt_exits_zero():
    result = run("check", EXPLICIT, "--repo", str(REPOS / "ts-api"))
    assert result.exit_code == 0, result.output
    assert "All clear" in result.stdout


def test_vague_prompt_exits_one_and_shows_spans():
    result = run("check", VAGUE, "--no-color")
    assert result.exit_code == 1
    assert "fix-it.prompt:1:1: VAG001" in result.stdout
    assert " 1 | fix it" in result.stdout
    assert "^^^^^^ vague-task-verb" in result.stdout
    assert "= help:" in result.stdout
    assert "Found 4 problems (0 errors, 1 warning, 3 info) in 1 of 1 file." in result.stdout


def test_exit_zero_and_fail_on():
    assert run("check", VAGUE, "--exit-zero").exit_code == 0
    assert run("check", VAGUE, "--fail-on", "error").exit_code == 0
    # only info-level findings: pass at warning, fail at info
    args = ["check", "-", "--select", "CON002"]
    assert run(*args, input="Add a `--json` flag to `cli.py` that prints the report as JSON.").exit_code == 0
    assert run(*args, "--fail-on", "info", input="Add a `--json` flag to `cli.py` that prints the report as JSON.").exit_code == 1


def test_select_and_ignore_on_the_command_line():
    out = json.loads(run("check", VAGUE, "--format", "json", "--select", "VAG,SCO", "--ignore", "VAG005").stdout)
    assert {f["code"] for f in out["files"][0]["findings"]} == {"VAG001"}


def test_stdin_with_filename():
    result = run("check", "-", "--stdin-filename", "draft.prompt", "--format", "concise", input="Fix it.\n")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("draft.prompt:1:1: ")


def test_directory_finds_prompt_files(tmp_path):
    (tmp_path / "a.prompt").write_text("Fix it.\n")
    (tmp_path / "b.prompt.md").write_text("Add a `--verbose` flag to `cli.py`; `pytest` must pass.\n")
    (tmp_path / "notes.md").write_text("Fix it.\n")
    (tmp_path / ".claude" / "commands").mkdir(parents=True)
    (tmp_path / ".claude" / "commands" / "review.md").write_text("Review everything.\n")
    (tmp_path / ".claude" / "settings.json").write_text("{}")
    (tmp_path / "CLAUDE.md").write_text("Use `npm test` to run tests.\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.prompt").write_text("Fix it.\n")
    out = json.loads(run("check", str(tmp_path), "--format", "json", "--exit-zero").stdout)
    paths = sorted(Path(f["path"]).relative_to(tmp_path).as_posix() for f in out["files"])
    assert paths == [".claude/commands/review.md", "CLAUDE.md", "a.prompt", "b.prompt.md"]


def test_claude_dir_argument(tmp_path):
    (tmp_path / ".claude" / "agents").mkdir(parents=True)
    (tmp_path / ".claude" / "agents" / "rev.md").write_text("---\nname: rev\n---\nReview the diff.\n")
    out = json.loads(run("check", str(tmp_path / ".claude"), "--format", "json", "--exit-zero").stdout)
    assert [Path(f["path"]).name for f in out["files"]] == ["rev.md"]


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "the prompt is empty"),
        (b"  \n\t\n", "the prompt is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "looks like a binary file, not a prompt"),
        (b"caf\xe9 fix it", "not valid UTF-8 (byte 0xe9 at offset 3)"),
    ],
)
def test_bad_inputs_get_one_clear_line_and_exit_two(tmp_path, content, message):
    path = tmp_path / "p.prompt"
    path.write_bytes(content)
    result = run("check", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"promptlint: error: {path}: {message}"
    assert "Traceback" not in result.output


def test_missing_file_and_empty_dir(tmp_path):
    result = run("check", str(tmp_path / "nope.prompt"))
    assert result.exit_code == 2 and "no such file or directory" in result.stderr
    result = run("check", str(tmp_path))
    assert result.exit_code == 2 and "no prompt files found" in result.stderr


def test_good_files_are_still_reported_when_another_is_bad(tmp_path):
    result = run("check", VAGUE, str(tmp_path / "nope.prompt"), "--format", "concise")
    assert result.exit_code == 2
    assert "VAG001" in result.stdout and "nope.prompt" in result.stderr


def test_five_megabyte_prompt_is_refused_quickly(tmp_path):
    path = tmp_path / "huge.prompt"
    path.write_text("Fix it. " * 650_000)
    result = run("check", str(path))
    assert result.exit_code == 2
    assert "5.2 MB is over the 1.0 MB limit" in result.stderr


def test_max_size_can_be_lowered_and_raised(tmp_path):
    path = tmp_path / "p.prompt"
    path.write_text("Fix it. " * 200)
    assert "over the 1.0 kB limit" in run("check", str(path), "--max-size", "1kB").stderr
    assert run("check", str(path), "--max-size", "2MB").exit_code == 1
    assert run("check", str(path), "--max-size", "lots").exit_code == 2


def test_stdin_over_the_limit(tmp_path):
    result = run("check", "-", "--max-size", "10", input="Fix it, fix it, fix it.")
    assert result.exit_code == 2 and "over the 10 bytes limit" in result.stderr


def test_config_file_is_used_and_invalid_config_exits_two(tmp_path):
    (tmp_path / "promptlint.toml").write_text('ignore = ["VAG", "CON"]\n')
    (tmp_path / "p.prompt").write_text("Fix it.\n")
    assert run("check", str(tmp_path / "p.prompt")).exit_code == 0
    assert run("check", str(tmp_path / "p.prompt"), "--isolated").exit_code == 1
    (tmp_path / "promptlint.toml").write_text('ignroe = ["VAG"]\n')
    result = run("check", str(tmp_path / "p.prompt"))
    assert result.exit_code == 2
    assert "unknown key 'ignroe'" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_explicit_config_path(tmp_path):
    cfg = tmp_path / "strict.toml"
    cfg.write_text('fail-on = "info"\nselect = ["CON002"]\n')
    result = run("check", "-", "--config", str(cfg), input="Add a `--json` flag to `cli.py` that prints JSON.")
    assert result.exit_code == 1
    assert run("check", "-", "--config", str(tmp_path / "missing.toml"), input="x").exit_code == 2


def test_unknown_selector_on_cli_exits_two():
    result = run("check", VAGUE, "--select", "NOPE")
    assert result.exit_code == 2 and "selects no rule: 'NOPE'" in result.stderr


def test_repo_options():
    assert run("check", VAGUE, "--repo", "/definitely/not/here").exit_code == 2
    assert run("check", VAGUE, "--repo", str(REPOS / "ts-api"), "--no-repo").exit_code == 2
    result = run("check", VAGUE, "--no-repo", "-v")
    assert "repo: none" in result.stdout
    assert "nlp: spaCy blank('en')" in result.stdout


def test_no_paths_is_a_usage_error():
    result = run("check")
    assert result.exit_code == 2 and "at least one prompt" in result.stderr


def test_rule_command_prints_the_doc():
    result = run("rule", "VAG001")
    assert result.exit_code == 0
    assert result.stdout.startswith("# vague-task-verb (VAG001)")
    assert "## Why is this bad?" in result.stdout
    by_name = run("rule", "vague-task-verb")
    assert by_name.stdout == result.stdout
    data = json.loads(run("rule", "SCO002", "--format", "json").stdout)
    assert data["name"] == "multiple-independent-tasks" and data["status"] == "stable"


def test_unknown_rule_exits_two():
    result = run("rule", "XYZ999")
    assert result.exit_code == 2
    assert result.stderr.strip() == "promptlint: error: unknown rule 'XYZ999' (see `promptlint rules`)"


def test_rules_lists_everything():
    text = run("rules").stdout
    for code in ("VAG001", "SCO002", "CON005", "VAG006"):
        assert code in text
    data = json.loads(run("rules", "--format", "json").stdout)
    assert {"code", "name", "family", "severity", "status"} <= set(data[0])
    assert any(r["status"] == "preview" for r in data)


def test_version():
    from promptlint import __version__

    assert run("--version").stdout.strip() == f"promptlint, version {__version__}"
