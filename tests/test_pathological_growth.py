"""Untrusted prompt text must not make the analysis superlinear (bench/bench_pathological.py times
it). No timing here: each test counts the work a stage does on a hostile text of size n and of 2n, and
asserts it doubles at most (with slack), where the quadratic version quadrupled."""

from __future__ import annotations

import pytest

from promptlint.pipeline import Linter
from promptlint.text import analysis


@pytest.fixture(scope="module")
def linter():
    return Linter()


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def _calls(monkeypatch, module, name: str, run) -> int:
    real = getattr(module, name)
    count = 0

    def counted(*args, **kwargs):
        nonlocal count
        count += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    try:
        run()
    finally:
        monkeypatch.setattr(module, name, real)
    return count


def test_clause_starts_in_a_run_of_brackets_are_walked_once(linter, monkeypatch):
    # Every "(" starts a clause and every start skipped the whole run of punctuation after it: the
    # markup test ran once per (start, token) pair, 4x per doubling.
    small = _calls(monkeypatch, analysis, "_is_markup", lambda: linter.lint(_fill("([{`\"'< ", 4000)))
    large = _calls(monkeypatch, analysis, "_is_markup", lambda: linter.lint(_fill("([{`\"'< ", 8000)))
    assert small > 0 and large <= 2.5 * small, (small, large)
