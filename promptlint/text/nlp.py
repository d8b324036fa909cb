"""The spaCy pipeline, loaded lazily and once per process.

Default: ``spacy.blank("en")`` + sentencizer + lookup lemmas from spacy-lookups-data, which needs
no download. A trained pipeline (e.g. ``en_core_web_sm``) is used when the user configures one that
is installed; it adds POS tags and noun chunks.

Start-up cost is on every `promptlint check`, so only what the pipeline uses is loaded: spaCy's
command-line package (typer, httpx, jinja2, weasel: about 0.2 s of imports that `import spacy` pulls
in for one re-export) is kept out, and the lemma table is read directly from spacy-lookups-data
(20 ms) instead of through a lemmatizer component and ``nlp.initialize()`` (0.14 s), which loads
tables and validates configs promptlint never uses. The lemmas are the same.
"""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from . import stand_ins

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

_ABBREVIATIONS = {"e.g.", "i.e.", "vs.", "etc.", "mr.", "mrs.", "ms.", "dr.", "st.", "no.", "approx.", "cf.", "fig.", "jr.", "sr.", "inc.", "ltd.", "co."}
# Abbreviations the tokenizer splits from their stop ("etc" "."): the sentencizer ends a sentence at
# that stop, but "phone etc. in the signup route" goes on.
_ABBREVIATION_STEMS = {a[:-1] for a in _ABBREVIATIONS if a.count(".") == 1}
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)]|[a-z][.)]|#{1,6})\s")
_lock = threading.Lock()
_cache: dict[str, "Pipeline"] = {}


@dataclass
class Pipeline:
    nlp: "Language"
    name: str  # "blank" or the trained pipeline's package name
    trained: bool

    def describe(self) -> str:
        if self.trained:
            meta = self.nlp.meta
            return f"trained spaCy pipeline {meta.get('lang')}_{meta.get('name')} {meta.get('version')} (POS, noun chunks)"
        return "spaCy blank('en') + sentencizer + lookup lemmas (spacy-lookups-data)"


def _register_components() -> None:
    _import_spacy()
    from spacy.language import Language

    if "promptlint_lines" in Language.factories:
        return

    Language.component("promptlint_lines", func=_split_lines)

    @Language.factory("promptlint_lemma_norm", default_config={})
    def make_lemma_norm(nlp, name):  # type: ignore[no-untyped-def]
        return _LemmaNorm(nlp)


def _split_lines(doc):  # type: ignore[no-untyped-def]
    """Start a sentence at blank lines, list items, headings and after a line ending in
    sentence punctuation or a colon; hard-wrapped prose stays one sentence."""
    from spacy.attrs import SENT_START

    text = doc.text
    starts = doc.to_array([SENT_START])
    changed = False
    for token in doc[1:-1]:
        # "email, phone etc. in the form": the stop belongs to the abbreviation when the
        # sentence goes on in lower case (a capital after it starts a new one).
        prev, nxt = doc[token.i - 1], doc[token.i + 1]
        if token.text == "." and not prev.whitespace_ and prev.lower_ in _ABBREVIATION_STEMS and token.whitespace_ and (
            nxt.text[:1].islower() or nxt.text[:1] in ",;)" or nxt.text[:1].isdigit()
        ) and starts[nxt.i] == 1:
            starts[nxt.i] = starts.dtype.type(2**64 - 1)  # -1 (not a start) as the array stores it
            changed = True
    for token in doc[:-1]:
        # spaCy keeps "d." (from "id.") or "x." as one token, so the sentencizer misses the stop.
        if len(token.text) > 1 and token.text.endswith(".") and token.lower_ not in _ABBREVIATIONS:
            nxt = doc[token.i + 1]
            if token.whitespace_ and nxt.text[:1].isupper() and starts[nxt.i] != 1:
                starts[nxt.i] = 1
                changed = True
    for token in doc:
        if token.i == 0 or token.is_space:
            continue
        start = token.idx
        line_start = text.rfind("\n", 0, start) + 1
        if line_start == 0 or text[line_start:start].strip():
            continue  # first line, or not the first token on its line
        # The previous line, found by index: slicing the prefix would make this quadratic.
        prev_end = line_start - 1  # the newline ending the previous line
        prev_start = text.rfind("\n", 0, prev_end) + 1
        prev_text = text[prev_start:prev_end].strip()
        if (
            not prev_text
            or _LIST_MARKER.match(text[line_start : start + 4])
            or prev_text[-1] in ".!?:;"
            or prev_text.startswith("#")
        ) and starts[token.i] != 1:
            starts[token.i] = 1
            changed = True
    if changed:
        # One bulk write: setting token.is_sent_start one by one is quadratic in spaCy.
        doc.from_array([SENT_START], starts)
    return doc


class _LemmaNorm:
    """Lower-case lemmas from the lookup table; a capitalised word is looked up by its lower-case
    form too ("Fixes" -> "fix"). With a trained pipeline, its own lemmatizer's lemma comes first."""

    def __init__(self, nlp):  # type: ignore[no-untyped-def]
        self.nlp = nlp
        self.table: dict[str, str] | None = None  # set by _build_blank; else read from the vocab

    def __call__(self, doc):  # type: ignore[no-untyped-def]
        table = self.table
        if table is None and doc.vocab.lookups.has_table("lemma_lookup"):
            table = doc.vocab.lookups.get_table("lemma_lookup")
        for token in doc:
            lower = token.lower_
            if self.table is not None:
                # What spaCy's lookup lemmatizer gives (the table's entry for the exact text), then ours.
                lemma = table.get(token.text, token.text).lower()  # type: ignore[union-attr]
            else:
                lemma = token.lemma_.lower() if token.lemma_ else lower
            if table is not None and (lemma == lower or not lemma):
                lemma = table.get(lower, lower)
            token.lemma_ = lemma
        return doc


def _import_spacy():  # type: ignore[no-untyped-def]
    """`import spacy` without spacy.cli: spaCy's __init__ re-exports `spacy.cli.info.info`, and
    that import alone loads typer, httpx, jinja2 and weasel. A placeholder stands in while spaCy
    imports, then leaves sys.modules, so a later `import spacy.cli` (spaCy's own CLI) still works."""
    spacy = sys.modules.get("spacy")
    if spacy is not None and not getattr(spacy, "_promptlint_parts", False):
        return spacy
    import types

    placeholders = {}
    if "spacy.cli" not in sys.modules:
        cli = types.ModuleType("spacy.cli")
        cli.__path__ = []  # a package, so `from .cli.info import info` resolves
        info = types.ModuleType("spacy.cli.info")

        def _info(*args, **kwargs):  # type: ignore[no-untyped-def]
            import importlib

            sys.modules.pop("spacy.cli", None)
            sys.modules.pop("spacy.cli.info", None)
            return importlib.import_module("spacy.cli.info").info(*args, **kwargs)

        info.info = _info  # type: ignore[attr-defined]
        placeholders = {"spacy.cli": cli, "spacy.cli.info": info}
        sys.modules.update(placeholders)
    try:
        if spacy is not None:
            _upgrade_parts()  # the blank pipeline was built from parts: now the whole package
        else:
            import spacy  # noqa: F401
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return sys.modules["spacy"]


def _lemma_table() -> dict[str, str]:
    """English lemma lookups from spacy-lookups-data, read directly (the same table spaCy's lookup
    lemmatizer would load)."""
    from importlib import resources

    import srsly

    try:
        data = srsly.read_gzip_json(resources.files("spacy_lookups_data") / "data" / "en_lemma_lookup.json.gz")
    except (ImportError, OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the lemma lookups ({exc}); install spacy-lookups-data") from None
    if not isinstance(data, dict):
        raise ConfigError("spacy-lookups-data's English lemma table is not a table; reinstall spacy-lookups-data")
    return data


def _build_blank() -> Pipeline:
    # From spaCy's parts (below) unless the whole package is imported already anyway.
    if "spacy" not in sys.modules or getattr(sys.modules["spacy"], "_promptlint_parts", False):
        from_parts = _build_blank_from_parts()
        if from_parts is not None:
            return from_parts
    return _build_blank_whole()


def _build_blank_whole() -> Pipeline:
    spacy = _import_spacy()
    _register_components()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("promptlint_lines")
    nlp.add_pipe("promptlint_lemma_norm").table = _lemma_table()
    return Pipeline(nlp=nlp, name="blank", trained=False)


# --- spacy.blank("en") from its parts ------------------------------------------------------------
#
# `import spacy` runs spacy/__init__, which loads the whole library: the pipeline components and
# their models (thinc layers), the training and config machinery and the pydantic schemas, about
# half of its import time; spacy.blank() then resolves and validates a config (confection,
# pydantic). The blank pipeline needs none of it: a Vocab with the English lexical attributes, the
# Tokenizer with the English punctuation rules and exceptions, the sentencizer, and the Matcher
# and PhraseMatcher the rules use. Those modules are imported here under a stand-in `spacy`
# package whose __init__ does not run, with stand-ins for the three modules they import only
# for training and pattern validation (spacy.schemas, spacy.scorer, spacy.training: their names
# forward to the real ones, loaded on first call). On the thinc versions it was checked on, thinc
# and spacy.util are stand-ins too (text/stand_ins.py), so thinc, confection, pydantic, packaging
# and wasabi are not imported at all (~0.3 s). Only on spaCy versions this was checked on
# (tests/test_nlp_parts.py compares it with spacy.blank token by token); on any other version, or
# any failure, the usual path runs. A later need of the whole package (a trained pipeline, a
# forwarded name) runs its __init__ then (_upgrade_parts).

_PARTS_VERSIONS = ("3.8.18",)  # exact: the one release tests/test_nlp_parts.py compared token by token
_lock_parts = threading.RLock()  # re-entrant: a forwarded call may come while the parts import
_parts_cache: list[Any] = []  # the parts, once imported (a second pipeline built in this process)
_STAND_INS = {
    "spacy.schemas": ("validate_token_pattern", "DocJSONSchema", "validate"),
    "spacy.scorer": ("Scorer", "PRFScore", "ROCAUCScore", "get_ner_prf"),
    "spacy.training": ("validate_examples", "validate_get_examples", "Example"),
}


def _forwarder(module: str, name: str):  # type: ignore[no-untyped-def]
    def forward(*args, **kwargs):  # type: ignore[no-untyped-def]
        return getattr(_real(module), name)(*args, **kwargs)

    forward.__name__ = name
    return forward


def _real(module: str):  # type: ignore[no-untyped-def]
    """The real module for a stand-in: spacy.schemas imports without spacy/__init__ (validating a
    user rule's token patterns needs only it); the others need the whole package."""
    import importlib

    if module == "spacy.schemas":
        with _lock_parts:
            if getattr(sys.modules.get(module), "_promptlint_stand_in", False):
                del sys.modules[module]
            return importlib.import_module(module)
    _import_spacy()
    return importlib.import_module(module)


def _upgrade_parts() -> None:
    """Make the stand-in `spacy` package the real one (its __init__ runs now): for a trained
    pipeline, spacy.blank/spacy.load, or a forwarded call. Through _import_spacy(), which keeps
    spacy.cli out."""
    import importlib

    spacy = sys.modules.get("spacy")
    if spacy is None or not getattr(spacy, "_promptlint_parts", False):
        return
    with _lock_parts:
        if not getattr(spacy, "_promptlint_parts", False):
            return  # another thread did it meanwhile
        for name in _STAND_INS:
            if getattr(sys.modules.get(name), "_promptlint_stand_in", False):
                del sys.modules[name]
        # The whole package's modules import all of thinc and of spacy.util.
        util = stand_ins.util_stand_in()
        if util is not None:
            util.make_real()
        stand_ins.remove_thinc()
        for name in ("spacy", "spacy.lang.en"):
            module = sys.modules[name]
            if getattr(module, "_promptlint_parts", False):
                module._promptlint_parts = False
                module.__spec__.loader.exec_module(module)  # type: ignore[union-attr]
        importlib.invalidate_caches()


# Token attributes the PhraseMatcher is made with (the tokenizer's ORTH, the rules' LOWER and
# LEMMA): fields of spacy.schemas.TokenPattern, which it checks against (a test says they are).
_PATTERN_FIELDS = frozenset({"orth", "lower", "lemma"})


class _PatternFields:
    def __contains__(self, name: object) -> bool:
        if name in _PATTERN_FIELDS:
            return True
        return name in _real("spacy.schemas").TokenPattern().model_dump()


class _TokenPatternStandIn:
    """spacy.schemas.TokenPattern as the PhraseMatcher uses it: ``attr in TokenPattern().model_dump()``."""

    def model_dump(self) -> _PatternFields:
        return _PatternFields()


def _stand_in_package(name: str, path: str):  # type: ignore[no-untyped-def]
    import importlib.util
    import types

    spec = importlib.util.spec_from_file_location(name, f"{path}/__init__.py", submodule_search_locations=[path])
    if spec is None:
        raise ImportError(name)
    module = types.ModuleType(name)
    module.__spec__ = spec
    module.__path__ = [path]
    module.__file__ = spec.origin
    module.__package__ = name
    module._promptlint_parts = True  # type: ignore[attr-defined]
    return module


def _import_spacy_parts():  # type: ignore[no-untyped-def]
    """The spaCy modules the blank pipeline needs, imported without spacy/__init__ (see above);
    None when that is not possible here (the stand-ins are gone again then)."""
    import importlib
    import importlib.util
    import os
    import types

    spec = importlib.util.find_spec("spacy")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = list(spec.submodule_search_locations)[0]
    try:
        with open(os.path.join(root, "about.py"), encoding="utf-8") as fh:
            version = re.search(r'__version__ = "([^"]+)"', fh.read())
    except OSError:
        return None
    if version is None or version.group(1) not in _PARTS_VERSIONS:
        return None
    try:
        punct_chars = _sentencizer_punct_chars(root)
    except (OSError, ValueError, SyntaxError):
        return None
    try:
        package = _stand_in_package("spacy", root)
        sys.modules["spacy"] = package
        for name, names in _STAND_INS.items():
            stand_in = types.ModuleType(name)
            stand_in._promptlint_stand_in = True  # type: ignore[attr-defined]
            for attr in names:
                setattr(stand_in, attr, _forwarder(name, attr))
            sys.modules[name] = stand_in
        sys.modules["spacy.schemas"].TokenPattern = _TokenPatternStandIn  # type: ignore[attr-defined]
        if stand_ins.install_thinc():
            stand_ins.install_util(package)
        import spacy.errors  # noqa: F401  (first: everything else imports it)
        import spacy.lang

        english = sys.modules["spacy.lang.en"] = _stand_in_package("spacy.lang.en", os.path.join(spacy.lang.__path__[0], "en"))
        spacy.lang.en = english  # type: ignore[attr-defined]  (what an import sets on the parent)
        tokens = importlib.import_module("spacy.tokens")
        vocab = importlib.import_module("spacy.vocab")
        tokenizer = importlib.import_module("spacy.tokenizer")
        importlib.import_module("spacy.matcher")
        parts = types.SimpleNamespace(
            version=version.group(1), tokens=tokens, vocab=vocab, tokenizer=tokenizer,
            util=importlib.import_module("spacy.util"), attrs=importlib.import_module("spacy.attrs"),
            lang_punct=importlib.import_module("spacy.lang.punctuation"),
            lang_exc=importlib.import_module("spacy.lang.tokenizer_exceptions"),
            en_exc=importlib.import_module("spacy.lang.en.tokenizer_exceptions"),
            en_punct=importlib.import_module("spacy.lang.en.punctuation"),
            en_lex=importlib.import_module("spacy.lang.en.lex_attrs"),
            en_stop=importlib.import_module("spacy.lang.en.stop_words"),
            punct_chars=punct_chars,
        )
        package.__version__ = parts.version  # type: ignore[attr-defined]
        _parts_cache[:] = [parts]
        return parts
    except Exception:  # noqa: BLE001 - any surprise: the usual `import spacy`
        # Only the stand-ins go: the modules imported meanwhile are the real ones (a compiled
        # module cannot be imported twice), and `import spacy` then finds them. spacy.util, which
        # those modules may hold already, becomes the real module in place (or goes, if it cannot).
        util = stand_ins.util_stand_in()
        if util is not None:
            try:
                util.make_real()
            except Exception:  # noqa: BLE001
                if sys.modules.get("spacy.util") is util.module:
                    del sys.modules["spacy.util"]
        stand_ins.remove_thinc()
        for name, module in list(sys.modules.items()):
            if getattr(module, "_promptlint_parts", False) or getattr(module, "_promptlint_stand_in", False):
                del sys.modules[name]
        return None


def _sentencizer_punct_chars(root: str) -> frozenset[str]:
    """The sentencizer's default sentence-final characters, read from the installed spaCy's own
    source (sentencizer.pyx; importing its compiled module would import spacy.language)."""
    import ast
    import os

    with open(os.path.join(root, "pipeline", "sentencizer.pyx"), encoding="utf-8") as fh:
        source = fh.read()
    found = re.search(r"default_punct_chars = (\[.*?\])", source, re.S)
    if found is None:
        raise ValueError("no default_punct_chars in sentencizer.pyx")
    chars = ast.literal_eval(found.group(1))
    if not isinstance(chars, list) or not chars or not all(isinstance(c, str) for c in chars):
        raise ValueError("default_punct_chars is not a list of strings")
    return frozenset(chars)


class _Sentencizer:
    """spaCy's rule-based sentencizer (pipeline/sentencizer.pyx, default settings): a sentence
    starts at the first token after a run of sentence-final punctuation that is not punctuation
    itself; only tokens whose start is still unset are set (overwrite=False)."""

    def __init__(self, punct_chars: frozenset[str], sent_start: int) -> None:
        self.punct_chars = punct_chars
        self.SENT_START = sent_start

    def __call__(self, doc):  # type: ignore[no-untyped-def]
        n = len(doc)
        if n == 0:
            return doc
        guesses = [False] * n
        start = 0
        seen_period = False
        guesses[0] = True
        punct_chars = self.punct_chars
        for token in doc:
            in_punct_chars = token.text in punct_chars
            if seen_period and not token.is_punct and not in_punct_chars:
                guesses[start] = True
                start = token.i
                seen_period = False
            elif in_punct_chars:
                seen_period = True
        if start < n:
            guesses[start] = True
        starts = doc.to_array([self.SENT_START])
        unset = starts.dtype.type(0)
        yes, no = starts.dtype.type(1), starts.dtype.type(2**64 - 1)  # 1 and -1 as the array stores them
        changed = False
        for j, guess in enumerate(guesses):
            if starts[j] == unset:
                starts[j] = yes if guess else no
                changed = True
        if changed:
            doc.from_array([self.SENT_START], starts)
        return doc


class _PartsLanguage:
    """What promptlint uses of a spaCy Language, for the blank English pipeline built from parts."""

    lang = "en"
    meta: dict[str, Any] = {}

    def __init__(self, vocab, tokenizer) -> None:  # type: ignore[no-untyped-def]
        self.vocab = vocab
        self.tokenizer = tokenizer
        self.max_length = 1_000_000
        self.pipeline: list[tuple[str, Any]] = []

    def make_doc(self, text: str):  # type: ignore[no-untyped-def]
        return self.tokenizer(text)

    @property
    def pipe_names(self) -> list[str]:
        return [name for name, _ in self.pipeline]

    def has_pipe(self, name: str) -> bool:
        return name in self.pipe_names


class _EnglishDefaults:
    def __init__(self, parts) -> None:  # type: ignore[no-untyped-def]
        self.lex_attr_getters = parts.en_lex.LEX_ATTRS
        self.stop_words = parts.en_stop.STOP_WORDS
        self.writing_system = {"direction": "ltr", "has_case": True, "has_letters": True}
        # noun_chunks needs a parser; a blank pipeline has none (spacy.blank keeps the iterator)
        self.syntax_iterators: dict[str, Any] = {}


def _build_blank_from_parts() -> Pipeline | None:
    with _lock_parts:
        parts = _import_spacy_parts() if "spacy" not in sys.modules else _parts_again()
    if parts is None:
        return None
    try:
        util = parts.util
        vocab = parts.vocab.create_vocab("en", _EnglishDefaults(parts))
        from spacy.vectors import Vectors  # noqa: PLC0415 - imported with the parts

        vocab.vectors = Vectors(strings=vocab.strings)
        tokenizer = parts.tokenizer.Tokenizer(
            vocab,
            rules=parts.en_exc.TOKENIZER_EXCEPTIONS,
            prefix_search=util.compile_prefix_regex(parts.lang_punct.TOKENIZER_PREFIXES).search,
            suffix_search=util.compile_suffix_regex(parts.lang_punct.TOKENIZER_SUFFIXES).search,
            infix_finditer=util.compile_infix_regex(parts.en_punct.TOKENIZER_INFIXES).finditer,
            token_match=None,
            url_match=parts.lang_exc.URL_MATCH,
        )
        nlp = _PartsLanguage(vocab, tokenizer)
        norm = _LemmaNorm(nlp)
        norm.table = _lemma_table()
        nlp.pipeline = [
            ("sentencizer", _Sentencizer(parts.punct_chars, parts.attrs.SENT_START)),
            ("promptlint_lines", _split_lines),
            ("promptlint_lemma_norm", norm),
        ]
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001 - the usual path
        return None
    return Pipeline(nlp=nlp, name="blank", trained=False)  # type: ignore[arg-type]


def _parts_again():  # type: ignore[no-untyped-def]
    return _parts_cache[0] if _parts_cache else None


def _build_trained(name: str) -> Pipeline:
    from pathlib import Path

    spacy = _import_spacy()
    _register_components()
    import spacy.util

    # A bare name is an installed package, never a folder: a project's config may not load a
    # pipeline from a path (config.py), and "models" was read as ./models, a folder of the checkout
    # the command runs in. A folder is written as a path ("./models"), which only the user's own
    # config, --config or a flag may give.
    looks_like_path = any(c in name for c in "/\\") or name.startswith((".", "~"))
    if not spacy.util.is_package(name) and not (looks_like_path and Path(name).expanduser().is_dir()):
        raise ConfigError(f"spaCy pipeline {name!r} is not installed (set nlp-pipeline = \"blank\", install it, "
                          "or give a folder as a path such as ./name)")
    try:
        nlp = spacy.load(name, exclude=["ner"])
    except Exception as exc:
        raise ConfigError(f"cannot load spaCy pipeline {name!r}: {exc}") from None
    if not (nlp.has_pipe("parser") or nlp.has_pipe("senter")):
        nlp.add_pipe("sentencizer", first=True)
    # Sentence starts must be set before a parser runs (it refuses changes afterwards).
    if nlp.has_pipe("parser"):
        nlp.add_pipe("promptlint_lines", before="parser")
    else:
        nlp.add_pipe("promptlint_lines", after="senter" if nlp.has_pipe("senter") else "sentencizer")
    nlp.add_pipe("promptlint_lemma_norm")
    return Pipeline(nlp=nlp, name=name, trained=True)


def get_pipeline(name: str = "blank") -> Pipeline:
    """The shared pipeline for ``name`` ("blank" or an installed trained pipeline)."""
    with _lock:
        if name not in _cache:
            _cache[name] = _build_blank() if name == "blank" else _build_trained(name)
        return _cache[name]


# spaCy's tokenizer peels prefixes and suffixes off a whitespace-free run one at a time, and each
# suffix search scans the whole rest of the run: quadratic in the run's length when the run is all
# punctuation. 200 kB of `[` or backticks in one prompt held `check` (and a hook server worker, and
# the language server) for hours; 4,000 took 1.8 s. A run this long is no word of a prompt (paths,
# URLs and identifiers are far shorter), so it is tokenised in pieces: the same rules, cost linear.
_LONG_RUN_CHARS = 256
_LONG_RUN_PIECE = 64
_LONG_RUN = re.compile(r"\S{%d,}" % _LONG_RUN_CHARS)


def _make_doc(nlp: Any, text: str) -> Any:
    if _LONG_RUN.search(text) is None:
        return nlp.make_doc(text)
    docs = []
    pos = 0
    for match in _LONG_RUN.finditer(text):
        if match.start() > pos:
            docs.append(nlp.make_doc(text[pos : match.start()]))
        # One space after the run belongs to its last token, as the tokenizer would have it.
        end = match.end() + (text.startswith(" ", match.end()))
        for start in range(match.start(), match.end(), _LONG_RUN_PIECE):
            stop = min(start + _LONG_RUN_PIECE, match.end())
            docs.append(nlp.make_doc(text[start : end if stop == match.end() else stop]))
        pos = end
    if pos < len(text):
        docs.append(nlp.make_doc(text[pos:]))
    # from_docs keeps every token's attributes (a tokenizer exception's NORM, say); no glue spaces.
    return type(docs[0]).from_docs(docs, ensure_whitespace=False)


_BULK_MERGE = "_merge"  # spacy.tokens._retokenize's bulk merge, 3.7 and 3.8


def _merge_spans(doc: Any, spans: list[Any]) -> None:
    """Merge sorted, non-overlapping spans of two or more tokens, each into one token.

    Retokenizer.merge checks each new span against a *list* of the spans already marked (to drop
    duplicates): quadratic in the number of spans, and a pasted text of thousands of code fences
    is thousands of spans. These spans are distinct and disjoint by construction, so they go to the
    retokenizer's own bulk merge (the function its __exit__ calls) in one call, each with the empty
    attributes merge() would give it. Where that function is missing (another spaCy), the public
    retokenizer does the same merge."""
    if not spans:
        return
    # The retokenizer's module, as this process loaded it (the parts pipeline imports no more of spaCy).
    retokenizer = doc.retokenize()
    _retokenize = sys.modules.get(type(retokenizer).__module__)
    bulk = getattr(_retokenize, _BULK_MERGE, None)
    normalize = getattr(_retokenize, "normalize_token_attrs", None)
    if bulk is None or normalize is None:
        with retokenizer:
            for span in spans:
                retokenizer.merge(span)
        return
    bulk(doc, [(span, normalize(doc.vocab, {})) for span in spans])


def run(pipeline: Pipeline, text: str, merge_spans: list[tuple[int, int]] | None = None) -> Any:
    """Tokenise ``text``, merge the given character spans into single tokens, run the pipeline."""
    nlp = pipeline.nlp
    nlp.max_length = max(nlp.max_length, len(text) + 1)
    doc = _make_doc(nlp, text)
    if merge_spans:
        used_until = -1  # token index; spans come sorted and must not overlap once expanded
        spans = []
        for start, end in sorted(merge_spans):
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is None or len(span) < 2 or span.start <= used_until:
                continue
            spans.append(span)
            used_until = span.end - 1
        _merge_spans(doc, spans)
    for _, component in nlp.pipeline:
        doc = component(doc)
    return doc
