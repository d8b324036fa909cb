"""The compiled-regex cache: patterns from it are re's own, and a bad file is never trusted."""

from __future__ import annotations

import json
import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint import regexcache

PATTERNS = [
    (r"\b(?:fix|add)\s+(?P<what>\w+)", re.I),
    (r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])\s", re.M),
    (r"(?<=[a-z])\.(?=[A-Z])|[\u2018-\u201f]+", 0),
    (r"(?P<a>x)(?P<b>y)?(?(b)z|w)\1", re.S | re.X),
    ("[" + "".join(chr(c) for c in range(0x400, 0x4ff)) + "]+", re.I),
]


@pytest.fixture
def cache(tmp_path):
    folder = tmp_path / "regex"
    yield folder
    regexcache.uninstall()
    re.purge()


def _run(folder):
    """One 'process': install, compile the patterns, save, uninstall."""
    re.purge()
    assert regexcache.install(str(folder))
    made = [re.compile(p, f) for p, f in PATTERNS]
    regexcache.save()
    regexcache.uninstall()
    re.purge()
    return made


def test_patterns_from_the_cache_are_res_own(cache):
    _run(cache)
    (path,) = cache.iterdir()
    assert stat_mode(path) == 0o600
    re.purge()
    assert regexcache.install(str(cache))
    for pattern, flags in PATTERNS:
        cached = re.compile(pattern, flags)
        assert regexcache._state["hits"] == [1]
        regexcache.uninstall()
        re.purge()
        fresh = re.compile(pattern, flags)
        assert cached == fresh  # same pattern, flags and compiled code
        assert cached.groupindex == fresh.groupindex and cached.groups == fresh.groups
        text = "Fix login. Then add \u201ctests\u201d xyzx xw \u0410\u0411\u0412 - item"
        assert [m.span() for m in cached.finditer(text)] == [m.span() for m in fresh.finditer(text)]
        re.purge()
        assert regexcache.install(str(cache))


def stat_mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def _tamper(path, edit):
    digest, _, payload = path.read_text().partition("\n")
    entries = json.loads(payload)
    edit(entries)
    payload = json.dumps(entries)
    path.write_text(regexcache._checksum(payload) + "\n" + payload)


@pytest.mark.parametrize("damage", ["checksum", "truncated", "not-json", "bad-entry", "bad-code", "symlink"])
def test_a_damaged_file_only_costs_a_fresh_compile(cache, tmp_path, damage):
    _run(cache)
    (path,) = cache.iterdir()
    if damage == "checksum":
        path.write_text(path.read_text().replace('(?:fix', '(?:fox', 1))
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-50])
    elif damage == "not-json":
        payload = "{not json"
        path.write_text(regexcache._checksum(payload) + "\n" + payload)
    elif damage == "bad-entry":
        _tamper(path, lambda entries: [e.__setitem__(4, "two") for e in entries])
    elif damage == "bad-code":
        # Valid JSON with the right checksum, but code _sre refuses (or a length no multiple of 4).
        _tamper(path, lambda entries: [e.__setitem__(3, "AAAA" if i % 2 else "AAA=") for i, e in enumerate(entries)])
    else:
        real = tmp_path / "elsewhere.json"
        path.rename(real)
        path.symlink_to(real)
    re.purge()
    assert regexcache.install(str(cache))
    got = [re.compile(p, f) for p, f in PATTERNS]
    assert regexcache._state["hits"] == [0]  # nothing came from the file
    regexcache.uninstall()
    re.purge()
    assert got == [re.compile(p, f) for p, f in PATTERNS]


def test_a_folder_others_can_write_is_not_used(cache):
    cache.mkdir(mode=0o700)
    os.chmod(cache, 0o777)
    re.purge()
    assert not regexcache.install(str(cache))
    assert not regexcache._state


def test_switched_off_by_the_environment(cache, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_REGEX_CACHE", "0")
    assert not regexcache.install(str(cache))


@pytest.mark.filterwarnings("ignore::FutureWarning")  # re's own warning on generated "[[" sets
@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"[a-z()|*+?\[\]\\.^$]{1,12}", fullmatch=True), st.sampled_from([0, re.I, re.M | re.S, re.X]))
def test_any_pattern_round_trips(tmp_path_factory, pattern, flags):
    try:
        expected = re.compile(pattern, flags)
    except re.error:
        return
    folder = tmp_path_factory.mktemp("rx")
    result, hits = None, None
    for _ in range(2):  # the first run writes the entry, the second compiles from it
        re.purge()
        assert regexcache.install(str(folder))
        try:
            result = re.compile(pattern, flags)
            hits = regexcache._state["hits"][0]
            regexcache.save()
        finally:
            regexcache.uninstall()
            re.purge()
    assert hits == 1
    assert result == expected


def test_transient_patterns_are_served_from_the_cache_but_never_written(cache):
    _run(cache)
    (path,) = cache.iterdir()
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    re.purge()
    assert regexcache.install(str(cache))
    with regexcache.transient():
        cached = re.compile(*PATTERNS[0])  # in the file: served from it
        assert regexcache._state["hits"] == [1]
        made = re.compile(r"\bbilling[\s_-]*services?\s+module\b", re.I)  # not in it: compiled by re
        with regexcache.transient():
            re.compile(r"nested\d+")
        after_nested = re.compile(r"still[ ]transient")
    regexcache.save()  # nothing added: the file is not rewritten
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    regexcache.uninstall()
    re.purge()
    assert made == re.compile(r"\bbilling[\s_-]*services?\s+module\b", re.I) and cached == re.compile(*PATTERNS[0])
    assert after_nested.pattern == "still[ ]transient"
    # outside transient() a new pattern is still kept
    re.purge()
    assert regexcache.install(str(cache))
    re.compile(r"kept[ ]outside")
    regexcache.save()
    keys = {(e[0], e[1]) for e in json.loads(path.read_text().split("\n", 1)[1])}
    assert ("kept[ ]outside", 0) in keys and not {r"nested\d+", "still[ ]transient"} & {k[0] for k in keys}


def test_a_run_on_new_input_leaves_the_cache_file_alone(tmp_path):
    """`promptlint check` twice on the same prompt, then on one about another file ("the billing
    service"): the regex cache file keeps its bytes and its mtime."""
    import subprocess
    import sys

    from .repo_helpers import git, write

    repo = tmp_path / "repo"
    write(repo, "src/transaction_manager.py", "class TransactionManager:\n    def commit_transaction(self, total):\n        return total / 1\n")
    write(repo, "src/billing_service.py", "class BillingService:\n    def charge_invoice(self, total):\n        return total\n")
    write(repo, "src/app.py", "def run():\n    return 1\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "PROMPTLINT_CACHE_DIR": str(cache_dir)}
    env.pop("PROMPTLINT_REGEX_CACHE", None)

    def check(text):  # type: ignore[no-untyped-def]
        prompt = tmp_path / "p.txt"
        prompt.write_text(text)
        run = subprocess.run([sys.executable, "-m", "promptlint", "check", "--exit-zero", "--format", "json", "--repo", str(repo),
                              "--server", "never", str(prompt)], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
        (path,) = (cache_dir / f"regex-v{regexcache._FORMAT}").iterdir()
        return path.read_bytes(), path.stat().st_mtime_ns

    # both name no file, so REF001 looks for the file named in words (one pattern per candidate path)
    first = check("Fix the crash in the transaction manager when the total is zero.")
    assert check("Fix the crash in the transaction manager when the total is zero.") == first
    assert check("Fix the crash in the billing service when the total is zero.") == first
