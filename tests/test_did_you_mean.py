"""did-you-mean for a path that is not there gives what the plain computation gives: the suffix
match over lower-cased names made once, each path's folders split once per resolver, the pool's
ratios computed once and cut short by difflib's quick_ratio bound. Checked against the code as it
was before these shortcuts, on random misspellings in a repository where many files share a name
(as django's locale folders share django.po), which is where the shortcuts matter."""

from __future__ import annotations

import difflib
import posixpath
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LANGS = ["de", "fr", "pt_BR", "zh_Hans", "es_CO", "ia", "kn", "lv"]
FILES = sorted(
    [f"app/{part}/locale/{lang}/LC_MESSAGES/app.{ext}" for part in ("auth", "admin", "forms") for lang in LANGS for ext in ("po", "mo")]
    + [f"app/{part}/{name}.py" for part in ("auth", "admin", "forms") for name in ("models", "views", "apps", "forms")]
    + ["docs/releases/1.3.6.txt", "docs/releases/1.3.7.txt", "tests/fixtures/pretty.xml", "app/forms/widgets.py"]
)


@pytest.fixture(scope="module")
def resolver(tmp_path_factory, linter):
    root: Path = tmp_path_factory.mktemp("dymrepo")
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x = 1\n" if rel.endswith(".py") else "text\n")
    return linter.repo_context(root).resolver


def _reference(resolver, p: str) -> list[str]:
    """_did_you_mean_path as it was: a set per file per lookup, two ratios per pool file, a full sort."""
    search = resolver.search
    base = posixpath.basename(p).lower()
    parts = set(p.lower().split("/")[:-1])

    def nearest(paths, n):  # type: ignore[no-untyped-def]
        return sorted(paths, key=lambda f: (-len(parts & set(f.lower().split("/")[:-1])), len(f), f))[:n]

    names = search.close_basenames(base, n=3, cutoff=0.75)
    pool = [f for name in names for f in nearest(search.basenames[name], 10)]
    if posixpath.dirname(p):
        pool += nearest(search.basenames.get(base, []), 10)
    pool = list(dict.fromkeys(pool))
    scored = sorted(pool, key=lambda f: (-difflib.SequenceMatcher(None, p, f).ratio(), f))
    return [f for f in scored if difflib.SequenceMatcher(None, p, f).ratio() >= 0.6 or posixpath.basename(f).lower() in names][:3]


def _misspell(word: str, rng: random.Random) -> str:
    chars = list(word)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(chars))
        op = rng.randrange(4)
        if op == 0 and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op == 1:
            del chars[i]
        elif op == 2:
            chars.insert(i, rng.choice("abcdefghijklmnopqrstuvwxyz_/."))
        else:
            chars[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(chars) or "x"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FILES), st.integers(0, 2**32 - 1), st.sampled_from(["", "src/", "/home/me/proj/"]))
def test_did_you_mean_path_equals_the_plain_computation(resolver, path, seed, prefix):
    p = resolver.clean_path(prefix + _misspell(path, random.Random(seed)))
    assert resolver._did_you_mean_path(p) == _reference(resolver, p)


def test_a_misspelt_locale_folder_still_suggests_the_file_it_meant(resolver):
    files, suggestions = resolver.resolve_path("app/auth/locale/kn/LC_MESSGAES/app.po")
    assert files == [] and suggestions[0] == "app/auth/locale/kn/LC_MESSAGES/app.po"
    assert all(s in FILES for s in suggestions)
