"""Whether the warm server's spare child is still current: it was forked with the server's warm
repository contexts and Linters, and must not answer once any of them was replaced."""

from __future__ import annotations

from pathlib import Path

from promptlint import pipeline
from promptlint.server import PromptlintServer


class _Context:  # stands for a RepoContext: only its identity matters here
    pass


def test_a_replaced_context_makes_the_spare_stale_even_at_the_same_address(monkeypatch):
    """Identity by id() alone was wrong: a context freed after the spare was forked leaves its
    address to the next one (CPython reuses it at once), and a stale spare looked current."""
    monkeypatch.setattr(pipeline, "_warm_repos", {})
    monkeypatch.setattr(pipeline, "_default", {})
    server = PromptlintServer()
    key = (Path("/repo"), 1_000_000)
    pipeline._warm_repos[key] = _Context()
    forked_with = server._state()
    for _ in range(20):
        pipeline._warm_repos[key] = None  # the old context is freed...
        fresh = _Context()  # ...and a refresh's new one is made, most often at the same address
        pipeline._warm_repos[key] = fresh
        assert not server._spare_is_current(forked_with)
    assert server._spare_is_current(server._state())
