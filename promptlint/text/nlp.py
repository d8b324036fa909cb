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

    @Language.component("promptlint_lines")
    def split_lines(doc):  # type: ignore[no-untyped-def]
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

    @Language.factory("promptlint_lemma_norm", default_config={})
    def make_lemma_norm(nlp, name):  # type: ignore[no-untyped-def]
        return _LemmaNorm(nlp)


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
    if "spacy" in sys.modules:
        return sys.modules["spacy"]
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
        import spacy
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return spacy


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
    spacy = _import_spacy()
    _register_components()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("promptlint_lines")
    nlp.add_pipe("promptlint_lemma_norm").table = _lemma_table()
    return Pipeline(nlp=nlp, name="blank", trained=False)


def _build_trained(name: str) -> Pipeline:
    from pathlib import Path

    spacy = _import_spacy()
    _register_components()
    import spacy.util

    if not spacy.util.is_package(name) and not Path(name).expanduser().is_dir():
        raise ConfigError(f"spaCy pipeline {name!r} is not installed (set nlp-pipeline = \"blank\" or install it)")
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


def run(pipeline: Pipeline, text: str, merge_spans: list[tuple[int, int]] | None = None) -> Any:
    """Tokenise ``text``, merge the given character spans into single tokens, run the pipeline."""
    nlp = pipeline.nlp
    nlp.max_length = max(nlp.max_length, len(text) + 1)
    doc = nlp.make_doc(text)
    if merge_spans:
        used_until = -1  # token index; spans come sorted and must not overlap once expanded
        with doc.retokenize() as retokenizer:
            for start, end in sorted(merge_spans):
                span = doc.char_span(start, end, alignment_mode="expand")
                if span is None or len(span) < 2 or span.start <= used_until:
                    continue
                retokenizer.merge(span)
                used_until = span.end - 1
    for _, component in nlp.pipeline:
        doc = component(doc)
    return doc
