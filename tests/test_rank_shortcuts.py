"""The ranker's shortcuts give what the plain computation gives: the sparse feature columns filled
from their few entries, the import-graph feature looked up for the candidates alone, and the
explanation's postings looked up once per query. Each is checked against a straightforward
re-implementation (the code as it was before the shortcut) on random queries over a small repository."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.repo.rank import FEATURES, Query

FILES = {
    "pkg/__init__.py": "from .core import Engine\nfrom .util import slugify\n",
    "pkg/core.py": "from pkg.util import slugify, parse_header\n\nclass Engine:\n    def run(self, order):\n        return slugify(order)\n",
    "pkg/util.py": "def slugify(value):\n    return value.lower()\n\ndef parse_header(line):\n    return line.split(':')\n",
    "pkg/cache.py": "from pkg.core import Engine\n\nclass Cache:\n    def invalidate(self, key):\n        return Engine().run(key)\n",
    "pkg/orders.py": "from pkg.cache import Cache\nfrom pkg.util import slugify\n\ndef total(order):\n    return slugify(order)\n",
    "pkg/cli.py": "from pkg.core import Engine\n\ndef main():\n    return Engine().run('x')\n",
    "tests/test_util.py": "from pkg.util import slugify\n\ndef test_slugify():\n    assert slugify('A') == 'a'\n",
    "docs/conf.py": "project = 'pkg'\n",
    "README.md": "The engine caches orders and slugifies headers.\n",
}
WORDS = ["engine", "cache", "order", "slugify", "header", "parse", "total", "run", "invalidate", "main", "value", "key", "project"]


@pytest.fixture(scope="module")
def ranker(tmp_path_factory, linter):
    root: Path = tmp_path_factory.mktemp("rankrepo")
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return linter.repo_context(root).resolver.ranker


def _reference_sparse_and_graph(ranker, q: Query, cands: np.ndarray) -> dict[str, list[float]]:
    """The columns as they were computed before: one dict lookup per candidate, and the graph as a
    dict over every neighbour of the strongest explicit files."""
    s = ranker.search
    cl = cands.tolist()
    strong: dict[int, float] = {}
    for d, w in ((q.named, 1.0), (q.frames, 1.0), (q.modules, 1.0), (q.def_prose, 0.7), (q.code_imports, 0.5)):
        for i, v in d.items():
            strong[i] = max(strong.get(i, 0.0), min(1.0, v) * w)
    graph: dict[int, float] = {}
    for i, v in sorted(strong.items(), key=lambda kv: (-kv[1], kv[0]))[:12]:
        for j in s.neighbours(i).tolist():
            if j != i:
                graph[j] = max(graph.get(j, 0.0), v)
    file_word = ranker.file_word_scores(q)
    return {
        "named": np.minimum(1.0, [q.named.get(i, 0.0) for i in cl]),
        "frame": np.minimum(1.0, [q.frames.get(i, 0.0) for i in cl]),
        "frame_last": np.minimum(1.0, [q.frame_last.get(i, 0.0) for i in cl]),
        "module": np.minimum(1.0, [q.modules.get(i, 0.0) for i in cl]),
        "code_import": np.minimum(1.0, [q.code_imports.get(i, 0.0) for i in cl]),
        "def_prose": [math.log1p(q.def_prose.get(i, 0.0)) for i in cl],
        "def_code": [math.log1p(q.def_code.get(i, 0.0)) for i in cl],
        "uses": [math.log1p(q.uses.get(i, 0.0)) for i in cl],
        "def_prose_spec": [math.log1p(q.def_prose_spec.get(i, 0.0)) for i in cl],
        "def_code_spec": [math.log1p(q.def_code_spec.get(i, 0.0)) for i in cl],
        "file_word": [file_word.get(i, 0.0) for i in cl],
        "graph": [graph.get(i, 0.0) for i in cl],
    }


weights = st.floats(min_value=0.05, max_value=3.0, allow_nan=False)


@st.composite
def queries(draw):
    n = len(FILES)
    ids = st.integers(min_value=0, max_value=n - 1)

    def sparse():
        return draw(st.dictionaries(ids, weights, max_size=4))

    words = {w: draw(weights) for w in draw(st.lists(st.sampled_from(WORDS), max_size=5, unique=True))}
    return Query(
        words=words, head_words={w: v for w, v in words.items() if draw(st.booleans())},
        named=sparse(), frames=sparse(), frame_last=sparse(), modules=sparse(), code_imports=sparse(),
        def_prose=sparse(), def_code=sparse(), uses=sparse(), def_prose_spec=sparse(), def_code_spec=sparse(),
        prose_names=frozenset(draw(st.lists(st.sampled_from(["core", "util", "cache", "orders", "cli"]), max_size=2))),
        mentions_tests=draw(st.booleans()),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=queries())
def test_feature_columns_equal_the_per_candidate_computation(ranker, q):
    cands, X = ranker.features(q)
    if cands.size == 0:
        return
    expected = _reference_sparse_and_graph(ranker, q, cands)
    for name, column in expected.items():
        got = X[:, FEATURES.index(name)]
        assert np.array_equal(got, np.asarray(column, dtype=np.float32)), name


def test_the_graph_feature_reaches_importers_and_imports(ranker):
    s = ranker.search
    core = s.path_id["pkg/core.py"]
    cands, X = ranker.features(Query(words={"engine": 1.0, "slugify": 1.0}, named={core: 1.0}))
    graph = dict(zip((s.paths[i] for i in cands.tolist()), X[:, FEATURES.index("graph")].tolist()))
    # core imports util; cache and cli import core; orders is two steps away; core itself is not its own neighbour
    assert graph.get("pkg/util.py") == 1.0 and graph.get("pkg/cache.py") == 1.0 and graph.get("pkg/cli.py") == 1.0
    assert graph["pkg/core.py"] == 0.0 and graph["pkg/orders.py"] == 0.0


def _reference_matched_words(i, words, fld, direct=None):
    """The explanation's words as they were found before: every posting looked up per file."""
    from promptlint.repo.words import synonyms

    scored = []
    syn = synonyms()
    if len(words) > 40:
        words = dict(sorted(words.items(), key=lambda wv: (-wv[1] * fld.idf(wv[0]), wv[0]))[:40])
    for word in sorted(words):
        post = fld.postings(word)
        if post is None:
            continue
        docs, vals = post
        k = int(np.searchsorted(docs, i))
        if k < docs.size and docs[k] == i:
            scored.append((-float(vals[k]) * fld.idf(word) * words[word], word))
    scored.sort()
    out = []
    for _, word in scored[:3]:
        if direct is not None and word not in direct:
            fors = sorted(w for w in direct if word in syn.get(w, ()))[:2]
            out.append(f"'{word}'" + (" (for " + ", ".join(f"'{x}'" for x in fors) + ")" if fors else ""))
        else:
            out.append(word if direct is None else f"'{word}'")
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=queries())
def test_explanations_with_postings_looked_up_once_equal_the_lookup_per_file(ranker, q):
    s = ranker.search
    shown = 0
    for fld, name in ((s.content, "content"), (s.path_field, "expanded/path"), (s.symbol, "expanded/symbol")):
        direct = None if name == "content" else q.words
        for i in range(len(s.paths)):
            once = ranker._matched_words(i, q.words, fld, direct=direct, rows_of=(q, name))
            assert once == _reference_matched_words(i, q.words, fld, direct=direct)
            assert once == ranker._matched_words(i, q.words, fld, direct=direct)
            shown += len(once)
    assert shown or not q.words or not any(s.content.postings(w) is not None for w in q.words)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(st.sampled_from(["tests/test_cache.py", "pkg/cache.py", "tests/test_core.py", "spec/orders.spec.ts",
                                        "src/orders.ts", "pkg/tests/test_util.py", "docs/cache.md", "test_cli.py"]), unique=True),
       path=st.sampled_from(["pkg/cache.py", "src/orders.ts", "pkg/util.py", "pkg/core.py", "cli.py", ".hidden"]))
def test_sibling_test_from_the_remembered_test_files_equals_a_scan_of_the_listing(names, path):
    from promptlint.repo.search import is_test_path
    from promptlint.rules.repo_kinds import _sibling_test

    files = dict.fromkeys(names)
    stem = path.rsplit("/", 1)[-1].split(".")[0].lower()
    scan = next((f for f in files if is_test_path(f) and stem and stem in f.rsplit("/", 1)[-1].lower()), None)
    assert _sibling_test(path, files) == scan
    assert _sibling_test(path, files) == scan  # the second time from the memo
    # another listing (the index refreshed) is answered from its own files, not the remembered ones
    assert _sibling_test(path, {}) is None
