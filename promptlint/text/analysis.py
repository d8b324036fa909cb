"""NLP analysis of a prompt: what the rules need to know about its text.

Built on the spaCy pipeline from ``nlp.py``; code-like spans are merged into single tokens first so
a path or a traceback is never mistaken for prose.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..resources import lexicon
from .codespans import CodeSpan, find_code_spans
from .nlp import Pipeline, run
from .source import PromptSource

_QUESTION_STARTERS = {
    "why", "what", "how", "where", "when", "which", "who", "whose", "is", "are", "does", "do", "did",
    "should", "would", "could", "can", "will", "was", "were", "has", "have", "isn't", "doesn't",
}
_SUBJECT_PRONOUNS = {"it", "this", "that", "these", "those", "they"}
_OBJECT_PRONOUNS = {"it", "this", "that", "these", "those", "them"}
# After "this"/"that", a word that shows it stands alone as a pronoun ("fix this up", "this is broken").
_PRONOUN_FOLLOWERS = {
    "is", "was", "isn't", "wasn't", "does", "doesn't", "did", "didn't", "should", "shouldn't", "will", "won't",
    "can", "can't", "could", "must", "has", "hasn't", "needs", "need", "keeps", "still", "also", "up", "work", "works",
    "working", "to", "for", "in", "so", "and", "or", "but", "now", "again", "too", "please", "asap", "out", "quickly",
    "properly", "correctly", "better", "faster", "right", "first", "as", "with", "on", "by", "when", "if", "\n",
}
# Words before a pronoun that do not name what it stands for ("I need you to make this work").
_NOT_ANTECEDENTS = {
    "please", "pls", "need", "needs", "want", "like", "help", "let", "try", "sure", "ok", "okay", "hey", "hi",
    "work", "working", "works", "broken", "wrong", "right", "properly", "better", "faster", "thanks", "quick",
    "asap", "urgent", "again", "still", "really", "seems", "looks", "think", "guess",
}
# What may follow a command verb after a comma: an object ("..., fix it", "..., add the route").
_OBJECT_STARTERS = {"the", "a", "an", "all", "any", "its", "their", "our", "my", "your", "this", "that", "these", "those", "it", "them", "up", "out", "every", "each", "some"}
# What cannot follow a coordinated command verb ("tests and fixes are", "add and remove buttons" stays allowed).
_NOT_OBJECT_STARTERS = {"to", "and", "or", "of", "is", "are", "was", "were", "be", "been", "for", "with", "by", "as", "than", "but", "nor", "so", "if", "when", "in", "on", "at"}
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)]|[a-z][.)])[ \t]+", re.M)


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int  # character offsets
    end: int
    token_start: int
    token_end: int
    text: str
    is_question: bool
    list_item: bool


@dataclass(frozen=True)
class TaskVerb:
    token: int  # token index in the doc
    start: int
    end: int
    lemma: str
    kind: str  # create | change | fix | remove | test | document | handle | investigate
    sentence: int
    form: str  # "imperative" | "request" | "coordinated"


@dataclass(frozen=True)
class NounPhrase:
    start: int
    end: int
    text: str
    head: str  # lemma of the head noun


@dataclass
class Analysis:
    source: PromptSource
    pipeline: Pipeline
    doc: Any
    code_spans: list[CodeSpan]
    sentences: list[Sentence] = field(default_factory=list)
    task_verbs: list[TaskVerb] = field(default_factory=list)
    noun_phrases: list[NounPhrase] = field(default_factory=list)
    unresolved_pronouns: list[tuple[int, int]] = field(default_factory=list)  # character spans
    subtasks: list[Sentence] = field(default_factory=list)  # enumerated list items that carry a task

    @property
    def text(self) -> str:
        """The prose the rules read: the prompt with comments and front matter blanked (same offsets)."""
        return self.source.prose

    @cached_property
    def code_token_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        for span in self.code_spans:
            tokens = self.doc.char_span(span.start, span.end, alignment_mode="expand")
            if tokens is not None:
                ids.update(range(tokens.start, tokens.end))
        return frozenset(ids)

    @cached_property
    def _code_starts(self) -> list[int]:
        return [s.start for s in self.code_spans]

    def is_code(self, start: int, end: int) -> bool:
        k = bisect.bisect_right(self._code_starts, end - 1) - 1
        # Spans do not overlap, so only the last span starting before ``end`` can cover the range.
        return k >= 0 and self.code_spans[k].end > start

    def is_code_block(self, offset: int) -> bool:
        """Inside a fenced block or a traceback (logs and code, not the prompt's own words)."""
        k = bisect.bisect_right(self._code_starts, offset) - 1
        return k >= 0 and self.code_spans[k].end > offset and self.code_spans[k].kind in ("fenced", "traceback")

    @cached_property
    def _sentence_starts(self) -> list[int]:
        return [s.start for s in self.sentences]

    @property
    def is_question_only(self) -> bool:
        """Every sentence is a question and none carries a request ("Why does X fail?")."""
        prose = [s for s in self.sentences if s.text.strip() and not self.is_code(s.start, s.end)]
        return bool(prose) and all(s.is_question for s in prose) and not any(
            t.form == "request" for t in self.task_verbs
        )

    @property
    def change_tasks(self) -> list[TaskVerb]:
        return [t for t in self.task_verbs if t.kind not in ("investigate",)]

    @cached_property
    def verbs_by_sentence(self) -> dict[int, list[TaskVerb]]:
        out: dict[int, list[TaskVerb]] = {}
        for t in self.task_verbs:
            out.setdefault(t.sentence, []).append(t)
        return out

    @cached_property
    def requirement_sentences(self) -> frozenset[int]:
        """Sentences that ask for something: a command, a request, or a modal ("should", "must")."""
        out = {t.sentence for t in self.task_verbs}
        modals = [m.split() for m in lexicon()["requirement-modals"]["phrases"]]
        for sent in self.sentences:
            words = [t.lower_ for t in self.doc[sent.token_start : sent.token_end] if not t.is_space]
            if any(words[i : i + len(m)] == m for m in modals for i in range(len(words))):
                out.add(sent.index)
        return frozenset(out)

    def sentence_of(self, offset: int) -> Sentence | None:
        k = bisect.bisect_right(self._sentence_starts, offset) - 1
        if k >= 0 and offset < self.sentences[k].end:
            return self.sentences[k]
        return None


def _verb_kinds() -> dict[str, str]:
    kinds: dict[str, str] = {}
    for kind, verbs in lexicon()["task-verbs"].items():
        for verb in verbs:
            kinds.setdefault(verb, kind)
    return kinds


class _Analyzer:
    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        lex = lexicon()
        self.verb_kind = _verb_kinds()
        self.frames: dict[str, list[list[str]]] = {}
        for phrase in lex["request-frames"]["phrases"]:
            for variant in {phrase, phrase.replace("'", " '")}:
                parts = variant.split()
                self.frames.setdefault(parts[0], []).append(parts)
        for parts_list in self.frames.values():
            parts_list.sort(key=len, reverse=True)
        self.openers = set(lex["request-frames"]["openers"])
        self.code_nouns = set(lex["code-nouns"]["nouns"])

    def analyze(self, source: PromptSource) -> Analysis:
        text = source.prose
        spans = find_code_spans(text)
        doc = run(self.pipeline, text, [(s.start, s.end) for s in spans])
        analysis = Analysis(source=source, pipeline=self.pipeline, doc=doc, code_spans=spans)
        code_ids = analysis.code_token_ids
        self._sentences(analysis)
        self._task_verbs(analysis, code_ids)
        self._noun_phrases(analysis, code_ids)
        self._pronouns(analysis, code_ids)
        with_tasks = {t.sentence for t in analysis.task_verbs}
        analysis.subtasks = [s for s in analysis.sentences if s.list_item and s.index in with_tasks]
        return analysis

    # --- sentences ---------------------------------------------------------------------------
    def _sentences(self, a: Analysis) -> None:
        text = a.source.prose
        for sent in a.doc.sents:
            if not sent.text.strip():
                continue
            i = len(a.sentences)
            words = [t for t in sent if not t.is_space and not t.is_punct]
            start = sent.start_char
            line_start = text.rfind("\n", 0, start) + 1
            first = words[0].lower_ if words else ""
            stripped = sent.text.rstrip()
            a.sentences.append(
                Sentence(
                    index=i,
                    start=start,
                    end=sent.end_char,
                    token_start=sent.start,
                    token_end=sent.end,
                    text=sent.text,
                    is_question=stripped.endswith("?") or (first in _QUESTION_STARTERS and "?" in stripped),
                    list_item=bool(_LIST_ITEM.match(text[line_start : text.find("\n", start) % (len(text) + 1)])),
                )
            )

    # --- task verbs --------------------------------------------------------------------------
    def _is_base_form(self, tok: Any) -> bool:
        # Lookup lemmas cannot tell "test" (verb) from "tests"; the base form equals its lemma.
        if self.pipeline.trained and tok.pos_ not in ("VERB", "AUX", "") and tok.tag_ not in ("VB", "VBP"):
            return False
        return tok.lower_ == tok.lemma_ and tok.lemma_ in self.verb_kind

    def _skip_openers(self, tokens: list[Any], i: int) -> int:
        while i < len(tokens) and (
            tokens[i].is_space or tokens[i].is_punct or tokens[i].lower_ in self.openers or tokens[i].like_num
        ):
            i += 1
        return i

    def _match_frame(self, tokens: list[Any], i: int) -> int | None:
        """If a request frame starts at tokens[i], the index just after it (line breaks inside are fine)."""
        candidates = self.frames.get(tokens[i].lower_)
        if not candidates:
            return None
        positions = [k for k in range(i, min(len(tokens), i + 12)) if not tokens[k].is_space]
        words = [tokens[k].lower_ for k in positions]
        for parts in candidates:
            if words[: len(parts)] == parts:
                return positions[len(parts) - 1] + 1
        return None

    def _task_verbs(self, a: Analysis, code_ids: frozenset[int]) -> None:
        doc = a.doc
        for sent in a.sentences:
            stripped = sent.text.strip()
            if stripped.startswith("#"):
                continue  # a Markdown heading ("## Describe the bug") names a section, it asks nothing
            if stripped.endswith(":") and len(stripped.split()) <= 3:
                continue  # a form label ("Use Case:", "Steps to reproduce:")
            tokens = [t for t in doc[sent.token_start : sent.token_end]]
            # Clauses: the sentence start, and after ";", ":" or a frame anywhere.
            starts = [0] + [k + 1 for k, t in enumerate(tokens) if t.text in (";", ":", "—", "-", "(") and k + 1 < len(tokens)]
            found: set[int] = set()
            for clause_start in starts:
                i = self._skip_openers(tokens, clause_start)
                form = "imperative"
                # "Can you please add", "I need you to fix"
                for _ in range(3):
                    after = self._match_frame(tokens, i) if i < len(tokens) else None
                    if after is None:
                        break
                    form = "request"
                    i = self._skip_openers(tokens, after)
                if i < len(tokens) and i not in found and tokens[i].i not in code_ids and self._is_base_form(tokens[i]):
                    found.add(i)
                    self._add(a, tokens[i], sent, form)
            # Frames in mid-sentence: "The build fails, can you fix the config?"
            for k in range(1, len(tokens)):
                if k in found:
                    continue
                after = self._match_frame(tokens, k)
                if after is None or not (tokens[k - 1].is_punct or tokens[k - 1].lower_ in ("and", "then") or tokens[k].lower_ == "please"):
                    continue
                j = self._skip_openers(tokens, after)
                if j < len(tokens) and j not in found and self._is_base_form(tokens[j]) and tokens[j].i not in code_ids:
                    found.add(j)
                    self._add(a, tokens[j], sent, "request")
            # Coordinated commands: "Add X and update Y", "..., then fix Z".
            for k in range(1, len(tokens) - 1):
                connector = tokens[k].lower_
                if k in found or connector not in ("and", "then", "also", ","):
                    continue
                # After "and"/"then" the first command must come earlier; after a comma a command
                # may start the sentence's second clause ("The app is slow, fix it").
                if connector != "," and (not found or min(found) > k):
                    continue
                j = k + 1
                while j < len(tokens) and tokens[j].lower_ in ("then", "also", "please"):
                    j += 1
                if j + 1 >= len(tokens) or j in found or tokens[j].i in code_ids or not self._is_base_form(tokens[j]):
                    continue
                nxt = tokens[j + 1]
                if connector == ",":
                    ok = nxt.i in code_ids or nxt.lower_ in _OBJECT_STARTERS
                else:
                    ok = nxt.i in code_ids or (not nxt.is_punct and not nxt.is_space and nxt.lower_ not in _NOT_OBJECT_STARTERS)
                if ok:
                    found.add(j)
                    self._add(a, tokens[j], sent, "coordinated")

    def _add(self, a: Analysis, tok: Any, sent: Sentence, form: str) -> None:
        a.task_verbs.append(
            TaskVerb(
                token=tok.i, start=tok.idx, end=tok.idx + len(tok.text), lemma=tok.lemma_,
                kind=self.verb_kind[tok.lemma_], sentence=sent.index, form=form,
            )
        )

    # --- noun phrases ------------------------------------------------------------------------
    def _noun_phrases(self, a: Analysis, code_ids: frozenset[int]) -> None:
        doc = a.doc
        if self.pipeline.trained and doc.has_annotation("DEP"):
            for chunk in doc.noun_chunks:
                if chunk.root.lemma_ in self.code_nouns:
                    a.noun_phrases.append(NounPhrase(chunk.start_char, chunk.end_char, chunk.text, chunk.root.lemma_))
            return
        verb_tokens = {t.token for t in a.task_verbs}
        determiners = {"the", "this", "that", "our", "my", "your", "its", "their", "a", "an", "these", "those", "each", "every", "all"}
        for tok in doc:
            if tok.lemma_ not in self.code_nouns or tok.i in code_ids:
                continue
            # The head is the last noun of a run: "the login endpoint" not "the login".
            nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
            if nxt is not None and nxt.lemma_ in self.code_nouns and not nxt.is_punct:
                continue
            start = tok.i
            k = tok.i - 1
            while k >= 0 and tok.i - k <= 4 and (doc[k].is_alpha or doc[k].i in code_ids or doc[k].text == "-") and not doc[k].is_space:
                if doc[k].lower_ in determiners:
                    start = k
                    break
                if doc[k].is_stop or doc[k].i in verb_tokens:
                    break
                start = k
                k -= 1
            if doc[start].lower_ in determiners or start < tok.i:
                span = doc[start : tok.i + 1]
                a.noun_phrases.append(NounPhrase(span.start_char, span.end_char, span.text, tok.lemma_))

    # --- pronouns ----------------------------------------------------------------------------
    def _pronouns(self, a: Analysis, code_ids: frozenset[int]) -> None:
        """Pronouns standing for a thing the prompt never named ("Fix it.", "This is broken")."""
        doc = a.doc
        verbs_at = {t.token: t for t in a.task_verbs}
        first_antecedent = self._first_antecedent(a, code_ids)
        for tok in doc:
            lower = tok.lower_
            if lower not in _SUBJECT_PRONOUNS and lower not in _OBJECT_PRONOUNS:
                continue
            nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
            nxt_text = (nxt.lower_ if not nxt.is_space else "\n") if nxt is not None else "\n"
            stands_alone = lower in ("it", "them", "they") or nxt is None or nxt.is_punct or nxt_text in _PRONOUN_FOLLOWERS
            if not stands_alone:
                continue
            prev = doc[tok.i - 1] if tok.i > 0 else None
            is_object = False
            if prev is not None:
                if prev.i in verbs_at:
                    is_object = True
                elif prev.lower_ in ("up", "out") and tok.i >= 2 and doc[tok.i - 2].i in verbs_at:
                    is_object = True
                elif prev.lower_ in ("make", "get") and nxt_text in _PRONOUN_FOLLOWERS:
                    is_object = True
            sent = a.sentence_of(tok.idx)
            is_subject = sent is not None and self._first_word(doc, sent) == tok.i
            if not (is_object or is_subject):
                continue
            if first_antecedent < tok.i:
                continue
            a.unresolved_pronouns.append((tok.idx, tok.idx + len(tok.text)))

    @staticmethod
    def _first_word(doc: Any, sent: Sentence) -> int | None:
        for t in doc[sent.token_start : sent.token_end]:
            if not (t.is_space or t.is_punct or t.like_num):
                return t.i
        return None

    def _first_antecedent(self, a: Analysis, code_ids: frozenset[int]) -> int:
        """Index of the first token that could be what a later pronoun stands for (len(doc) if none)."""
        for tok in a.doc:
            if tok.i in code_ids:
                return tok.i
            if not tok.is_alpha or tok.is_stop or tok.lower_ in _SUBJECT_PRONOUNS or tok.lower_ in _OBJECT_PRONOUNS:
                continue
            if tok.lemma_ in self.verb_kind and tok.lower_ == tok.lemma_:
                continue  # a command verb is not a thing
            if tok.lower_ in self.openers or tok.lower_ in _NOT_ANTECEDENTS:
                continue
            return tok.i
        return len(a.doc)


_analyzers: dict[str, _Analyzer] = {}


def analyze(source: PromptSource, pipeline: Pipeline) -> Analysis:
    analyzer = _analyzers.get(pipeline.name)
    if analyzer is None or analyzer.pipeline is not pipeline:
        analyzer = _analyzers[pipeline.name] = _Analyzer(pipeline)
    return analyzer.analyze(source)
