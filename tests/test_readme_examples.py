"""The README's example sessions are what the CLI prints today (they went stale once when the
weights were refitted: every figure in them comes from rules/scores.toml and the ranking)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from promptlint.cli import main

from .conftest import ROOT


def readme_session(command: str) -> str:
    """The output the README shows under ``$ <command>`` in a ```text block."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```text\n\$ " + re.escape(command) + r"\n(.*?)```", readme, re.S)
    assert match, f"no README example for {command!r}"
    return match.group(1)


@pytest.mark.parametrize("command", [
    "promptlint check fixtures/prompts/orders-table.prompt --repo fixtures/repos/ts-api",
    "promptlint advise fixtures/prompts/orders-table.prompt --repo fixtures/repos/ts-api",
])
def test_readme_example_is_what_the_cli_prints(command, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, [*command.split()[1:], "--server", "never"])
    assert result.stdout == readme_session(command)
