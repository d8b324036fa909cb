"""Every input the CLI reads is somebody's: prompt files and stdin, config files above the cwd, a
repository's rules, front matter, text bound for a terminal (issue 9). Bad input gets one clear
line and exit code 2 (or a finding), never a traceback, a hang or a run that hides other files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.cli import main
from promptlint.config import parse_config
from promptlint.errors import ConfigError
from promptlint.pipeline import MAX_FINDINGS, Linter

EXE = str(Path(sys.executable).with_name("promptlint"))


def run(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def one_error_line(result, contains: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("promptlint: error: ") and contains in lines[0], result.stderr
    assert "Traceback" not in result.output


# --- prompt inputs -------------------------------------------------------------------------------

def test_a_fifo_prompt_is_refused_at_once(tmp_path):
    fifo = tmp_path / "p.prompt"
    os.mkfifo(fifo)
    # A subprocess with a timeout: the old open() blocked forever waiting for a writer.
    proc = subprocess.run([EXE, "check", "--no-repo", str(fifo)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"promptlint: error: {fifo}: a named pipe (FIFO), not a prompt file"


def test_a_device_is_refused_without_reading_it():
    result = run("check", "--no-repo", "/dev/zero")
    one_error_line(result, "/dev/zero: a character device, not a prompt file")


def test_closed_stdin_is_a_clear_error():
    proc = subprocess.run([EXE, "check", "--no-repo", "-"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: os.close(0))
    assert proc.returncode == 2 and proc.stderr.strip() == "promptlint: error: -: no standard input to read (it is closed)"


def test_oversize_stdin_does_not_claim_a_size_it_never_read():
    result = run("check", "--no-repo", "-", input=b"a" * 1_500_000)
    one_error_line(result, "-: more than 1.0 MB is over the 1.0 MB limit")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_prompt_with_a_byte_order_mark_is_read_in_its_encoding(tmp_path, encoding):
    path = tmp_path / "p.prompt"
    data = "Fix it.".encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    plain = tmp_path / "plain.prompt"
    plain.write_text("Fix it.", encoding="utf-8")
    result = run("check", "--no-repo", str(path), "--format", "concise")
    assert result.exit_code == 1, result.output
    assert result.stdout == run("check", "--no-repo", str(plain), "--format", "concise").stdout.replace(str(plain), str(path))


def test_a_nul_anywhere_means_binary(tmp_path):
    path = tmp_path / "p.prompt"
    path.write_bytes(b"Fix the login bug. " * 1000 + b"\x00")  # after the first 8 kB
    one_error_line(run("check", "--no-repo", str(path)), "looks like a binary file, not a prompt")


def test_a_prompt_of_invisible_characters_is_empty():
    one_error_line(run("check", "--no-repo", "-", input="\u200b\u200d\ufeff \u2060\n".encode()), "-: the prompt is empty")


def test_a_crash_on_one_prompt_still_reports_the_others(tmp_path, monkeypatch):
    from promptlint import pipeline

    good, bad = tmp_path / "good.prompt", tmp_path / "bad.prompt"
    good.write_text("Fix it\n")
    bad.write_text("BOOM\n")
    real = pipeline.Linter.lint

    def lint(self, text, *args, **kwargs):
        if text.startswith("BOOM"):
            raise RuntimeError("a bug")
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(pipeline.Linter, "lint", lint)
    result = run("check", "--no-repo", "--format", "concise", str(bad), str(good))
    assert result.exit_code == 2
    assert f"{good}:1:1: VAG001" in result.stdout
    assert f"promptlint: error: {bad}: internal error while linting (RuntimeError: a bug)" in result.stderr


def test_findings_are_capped_on_a_document_that_is_not_a_prompt():
    report = Linter().lint("Fix it. Make it better. Clean it up etc.\n" * 2000)
    assert len(report.findings) == MAX_FINDINGS
    assert any("stopped reporting at 500 findings" in w for w in report.warnings)


# --- text that reaches a terminal ----------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "concise", "github"])
def test_escape_sequences_never_reach_the_terminal(fmt):
    evil = "\x1b]0;pwned\x07\x1b[2J"
    result = run("check", "--no-repo", "-", "--stdin-filename", f"x{evil}.prompt", "--format", fmt, "--no-color" if fmt == "text" else "--exit-zero",
                 input=f"Fix it{evil} and \u202eclean it up".encode())
    out = result.stdout + result.stderr
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    # shown, harmlessly: replaced in the prompt's text, escaped in a file name (tests/test_hostile_names.py)
    assert "\ufffd]0;pwned" in out or "x\\x1b]0;pwned\\x07\\x1b[2J.prompt" in out


def test_json_keeps_the_text_exact():
    import json

    result = run("check", "--no-repo", "-", "--format", "json", input=b"Fix it \x1b[2J now")
    assert json.loads(result.stdout)["files"][0]["findings"][0]["start"] == {"line": 1, "column": 1}
    assert "\\u001b" in result.stdout


# --- config files --------------------------------------------------------------------------------

def test_someone_elses_broken_pyproject_above_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("tool = 1\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "p.prompt").write_text("Fix it\n")
    monkeypatch.chdir(project)
    result = run("check", "--no-repo", "p.prompt", "--format", "concise")
    assert result.exit_code == 1 and "VAG001" in result.stdout and result.stderr == ""


def test_a_non_utf8_config_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "promptlint.toml").write_bytes(b"select = ['VAG']\n# caf\xe9\n")
    (tmp_path / "p.prompt").write_text("Fix it\n")
    monkeypatch.chdir(tmp_path)
    one_error_line(run("check", "--no-repo", "p.prompt"), f"{tmp_path / 'promptlint.toml'}: not valid UTF-8 (byte 0xe9")


def test_a_fifo_config_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / ".promptlint.toml")  # discovered: not a file, so not a config file
    os.mkfifo(tmp_path / "mine.toml")
    (tmp_path / "p.prompt").write_text("Fix it\n")
    proc = subprocess.run([EXE, "check", "--no-repo", "p.prompt"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr == ""
    proc = subprocess.run([EXE, "check", "--no-repo", "p.prompt", "--config", "mine.toml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip() == "promptlint: error: mine.toml: not read: a named pipe (FIFO)"


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_an_empty_selection_is_an_error_not_silence(option):
    result = run("check", "--no-repo", "-", option, "", input=b"Fix it")
    assert result.exit_code == 2 and f"{option} needs at least one rule code or prefix" in result.stderr


@pytest.mark.parametrize(("toml", "message"), [
    ("[hook]\nidle-timeout = nan\n", "'hook.idle-timeout' must be a number of seconds"),
    ("[hook]\nidle-timeout = inf\n", "'hook.idle-timeout' must be a number of seconds"),
    ("[advice]\nsonnet-at = nan\n", "'advice.sonnet-at' must be a number between 0 and 1"),
    ("[advice.prices]\nhaiku = [inf, 5]\n", "'advice.prices.haiku' must be [input, output]"),
    ("max-size = \"99999GB\"\n", "'max-size' is over the largest allowed size"),
    ("index-max-file-size = 1000000000\n", "'index-max-file-size' is over the largest allowed size"),
])
def test_non_finite_and_huge_values_are_refused(tmp_path, monkeypatch, toml, message):
    (tmp_path / "promptlint.toml").write_text(toml)
    (tmp_path / "p.prompt").write_text("Fix it\n")
    monkeypatch.chdir(tmp_path)
    one_error_line(run("check", "--no-repo", "p.prompt"), message)


def test_a_project_rules_dir_outside_the_project_is_refused(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (tmp_path / "elsewhere").mkdir()
    project.mkdir()
    (project / "promptlint.toml").write_text('rules-dir = "../elsewhere"\n')
    (project / "p.prompt").write_text("Fix it\n")
    monkeypatch.chdir(project)
    one_error_line(run("check", "--no-repo", "p.prompt"), "is outside the project")


def test_a_project_rule_that_can_backtrack_forever_is_refused(tmp_path, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "XYZ001.toml").write_text(
        'code = "XYZ001"\nname = "evil"\nfamily = "XYZ"\nseverity = "warning"\nstatus = "stable"\nkind = "existence"\n'
        'message = "m"\n[check]\npatterns = ["(a+)+$"]\n[doc]\nwhat = "w"\nwhy = "y"\nexample = "e"\nuse-instead = "u"\n'
        '[examples]\nfail = ["aaa"]\npass = ["b"]\n'
    )
    (tmp_path / "promptlint.toml").write_text('rules-dir = "rules"\n')
    (tmp_path / "p.prompt").write_text("Fix it\n")
    monkeypatch.chdir(tmp_path)
    one_error_line(run("check", "--no-repo", "p.prompt"), "can take exponential time on long prompts (a repeat inside a repeat")


def test_the_builtin_rules_pass_the_backtracking_check():
    from promptlint.rules.catalog import load_catalog
    from promptlint.rules.regex_safety import problem, strings

    unsafe = [(code, p) for code, rule in load_catalog().items() for p in strings(rule.check) if problem(p)]
    assert unsafe == []


@pytest.mark.parametrize(("pattern", "unsafe"), [
    ("(a+)+$", True), ("(a*)*", True), (r"(\w+\s?)+$", True), ("(.*?,){11}P", True), ("(x{2,})*", True),
    (r"\b(?:fix|change)\b", False), ("[a-z]+(?:_[a-z]+)*", False), (r"\d{1,3}(?:\.\d+)?", False), (r"(?:\s+\w+){0,3}", False),
    # re's parser factors the common prefix out (`a(?:|)`, `a(?:|a)`): these were let through and
    # took seconds on 24 characters
    ("(a|a)*$", True), ("(a|aa)+$", True), ("(ab|ab)*$", True),
    ("(a|ab)*c", False), ("(?:foo|foobar)*x", False),
])
def test_backtracking_check_examples(pattern, unsafe):
    from promptlint.rules.regex_safety import problem

    assert (problem(pattern) is not None) is unsafe


_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)),
    max_leaves=8,
)
_KEYS = st.sampled_from(["select", "extend-select", "ignore", "severity", "fail-on", "preview", "nlp-pipeline", "max-size",
                         "index-max-file-size", "advice", "llm", "hook", "rules-dir", "bogus"])
_SUBKEYS = st.sampled_from(["mode", "opt-out-prefix", "idle-timeout", "enabled", "model", "timeout", "base-url", "context",
                            "max-tokens", "sonnet-at", "opus-at", "prices", "haiku", "VAG001", "x"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_KEYS, st.one_of(_VALUES, st.dictionaries(_SUBKEYS, _VALUES, max_size=4)), max_size=4), st.booleans())
def test_any_config_value_is_accepted_or_a_config_error(tmp_path_factory, data, trusted):
    base = tmp_path_factory.getbasetemp()
    try:
        config = parse_config(data, "fuzz.toml", base, trusted=trusted)
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml")
        return
    assert config.max_size > 0 and config.server_idle_timeout > 0
    if not trusted:
        assert config.llm is False and config.llm_base_url is None


# --- front matter ---------------------------------------------------------------------------------

def _agent(front: str) -> str:
    return f"---\n{front}\n---\nYou review pull requests for security problems.\n"


@pytest.mark.parametrize("front", [
    "name: reviewer\ndescription: 2026-13-45", "name: reviewer\ndescription: 2026-02-30", "name: x\nmodel: !!float nanx",
    "name: " + "[" * 5000, "a: &a [x, x]\nb: [*a, *a, *a]", "name: !!binary zz", "name: !!python/object:os.system x",
    "name: reviewer\n" + "x: " + "y" * 70_000,
])
def test_odd_front_matter_is_a_finding_or_a_value_never_a_crash(tmp_path, front):
    agents = tmp_path / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "odd.md").write_text(_agent(front))
    (agents / "fine.md").write_text(_agent("name: fine\ndescription: Reviews code"))
    # --preview: CLD005 (front matter that is not valid YAML) is a preview rule
    result = run("check", "--no-repo", "--format", "concise", "--exit-zero", "--preview", str(tmp_path / ".claude"))
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert "odd.md" in result.stdout or "2026-" in front  # a date is just text now
    assert "fine.md" not in result.stdout or "CLD" not in result.stdout.split("fine.md")[1].split("\n")[0]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc:- \n[]{}!&*|>'\"#%@`?,0123456789.T")), max_size=200))
def test_front_matter_fuzz_never_raises(front):
    from promptlint.model import Severity

    report = Linter().lint(_agent(front), path=".claude/agents/fuzz.md")
    assert all(f.severity in Severity for f in report.findings)


def test_a_project_rule_file_symlinked_out_of_its_rules_dir_is_not_read(tmp_path, monkeypatch):
    """rules-dir must be inside the project, and so must what its files point at: a symlinked rule
    file reading ~/anything (here a rule-shaped file whose value the error message would quote)."""
    outside = tmp_path / "home"
    outside.mkdir()
    (outside / "secret.toml").write_text('code = "SECRET-VALUE-1234"\n')
    project = tmp_path / "project"
    (project / "rules").mkdir(parents=True)
    (project / "rules" / "XYZ001.toml").symlink_to(outside / "secret.toml")
    (project / "promptlint.toml").write_text('rules-dir = "rules"\n')
    (project / "p.prompt").write_text("Fix it\n")
    monkeypatch.chdir(project)
    result = run("check", "--no-repo", "p.prompt")
    one_error_line(result, "XYZ001.toml")
    assert "SECRET-VALUE" not in result.output and "outside the rules-dir" in result.output


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file owned by another user")
@pytest.mark.parametrize("name", [".promptlint.toml", "pyproject.toml"])
def test_a_config_another_user_planted_in_a_shared_folder_above_the_project_is_not_used(tmp_path, name):
    """/tmp/scratch/ has no config of its own, so the search goes up to /tmp, where any user can
    create .promptlint.toml: its rules, hook mode and messages would then lint this user's prompts
    (block every one, or put its text in front of the model). Like git's ownership check: a config
    file owned by someone else in a folder others can write is skipped."""
    from promptlint.config import discover

    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    planted = shared / name
    body = 'ignore = ["ALL"]\n[hook]\nmode = "block"\n'
    planted.write_text(body if name != "pyproject.toml" else "[tool.promptlint]\n" + body)
    os.chown(planted, 54321, 54321)
    project = shared / "scratch"
    project.mkdir()
    config = discover(project)
    assert config.source is None or config.source.parent != shared
    assert config.hook_mode == "context" and "ALL" not in config.ignore
    os.chown(planted, os.getuid(), os.getgid())  # the user's own file there is used as before
    assert discover(project).source == planted


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_prompt_file_found_in_a_folder_is_not_read_through_a_symlink_out_of_it(tmp_path, monkeypatch, fmt):
    """`promptlint check .` in CI on a checkout whose CLAUDE.md or .claude/commands/x.md links to a
    secret elsewhere showed the secret's lines under the findings and in the JSON rewrite."""
    secret = tmp_path / "credentials"
    secret.write_text("Add a database table for orders with the key sk-live-0123456789 and make it better\n")
    checkout = tmp_path / "checkout"
    (checkout / ".claude" / "commands").mkdir(parents=True)
    (checkout / "CLAUDE.md").symlink_to(secret)
    (checkout / ".claude" / "commands" / "leak.md").symlink_to(secret)
    (checkout / "ask.prompt").symlink_to(secret)
    (checkout / "AGENTS.prompt").write_text("Fix it\n")
    (checkout / "alias.prompt").symlink_to("AGENTS.prompt")  # a link inside the folder is linted
    monkeypatch.chdir(checkout)
    result = run("check", ".", "--no-repo", "--format", fmt, "--no-color" if fmt == "text" else "--exit-zero")
    assert "sk-live" not in result.output
    assert result.exit_code in (0, 1)
    for name in ("CLAUDE.md", "leak.md", "ask.prompt"):
        assert f"{name}: a symlink to a file outside .; not read" in result.stderr
    assert "alias.prompt" in result.stdout and "AGENTS.prompt" in result.stdout
    # named on its own, a file is the user's choice and is read
    assert "sk-live" in run("check", "ask.prompt", "--no-repo", "--format", "json", "--exit-zero").stdout


@pytest.mark.parametrize("run", ["[" * 4000, "`" * 3000, "([{\"'" * 700, "x" * 300])
def test_the_tokenizer_never_sees_a_long_whitespace_free_run(run, monkeypatch):
    """spaCy peels a run's prefixes and suffixes one at a time, each suffix search scanning the
    rest of the run: 200 kB of `[` held `check` for hours. Such a run is tokenised in pieces; the
    text, and every token's attributes outside the run, stay as the tokenizer makes them."""
    from promptlint.text import nlp as nlp_module

    pipeline = nlp_module.get_pipeline("blank")
    seen: list[str] = []
    real = pipeline.nlp.make_doc
    monkeypatch.setattr(pipeline.nlp, "make_doc", lambda text: seen.append(text) or real(text))
    text = f"Don't fix it\n{run} then  add the table\n"
    doc = nlp_module.run(pipeline, text)
    assert doc.text == text
    longest = max(len(part) for chunk in seen for part in chunk.split())
    assert longest <= nlp_module._LONG_RUN_PIECE
    native = real("Don't fix it\n")
    assert [(t.text, t.norm_, t.whitespace_) for t in doc[: len(native)]] == [(t.text, t.norm_, t.whitespace_) for t in native]
    tail = real(" then  add the table\n")
    assert [(t.text, t.whitespace_) for t in doc[len(doc) - len(tail) + 1 :]] == [(t.text, t.whitespace_) for t in tail][1:]
