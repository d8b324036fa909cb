"""`promptlint history` on transcript fixtures in Claude Code's format, malformed lines included."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from promptlint.cli import main
from promptlint.history import scan

from .conftest import FIXTURES, REPOS


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    project = REPOS / "ts-api"
    slug = re.sub(r"[^A-Za-z0-9]", "-", str(project.resolve()))
    folder = tmp_path / "home" / ".claude" / "projects" / slug
    folder.mkdir(parents=True)
    for f in (FIXTURES / "transcripts").glob("*.jsonl"):
        shutil.copy(f, folder / f.name)
    return project


def test_scan_reads_user_prompts_models_and_usage(home, tmp_path):
    folder = next((tmp_path / "home" / ".claude" / "projects").iterdir())
    found = scan(folder)
    assert found.files == 2 and found.malformed_lines == 2
    assert [p.text[:30] for p in found.prompts] == [
        "Add a database table for custo", "Add `DELETE /products/:id` to ", "The checkout test fails interm", "fix it",
    ]
    first = found.prompts[0]
    assert first.model == "claude-opus-4-5-20251101" and first.input_tokens == 32000 and first.output_tokens == 4000


def test_history_json(home):
    result = CliRunner().invoke(main, ["history", "--project", str(home), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["prompts"] == 4 and data["malformed_lines"] == 2
    assert data["vague_share"] == 0.5  # the orders table and "fix it"
    assert dict(data["top_rules"]) == {"REF001": 1, "VAG005": 1}  # the warnings; CON004 reports at info
    oversized = data["haiku_sized_on_larger_models"]
    assert [row["model"] for row in oversized] == ["claude-opus-4-5-20251101", "claude-sonnet-4-5-20250929"]
    # Opus $5/$25 vs Haiku $1/$5 per million on 32,000 in and 4,000 out; Sonnet $3/$15 on 8,000 and 2,000
    assert oversized[0]["saving_usd"] == pytest.approx((32000 * 4 + 4000 * 20) / 1e6)
    assert oversized[1]["saving_usd"] == pytest.approx((8000 * 2 + 2000 * 10) / 1e6)
    assert data["estimated_saving_usd"] == pytest.approx(round((32000 * 4 + 4000 * 20 + 8000 * 2 + 2000 * 10) / 1e6, 4))
    assert [row["prompt"][:20] for row in data["escalation_worthy_on_haiku"]] == ["The checkout test fa"]


def test_history_since_and_text(home):
    data = json.loads(CliRunner().invoke(main, ["history", "--project", str(home), "--since", "2026-11-01", "--format", "json"]).stdout)
    assert data["prompts"] == 2
    text = CliRunner().invoke(main, ["history", "--project", str(home)]).stdout
    assert "4 prompts in 2 sessions" in text and "Haiku-sized prompts sent to Sonnet/Opus" in text


def test_history_errors(home, tmp_path):
    result = CliRunner().invoke(main, ["history", "--project", str(tmp_path)])
    assert result.exit_code == 2 and "no Claude Code transcripts" in result.stderr
    result = CliRunner().invoke(main, ["history", "--project", str(home), "--since", "last week"])
    assert result.exit_code == 2 and "expected a date" in result.stderr


def test_transcript_text_is_neither_markup_nor_terminal_control(tmp_path, monkeypatch):
    """A prompt or model name holding "[/x]" crashed the text table (rich MarkupError, exit 2) and
    ESC sequences in them reached the terminal."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    project = tmp_path / "proj"
    project.mkdir()
    slug = re.sub(r"[^A-Za-z0-9]", "-", str(project.resolve()))
    folder = tmp_path / "home" / ".claude" / "projects" / slug
    folder.mkdir(parents=True)
    lines = [
        {"type": "user", "timestamp": "2026-10-02T09:00:00Z", "message": {"role": "user", "content": "Refactor the whole codebase [/x] and \x1b]0;pwned\x07 rename everything"}},
        {"type": "assistant", "timestamp": "2026-10-02T09:00:05Z", "message": {"role": "assistant", "model": "claude-haiku-4-5[/y]\x1b[2J",
                                                                                 "content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 1, "output_tokens": 1}}},
    ]
    (folder / "t.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = CliRunner().invoke(main, ["history", "--project", str(project), "--no-repo"])
    assert result.exit_code == 0, result.output
    assert "[/x]" in result.output and "claude-haiku-4-5[/y]" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
