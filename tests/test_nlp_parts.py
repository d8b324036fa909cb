"""The blank pipeline built from spaCy's parts (text/nlp.py, issue 13) is spacy.blank("en") with
the same components: the same tokens, lemmas, sentence starts and lexical attributes on any text,
the same output of `promptlint check`, and the usual path whenever the parts cannot be used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptlint.text import nlp

from .conftest import PROMPTS

ROOT = Path(__file__).resolve().parent.parent
ATTRS = ("text", "idx", "whitespace_", "lemma_", "is_sent_start", "is_punct", "is_space", "like_num", "is_stop", "norm_", "lower_",
         "shape_", "is_alpha", "is_digit", "like_url", "like_email", "prefix_", "suffix_", "is_title", "is_upper", "is_quote",
         "is_bracket", "is_currency", "is_left_punct", "is_right_punct", "lang_")


@pytest.fixture(scope="module")
def both():
    parts = nlp._build_blank_from_parts()
    if parts is None:
        pytest.skip("spaCy is imported whole in this process already, or this spaCy version is not one the parts were checked on")
    return parts, nlp._build_blank_whole()


def tokens(pipeline, text, spans=None):  # type: ignore[no-untyped-def]
    doc = nlp.run(pipeline, text, spans)
    return [tuple(getattr(t, a) for a in ATTRS) for t in doc], [(s.start, s.end) for s in doc.sents]


def test_the_parts_pipeline_is_not_spacy_blank_but_builds_like_it(both):
    parts, whole = both
    assert type(parts.nlp).__name__ == "_PartsLanguage" and type(whole.nlp).__name__ == "English"
    assert [name for name, _ in parts.nlp.pipeline] == [name for name, _ in whole.nlp.pipeline]
    assert parts.describe() == whole.describe()


# Prose, code, paths, lists and the characters the tokenizer's rules are about.
_ALPHABET = st.sampled_from(list("abcXYZ019 .,;:!?'\"()[]{}-_/\\@#$%&*+=<>~`|\n\t") + ["e.g.", "etc.", "don't", "U.S.", "http://a.io/x?y=1",
                                                                                     "x@y.com", "…", "—", "“", "”", "。", "！", "é", "ß", "😀", "3rd",
                                                                                     "1,000.50", "id.", "Mr.", "src/app.ts", "::", "->", "\u00a0"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_ALPHABET, st.text(max_size=8)), max_size=60).map("".join))
def test_any_text_gets_the_same_tokens_lemmas_and_sentences(both, text):
    parts, whole = both
    assert tokens(parts, text) == tokens(whole, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, min_size=1, max_size=40).map(" ".join), st.lists(st.tuples(st.integers(0, 200), st.integers(1, 30)), max_size=5))
def test_merged_spans_give_the_same_tokens(both, text, raw_spans):
    parts, whole = both
    spans = [(s, min(len(text), s + n)) for s, n in raw_spans if s < len(text)]
    assert tokens(parts, text, spans) == tokens(whole, text, spans)


def test_the_fixture_prompts_get_the_same_tokens(both):
    parts, whole = both
    for path in sorted(PROMPTS.rglob("*.prompt")):
        text = path.read_text(encoding="utf-8")
        assert tokens(parts, text) == tokens(whole, text), path


def test_the_phrase_matcher_attributes_are_fields_of_spacys_token_pattern(both):
    from spacy.schemas import TokenPattern

    assert nlp._PATTERN_FIELDS <= set(TokenPattern().model_dump())


def test_every_shipped_token_pattern_is_valid_for_spacy():
    """The shipped rules' Matcher patterns are not validated at run time (rules/kinds.py): here."""
    from spacy.schemas import validate_token_pattern

    from promptlint.rules.catalog import load_catalog

    checked = 0
    for rule in load_catalog(()).values():
        for pattern in rule.check.get("patterns") or []:
            if not isinstance(pattern, list):
                continue  # a regular expression (other rule kinds call theirs "patterns" too)
            assert validate_token_pattern(pattern) == [], (rule.code, pattern)
            checked += 1
    assert checked > 0


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout


def test_a_fresh_process_builds_from_parts_without_the_training_machinery():
    out = _run("import sys; from promptlint.text.nlp import get_pipeline, run; p = get_pipeline(); run(p, 'Fix it. Now!'); "
               "print(type(p.nlp).__name__, sorted(m for m in ('spacy.language', 'spacy.pipeline', 'spacy.training', 'spacy.ml', 'spacy.cli', 'thinc.layers') if m in sys.modules and not getattr(sys.modules[m], '_promptlint_stand_in', False)))")
    assert out.split(None, 1) == ["_PartsLanguage", "[]\n"]


_HEAVY = ("thinc", "confection", "pydantic", "packaging", "wasabi")
_REAL_HEAVY = (f"sorted(m for m in sys.modules if m.split('.')[0] in {_HEAVY!r} "
               "and not getattr(sys.modules[m], '_promptlint_stand_in', False))")


def test_a_check_from_parts_imports_no_thinc_confection_pydantic_packaging_or_wasabi():
    """A whole `promptlint check --no-repo` (tokenizer, matchers, merged spans, lemmas) in a fresh
    process: none of those packages is imported, only the stand-ins are there."""
    prompts = [str(p) for p in sorted(PROMPTS.rglob("*.prompt"))][:20]
    args = ["check", "--exit-zero", "--format", "json", "--no-repo", "--server", "never", *prompts]
    code = (f"import sys; sys.argv = ['promptlint', *{args!r}]; from promptlint.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "from promptlint.text import nlp\n"
            f"print('RESULT', type(nlp.get_pipeline().nlp).__name__, {_REAL_HEAVY}, "
            "sorted(m for m in sys.modules if getattr(sys.modules[m], '_promptlint_stand_in', False)))")
    out = _run(code).rsplit("RESULT", 1)[1].split(None, 2)
    assert out[:2] == ["_PartsLanguage", "[]"]
    assert out[2].strip() == str(sorted(["spacy.util", "thinc.api", "thinc.backends", "thinc.types", "thinc.util", "spacy.schemas", "spacy.scorer", "spacy.training"]))


def test_the_thinc_stand_ins_resolve_to_thincs_own_objects():
    """Every name the stand-ins handed to spaCy's modules is, once used, the real thinc's object
    under that name; the two light functions answer as thinc's do, and give way to thinc's own
    once thinc is imported."""
    code = ("import sys, numpy; from promptlint.text import nlp, stand_ins; p = nlp.get_pipeline(); nlp.run(p, 'Fix it. Now!')\n"
            "given = {name: dict(vars(sys.modules[name])) for name in stand_ins.THINC_MODULES}\n"
            "lazy = {(m, n): v for m, names in given.items() for n, v in names.items() if isinstance(v, stand_ins._Lazy)}\n"
            "ops = stand_ins.get_current_ops(); print(len(lazy) > 3, ops.xp is numpy, stand_ins.get_array_module(numpy.zeros(2)) is numpy, 'thinc' in sys.modules)\n"
            "real = {m: stand_ins.real_thinc(m) for m in stand_ins.THINC_MODULES}\n"
            "print(all(v._real() is getattr(real[m], n) for (m, n), v in lazy.items()), all(sys.modules[m] is real[m] for m in real),\n"
            "      stand_ins.get_current_ops() is real['thinc.api'].get_current_ops(), type(ops.to_numpy).__name__, stand_ins.get_array_module(numpy.zeros(2)) is numpy)")
    assert _run(code).split() == ["True", "True", "True", "False", "True", "True", "True", "method", "True"]


def test_spacy_util_becomes_the_real_module_on_first_use_of_what_it_left_out():
    """spacy.util's stand-in is spaCy's module minus its heavy imports and its registry class; the
    first use of one of those names makes it the real module in place, with the registrations
    spaCy's modules made meanwhile (spacy.Vectors.v1) on the real registry."""
    code = ("import sys; from promptlint.text import nlp; p = nlp.get_pipeline(); util = sys.modules['spacy.util']\n"
            "print(util._promptlint_stand_in, 'thinc' in sys.modules, type(util.registry).__name__, callable(util.get_words_and_spaces))\n"
            "made = util.registry.vectors.get('spacy.Vectors.v1'); import thinc.api, catalogue, packaging.version\n"
            "print(util._promptlint_stand_in, sys.modules['spacy.util'] is util, made.__module__, issubclass(util.registry, thinc.api.registry),\n"
            "      util.Config is thinc.api.Config, util.Version is packaging.version.Version, util.Registry is catalogue.Registry, util.is_compatible_version('3.8.1', '>=3.8.0'))")
    assert _run(code).split() == ["True", "False", "_RegistryStandIn", "True", "False", "True", "spacy.vectors", "True", "True", "True", "True", "True"]


def test_the_same_tokens_with_the_stand_ins_as_with_spacy_blank():
    """Tokens, lemmas, sentences and lexical attributes of the fixture prompts and some tricky text,
    from parts with the stand-ins active (checked), then from spacy.blank in the same process."""
    code = (f"import json, sys; from pathlib import Path; from promptlint.text import nlp; ATTRS = {ATTRS!r}\n"
            f"texts = [p.read_text(encoding='utf-8') for p in sorted(Path({str(PROMPTS)!r}).rglob('*.prompt'))]\n"
            "texts += ['e.g. U.S. don\\'t http://a.io/x?y=1 x@y.com 1,000.50 id. Mr. src/app.ts :: -> \\u00a0 “quoted” 😀 3rd']\n"
            "def toks(p, t):\n    d = nlp.run(p, t, [(0, 7)])\n    return [[getattr(x, a) for a in ATTRS] for x in d], [[s.start, s.end] for s in d.sents]\n"
            f"parts = nlp.get_pipeline(); active = {_REAL_HEAVY} == [] and sys.modules['spacy.util']._promptlint_stand_in\n"
            "a = [toks(parts, t) for t in texts]; print(active, type(parts.nlp).__name__, len(texts) > 5)\n"
            "whole = nlp._build_blank_whole(); print(a == [toks(whole, t) for t in texts], a == [toks(parts, t) for t in texts])")
    assert _run(code).split() == ["True", "_PartsLanguage", "True", "True", "True"]


def test_a_thinc_version_the_stand_ins_were_not_checked_on_imports_thinc_as_usual():
    code = ("import sys; from promptlint.text import nlp, stand_ins; stand_ins.THINC_VERSIONS = ('0.',); p = nlp.get_pipeline()\n"
            "print(type(p.nlp).__name__, [t.lemma_ for t in nlp.run(p, 'Fixes it.')], 'thinc.util' in sys.modules,\n"
            "      any(getattr(m, '_promptlint_stand_in', False) for n, m in list(sys.modules.items()) if n.startswith(('thinc', 'spacy.util'))))")
    assert _run(code).split() == ["_PartsLanguage", "['fix',", "'it',", "'.']", "True", "False"]


def test_the_whole_package_is_there_when_something_asks_for_it_later():
    """A trained pipeline, spacy.blank or spaCy's own names after the parts were used: spacy/__init__ runs then."""
    out = _run("from promptlint.text import nlp; p = nlp.get_pipeline(); spacy = nlp._import_spacy(); "
               "import spacy.lang.en, spacy.schemas; "
               "print(callable(spacy.blank), callable(spacy.load), spacy.lang.en.English.lang, hasattr(spacy.schemas, 'ConfigSchema'), "
               "[t.text for t in spacy.blank('en')('Fix it.')] == [t.text for t in nlp.run(p, 'Fix it.')])")
    assert out.split() == ["True", "True", "en", "True", "True"]


def test_a_spacy_version_the_parts_were_not_checked_on_takes_the_usual_path():
    out = _run("import sys; from promptlint.text import nlp; nlp._PARTS_VERSIONS = ('0.',); before = set(sys.modules); "
               "print(nlp._import_spacy_parts() is None, 'spacy' in sys.modules); p = nlp.get_pipeline(); print(type(p.nlp).__name__)")
    assert out.split() == ["True", "False", "English"]


def test_a_failure_half_way_through_the_parts_takes_the_usual_path():
    code = ("import importlib, sys; from promptlint.text import nlp; real = importlib.import_module\n"
            "def failing(name, *a, **k):\n    if name == 'spacy.tokenizer': raise ImportError('simulated')\n    return real(name, *a, **k)\n"
            "importlib.import_module = failing; parts = nlp._import_spacy_parts(); importlib.import_module = real\n"
            "print(parts is None, 'spacy' in sys.modules, 'spacy.tokens' in sys.modules); p = nlp.get_pipeline()\n"
            "print(type(p.nlp).__name__, [t.lemma_ for t in nlp.run(p, 'Fixes it.')])")
    assert _run(code).split() == ["True", "False", "True", "English", "['fix',", "'it',", "'.']"]


def test_a_failure_half_way_leaves_no_stand_in_behind():
    """The usual path after a failure once spacy.util's and thinc's stand-ins were in place: none is
    left in sys.modules, and spacy.util (which spaCy's modules imported meanwhile hold) is the real one."""
    code = ("import importlib, sys; from promptlint.text import nlp; real = importlib.import_module\n"
            "def failing(name, *a, **k):\n    if name == 'spacy.tokenizer': raise ImportError('simulated')\n    return real(name, *a, **k)\n"
            "importlib.import_module = failing; parts = nlp._import_spacy_parts(); importlib.import_module = real\n"
            "util = sys.modules['spacy.util']; import thinc.api\n"
            "print(parts is None, [n for n, m in list(sys.modules.items()) if getattr(m, '_promptlint_stand_in', False)],\n"
            "      issubclass(util.registry, thinc.api.registry), 'spacy.Vectors.v1' in util.registry.vectors)\n"
            "p = nlp.get_pipeline(); print(type(p.nlp).__name__, sys.modules['spacy.util'] is util)")
    assert _run(code).split() == ["True", "[]", "True", "True", "English", "True"]


def test_a_user_rules_token_patterns_are_still_validated(tmp_path):
    """A bad pattern in a user's rule folder is still a clear catalogue error (the validation
    loads spaCy's schema module on demand)."""
    out = _run("from promptlint.text import nlp; p = nlp.get_pipeline(); from spacy.matcher import Matcher; m = Matcher(p.nlp.vocab)\n"
               "try:\n    m.add('X', [[{'LOWER': {'NOPE': 1}}]])\nexcept Exception as exc:\n    print(type(exc).__name__, type(p.nlp).__name__)")
    assert out.split() == ["MatchPatternError", "_PartsLanguage"]


def test_check_prints_the_same_json_either_way():
    """`promptlint check` on the fixture prompts, from parts and with spaCy imported whole first:
    the same bytes."""
    prompts = [str(p) for p in sorted(PROMPTS.rglob("*.prompt"))]
    args = ["check", "--exit-zero", "--format", "json", "--no-repo", "--server", "never", *prompts]
    runs = {}
    for name, pre in (("parts", ""), ("whole", "import spacy; ")):
        code = f"{pre}import sys; sys.argv = ['promptlint', *{args!r}]; from promptlint.cli import main; main()"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        assert run.returncode == 0, run.stderr
        runs[name] = run.stdout
    assert runs["parts"] == runs["whole"]
    assert json.loads(runs["parts"])  # and it is a real report


@pytest.mark.parametrize("bump", ["int(m[3]) + 1", "int(m[3]) * 10"], ids=["next patch", "same prefix"])
def test_only_the_exact_spacy_version_the_parts_were_checked_on_builds_from_parts(bump):
    """A patch release of the same minor version may move what the parts rely on (a module's
    imports, a component's attributes): only the version compared token by token is built from
    parts; a neighbour (the installed about.py reporting the next patch release, or a version that
    merely starts with the checked one, 3.8.180) takes the usual path."""
    code = ("import builtins, io, re, sys; from promptlint.text import nlp; real = builtins.open\n"
            "def fake(path, *a, **k):\n"
            "    fh = real(path, *a, **k)\n"
            "    if str(path).endswith('spacy/about.py'):\n"
            "        text = fh.read(); fh.close()\n"
            "        text = re.sub(r'__version__ = \"(\\d+)\\.(\\d+)\\.(\\d+)', lambda m: f'__version__ = \"{m[1]}.{m[2]}.{" + bump + "}', text)\n"
            "        return io.StringIO(text)\n"
            "    return fh\n"
            "builtins.open = fake; parts = nlp._import_spacy_parts(); builtins.open = real\n"
            "print(parts is None, 'spacy' in sys.modules)")
    assert _run(code).split() == ["True", "False"]
