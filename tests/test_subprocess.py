"""The installed `promptlint` command as a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROMPTS, REPOS


def _installed_command() -> str:
    # The script pip installed beside this interpreter, else whatever is on PATH.
    beside = Path(sys.executable).with_name("promptlint")
    found = str(beside) if beside.exists() else shutil.which("promptlint")
    assert found, "the promptlint command is not installed (pip install -e '.[test]')"
    return found


def sh(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_installed_command(), *args], input=input, capture_output=True, text=True, timeout=120)


def test_quickstart_command_runs_against_the_bundled_repo():
    proc = sh("check", str(PROMPTS / "orders-table.prompt"), "--repo", str(REPOS / "ts-api"))
    assert proc.returncode == 1
    assert "CON004" in proc.stdout and "Traceback" not in proc.stderr


def test_json_through_a_pipe():
    proc = sh("check", "-", "--format", "json", "--fail-on", "info", input="Refactor the entire codebase, the tests, the docs etc.")
    assert proc.returncode == 1  # findings at info, and --fail-on info counts them
    data = json.loads(proc.stdout)
    assert "SCO001" in {f["code"] for f in data["files"][0]["findings"]}


def test_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.prompt"
    bad.write_bytes(b"\xff\xfe\x00binary")
    proc = sh("check", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_python_dash_m_works():
    proc = subprocess.run([sys.executable, "-m", "promptlint", "rule", "SCO001"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("# totality-term (SCO001)")


@pytest.mark.parametrize("args", [["--version"], ["rules"], ["rule", "VAG001"], ["--help"]])
def test_commands_that_do_not_analyse_text_do_not_import_spacy(args):
    code = (
        "import sys\n"
        "from promptlint.cli import main\n"
        f"try:\n    main({args!r}, prog_name='promptlint')\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('SPACY_LOADED=%s' % ('spacy' in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "SPACY_LOADED=False" in proc.stderr, proc.stderr


def test_check_does_import_spacy():
    code = (
        "import sys\nfrom promptlint.cli import main\n"
        "try:\n    main(['check', '-', '--exit-zero'], prog_name='promptlint')\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('SPACY_LOADED=%s' % ('spacy' in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input="Fix it.", capture_output=True, text=True, timeout=60)
    assert "SPACY_LOADED=True" in proc.stderr
