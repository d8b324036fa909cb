"""NLP analysis of a prompt: what the rules need to know about its text.

Built on the spaCy pipeline from ``nlp.py``; code-like spans (paths, pasted logs, fenced code) are
merged into single tokens first so a path or a traceback is never mistaken for prose.

Besides sentences, task verbs and noun phrases, the analysis decides what kind of message the prompt
is before any rule judges it (``Analysis.message_kind``, one of ``MESSAGE_KINDS``) and whether it is a
turn in a conversation (``Analysis.follow_up``); rules declare the kinds they apply to as data.

A blank spaCy pipeline has no part-of-speech tagger, so where a word can be a noun or a verb
("change", "fix", "update") the shape of the sentence decides: a command verb starts a clause and is
followed by what it acts on; "change in plan ?" and a heading "### 3. Fix" ask for nothing.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ..resources import lexicon
from .codespans import CodeSpan, find_code_spans
from .nlp import Pipeline, run
from .source import PromptSource

MESSAGE_KINDS = {
    "change-request": "asks for a change to code, configuration or the UI (\"add pagination to GET /orders\")",
    "non-code-request": "asks for work that changes no code: run, deploy, commit, write a document or a plan, review, explain",
    "question": "asks for information or advice and requests no change (\"why does the build hang?\")",
    "problem-report": "reports what is wrong without asking for anything (\"the field of view is too narrow\")",
    "log": "pasted error output or a traceback with no request",
    "follow-up": "only steers the conversation (\"continue\", \"let's do both\", \"yes, go ahead\")",
    "statement": "says something without asking for anything (\"I added feedback in spec.md\")",
    "agent-text": "text an agent wrote (its analysis, plan or reply: \"Looking at TODO.md ... Let me check ...\"), pasted or relayed as the prompt",
    "command-file": "a reusable prompt file: a Claude Code command, agent or skill, a Copilot *.prompt.md",
    "instructions-file": "standing instructions: CLAUDE.md, AGENTS.md, Cursor or Copilot rules",
}
# Task kinds that change something, and the object classes that make the change one to code.
CHANGE_KINDS = frozenset({"create", "change", "fix", "remove", "handle"})
CODE_OBJECTS = frozenset({"code", "ui", "config", "none"})

_QUESTION_STARTERS = {
    "why", "what", "how", "where", "when", "which", "who", "whose", "is", "are", "does", "do", "did",
    "should", "would", "could", "can", "will", "was", "were", "has", "have", "isn't", "doesn't", "shouldn't",
    "aren't", "wouldn't", "couldn't", "whats", "what's", "hows", "how's", "wheres", "am", "shall", "may",
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
_DETERMINERS = {"the", "a", "an", "all", "my", "our", "your", "this", "these", "those", "every", "each", "any", "some", "its", "their"}
_DEFINITE = {"the", "my", "our", "your", "these", "those", "its", "their"}  # of a thing that exists already
# What cannot follow a coordinated command verb ("tests and fixes are", "add and remove buttons" stays allowed).
_NOT_OBJECT_STARTERS = {"to", "and", "or", "of", "is", "are", "was", "were", "be", "been", "for", "with", "by", "as", "than", "but", "nor", "so", "if", "when", "in", "on", "at"}
# After a word that may be a noun or a verb, these show it is the subject of a clause ("Build fails").
_FINITE_AFTER_SUBJECT = {
    "is", "are", "was", "were", "has", "have", "had", "fails", "failed", "works", "worked", "needs", "seems",
    "looks", "keeps", "broke", "breaks", "crashes", "crashed", "hangs", "should", "must", "will", "would",
    "can", "could", "doesn't", "does", "isn't", "didn't", "won't", "wasn't", "aren't", "still", "takes", "took",
    "went", "goes", "gets", "got", "shows", "showed", "returns", "returned", "stopped", "started", "happened",
}
# After an investigation ("Search the schemas, summarize ..."), these shape the answer, not the code.
_SHAPES_THE_ANSWER = {"include", "list", "show", "note", "mention", "highlight", "provide", "print", "give", "add", "explain", "summarize", "summarise", "return", "report"}
# ... and after these prepositions, a noun ("change in plan", "fix for the login bug", "update on X").
_NOUN_AFTER = {"of", "in", "for", "on"}
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)]|[a-z][.)]|\[[ xX]\])[ \t]+", re.M)
_BOLD_SENTENCE = re.compile(r"^[ \t]*(?:\*\*|__)[^*\n]+(?:\*\*|__)\s*$")
_HEADING = re.compile(r"^[ \t]*(?:#{1,6}\s|\*\*[^*\n]{1,60}\*\*\s*:?\s*$|[A-Z][\w/&-]*(?:[ \t]+[\w/&-]+){0,2}:\s*$)")
# A short line that points at what follows ("Fix this:", "Explain these:") introduces the paste
# under it: a request, not a section title or a form label ("Use Case:", "Steps to reproduce:").
_POINTS_AT_PASTE = re.compile(r"^[ \t]*\w+[ \t]+(?:this|these|that|it|them|the[ \t]+following)[ \t]*:[ \t]*$", re.I)
# Not a reference: "make it so that", "it's possible", "is it ok", "this is a NestJS project".
_DUMMY_IT = re.compile(
    r"\b(?:make|makes|making|made|have|get)\s+it\s+(?:so|such|happen|possible|clear|obvious|easy|easier|harder)\b"
    r"|\bit(?:'s|\s+is|\s+was|\s+would\s+be|\s+will\s+be|\s+might\s+be|\s+may\s+be)\s+(?:not\s+)?(?:possible|impossible|better|important|necessary|fine|ok|okay|easier|hard|harder|worth|time|likely|unlikely|unclear|weird|strange|best|good|great|true|the\s+case|recommended|required|needed|enough|a\s+good\s+idea)\b"
    r"|\bit\s+(?:seems|looks|appears|sounds|feels|turns\s+out|depends|says|said|took|takes)\b"
    r"|\bis\s+it\s+(?:possible|ok|okay|fine|better|worth|normal|safe|necessary|true)\b",
    re.I,
)
# How a coding agent talks to its user, not how a user talks to an agent: narrating its own work
# ("Let me check", "I'll implement", "I can see from the files you shared"), offering ("Should I
# proceed?", "Here are the changes needed") and pointing at the user's side ("the error you're
# encountering", "add the file to the chat"). Two different ones make a message agent-written: an
# architect model's plan relayed to its editor, or an answer pasted back as the next prompt.
_AGENT_DISCOURSE = [
    re.compile(p, re.I | re.M)
    for p in (
        r"\blet me (?!know\b)(?:\w+ ){0,2}(?:check|look|examine|implement|create|update|verify|start|fix|analy[sz]e|review|read|search|explore|investigate|begin|proceed|clarify|summari[sz]e)\b",
        r"\bi(?:'ll| will) (?:now |first |also |then |go ahead and )?(?:implement|create|update|check|start|proceed|modify|begin|examine|analy[sz]e|provide|outline)\b",
        r"\bi can see (?:that|from|the|you|there)\b",
        r"\bi (?:notice|noticed) (?:that|there|a|an|the)\b",
        r"\bi(?:'ve| have) (?:now )?(?:implemented|created|updated|refactored|reviewed|analy[sz]ed|identified|examined|completed)\b",
        r"^\W*looking (?:at|more carefully at) (?:the|your|this)\b",
        r"\bhere(?:'s| is| are) (?:how to (?:modify|fix|update|change|implement)|the (?:specific |required |necessary |proposed )?(?:changes|implementation|plan|summary|updated code))\b",
        r"\bshould i (?:proceed|continue|go ahead|implement|start)\b",
        r"\b(?:you(?:'ve| have) (?:asked|shared|provided|requested)|(?:files?|code|version|content|output|logs?|snippets?) you(?:'ve| have)? (?:shared|provided|sent|attached|pasted))\b",
        r"\bthe (?:error|issue|problem)s? you(?:'re| are) (?:encountering|seeing|getting|facing|experiencing)\b",
        r"\b(?:this will allow me to|once i (?:can see|have|see)|(?:add|share|paste)\b[^.\n]{0,80}\bto the chat)\b",
        r"\b(?:the )?changes needed (?:for|in|to)\b",
        # an architect's plan for its editor: "Apply the following minimal changes", "Change summary",
        # "File: backend/app.py", "Locate: ... Replace with: ..."
        r"\b(?:apply|make) (?:these|the following) (?:\w+ ){0,2}(?:changes|edits|updates)\b",
        r"^\W*(?:proposed changes?|change summary|summary of changes|edits to apply|root cause)\b",
        r"^\W*(?:locate|replace (?:it )?with|change (?:it )?to)\s*:\s*$",
        r"^[ \t]*-?[ \t]*files?:[ \t]*`?[\w./\\-]+\.[A-Za-z0-9]{1,5}`?[ \t]*$",
        r"\b(?:my apologies|i apologi[sz]e|you(?:'re| are) absolutely (?:right|correct))\b",
        r"\bwe(?:'ve| have) (?:now |successfully )?(?:implemented|created|updated|added|refactored)\b",
    )
]
# Turns of agent discourse that users write too ("I noticed that the login breaks", "I can see the
# error in the console", "you're absolutely right, now ..."): they count only next to another.
_USER_PLAUSIBLE = [
    p for p in _AGENT_DISCOURSE
    if p.pattern.startswith((r"^\W*looking", r"\bi can see", r"\bi (?:notice", r"\bi(?:'ve| have)", r"\b(?:my apologies", r"\bwe(?:'ve| have)"))
]
_PRESENTATIONAL = re.compile(r"^\W*(?:this|that|it)(?:'s|\s+is|\s+was)\s+(?:a|an|the|my|our)\s+\w", re.I)
_INSTRUCTION_FILES = re.compile(
    r"(?:^|/)(?:CLAUDE(?:\.local)?\.md|AGENTS\.md|GEMINI\.md|\.cursorrules|\.windsurfrules|\.clinerules|"
    r"copilot-instructions\.md|[^/]+\.instructions\.md|CONVENTIONS\.md)$|(?:^|/)\.cursor/rules/|(?:^|/)\.clinerules/|(?:^|/)\.github/instructions/",
    re.I,
)
_COMMAND_FILES = re.compile(
    r"(?:^|/)\.claude/(?:commands|agents)/.+\.md$|(?:^|/)\.claude/skills/[^/]+/SKILL\.md$|\.prompt\.md$|"
    r"(?:^|/)\.github/prompts/|(?:^|/)\.cursor/commands/|(?:^|/)\.gemini/commands/|(?:^|/)\.opencode/commands?/",
    re.I,
)
_COMMAND_FRONT_MATTER = re.compile(r"\A(?:---[ \t]*\r?\n)?(?:[ \t]*(?:description|allowed-tools|argument-hint|mode|agent|tools|model|name)[ \t]*:.*\r?\n){1,}", re.I)
_INSTRUCTIONS_SHAPE = re.compile(r"\A\s*#\s*(?:CLAUDE|AGENTS|GEMINI)\.md\b|This file provides guidance to (?:Claude|AI|agents|Codex)", re.I)


def _is_markup(tok: Any) -> bool:
    """A token with no letter or digit that does not end a clause: emphasis ("**", "_"), a quote
    marker (">"), an emoji, an arrow, a replacement character (U+FFFD) from a broken paste. Before
    a command it is decoration: "**Refactor the codebase.**", "> Fix the bug", "🚀 Add dark mode"."""
    text = tok.text
    return not tok.is_space and not any(c.isalnum() for c in text) and text not in (".", "!", "?", ";", ":", ",", "(", ")", "[", "]", "{", "}", "\"", "'", "`")


_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "via", "vs", "with", "&"}


def _without_trailing_parenthetical(body: str) -> str:
    r"""``re.sub(r"\s*\([^)]*\)\s*$", "", body)`` in one pass: that regex tried every "(" and ran
    to the end of the line from each (quadratic on a pasted line of brackets). It removes, with the
    spaces before it, the group from the first "(" after the last-but-one ")" to a final ")"."""
    end = len(body)
    while end > 0 and body[end - 1].isspace():
        end -= 1
    if end == 0 or body[end - 1] != ")":
        return body
    close = end - 1
    opening = body.find("(", body.rfind(")", 0, close) + 1, close)
    if opening < 0:
        return body
    while opening > 0 and body[opening - 1].isspace():
        opening -= 1
    return body[:opening]


def _is_title_line(line: str) -> bool:
    """A line in title case with no sentence punctuation ("Create Aider Configuration File",
    "3. Configure Aider with Latest Features (v0.86+)"), or a list item of one capitalised word
    ("- Address"): it names a section or a field; it is not a command."""
    body = _LIST_ITEM.sub("", line, count=1).strip().strip("*_").strip()
    body = _without_trailing_parenthetical(body)
    if not body or re.search(r"[.!?;,:`]", body):
        return False
    words = re.findall(r"[A-Za-z][\w'’-]*", body)
    if len(words) == 1:
        return bool(_LIST_ITEM.match(line)) and words[0][:1].isupper() and not words[0].isupper() and len(body.split()) == 1
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    # Identifiers ("ReminderSettings") and acronyms ("DLQ") are capitalised in any sentence.
    titled = [w for w in content if w[:1].isupper() and w[1:] == w[1:].lower()]
    return 2 <= len(words) <= 10 and len(titled) >= 2 and all(w[:1].isupper() for w in content)


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
    is_heading: bool = False  # a Markdown heading or a label line ("## Steps", "**Fix**:")
    reports_problem: bool = False  # states something observed to be wrong ("the build fails")
    table_row: bool = False  # a row of a Markdown table


@dataclass(frozen=True)
class TaskVerb:
    token: int  # token index in the doc
    start: int
    end: int
    lemma: str
    kind: str  # create | change | fix | remove | operate | test | document | handle | investigate
    sentence: int
    form: str  # "imperative" | "request" | "coordinated" | "run-on" | "want"
    # What the task acts on: code | ui | config | docs | git | tool | answer ("show me") | none
    object_class: str = "code"

    @property
    def changes_code(self) -> bool:
        return self.kind in CHANGE_KINDS and self.object_class in CODE_OBJECTS


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
    # The previous assistant message of the conversation, when the caller knows it ("" = there is
    # none: the prompt opens a session); None = unknown (a prompt file, or a turn without its history).
    previous_turn: str | None = None
    # What kind of message this is (a key of MESSAGE_KINDS), decided before any rule runs.
    message_kind: str = "statement"
    # A turn in a conversation by its own words: it opens with "ok", "also", "still", "now", or
    # refers back ("your last change", "try again", "same error"). Without the previous turn, its
    # references are given the benefit of the doubt: they point into a conversation we cannot see.
    follow_up: bool = False
    # Whether what a pronoun could stand for is named in the previous turn.
    previous_turn_names_something: bool = False

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
    def prose_sentences(self) -> list[Sentence]:
        """Sentences of the prompt's own words: not headings, not wholly code or pasted output."""
        return [s for s in self.sentences if s.text.strip() and not s.is_heading and not self._all_code(s)]

    def _all_code(self, sent: Sentence) -> bool:
        words = [t for t in self.doc[sent.token_start : sent.token_end] if not t.is_space and not t.is_punct]
        return bool(words) and all(t.i in self.code_token_ids for t in words)

    @property
    def is_question_only(self) -> bool:
        """Every sentence is a question and none carries a request ("Why does X fail?")."""
        prose = [s for s in self.sentences if s.text.strip() and not self.is_code(s.start, s.end)]
        return bool(prose) and all(s.is_question for s in prose) and not any(
            t.form == "request" for t in self.task_verbs
        )

    @property
    def change_tasks(self) -> list[TaskVerb]:
        return [t for t in self.task_verbs if t.kind not in ("investigate", "operate")]

    @property
    def code_change_tasks(self) -> list[TaskVerb]:
        """Tasks that change code, configuration or the UI (not documents, git, tools or answers)."""
        return [t for t in self.task_verbs if t.changes_code]

    @property
    def conversation_unknown(self) -> bool:
        """A message with no name and no previous turn: a chat turn whose history we were not given
        (a prompt file, or a turn with its previous turn, is read on its own)."""
        return self.previous_turn is None and self.source.path in ("<prompt>", "-", "<stdin>", "")

    @property
    def asks_for_change(self) -> bool:
        return self.message_kind == "change-request"

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
            words = [t.lower_ for t in self.doc[sent.token_start : sent.token_end] if not t.is_space and t.i not in self.code_token_ids]
            for i in range(len(words)):
                for m in modals:
                    if words[i : i + len(m)] != m:
                        continue
                    # "I have to switch tabs and back": the user's own chore, not a requirement.
                    if m[0] in ("have", "had", "has") and i > 0 and words[i - 1] in ("i", "we"):
                        continue
                    out.add(sent.index)
        return frozenset(out)

    @cached_property
    def problem_sentences(self) -> list[Sentence]:
        return [s for s in self.sentences if s.reports_problem]

    def sentence_of(self, offset: int) -> Sentence | None:
        k = bisect.bisect_right(self._sentence_starts, offset) - 1
        if k >= 0 and offset < self.sentences[k].end:
            return self.sentences[k]
        return None

    def reference_resolved(self, offset: int, generic: set[str] | frozenset[str] | None = None) -> bool:
        """Whether a reference at ``offset`` ("it", "the other one") can stand for something: named
        earlier in the prompt, or in the previous turn; when the previous turn is unknown, a
        follow-up gets the benefit of the doubt (it points into a conversation we cannot see)."""
        if self.previous_turn is not None:
            if self.previous_turn_names_something:
                return True
        elif self.follow_up:
            return True
        return self._antecedent_before(offset, generic)

    def _antecedent_before(self, offset: int, generic: set[str] | frozenset[str] | None = None) -> bool:
        """A code span or a specific noun phrase before ``offset`` ("the login page", not "an error"
        when ``generic`` counts errors as naming nothing)."""
        generic = set(lexicon()["generic-objects"]["words"]) | set(generic or ())
        if any(span.start < offset and span.kind not in ("mention", "marker") for span in self.code_spans):
            return True
        for np_ in self.noun_phrases:
            if np_.end <= offset and any(w.lower() not in generic and w.lower() not in _DETERMINERS for w in re.findall(r"[A-Za-z]+", np_.text)):
                return True
        return False


def _verb_kinds() -> dict[str, str]:
    kinds: dict[str, str] = {}
    for kind, verbs in lexicon()["task-verbs"].items():
        for verb in verbs:
            kinds.setdefault(verb, kind)
    return kinds


def names_something(text: str) -> bool:
    """Whether a text (the previous turn) names a thing a pronoun could stand for: a code span, or a
    content word that is not a function word."""
    if not text or not text.strip():
        return False
    if find_code_spans(text):
        return True
    words = re.findall(r"[A-Za-z][a-z]{3,}", text)
    common = {"this", "that", "with", "have", "will", "would", "could", "should", "there", "their", "what", "when", "which", "your", "here", "about", "just", "like", "okay", "sure", "thanks", "done", "then", "them", "they", "been", "from", "into", "also", "some", "more", "very", "were", "does", "make", "want", "need", "know", "sorry", "help", "please", "great", "good"}
    return sum(1 for w in words if w.lower() not in common) >= 1


class _Analyzer:
    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        lex = lexicon()
        self.verb_kind = _verb_kinds()
        derived = lex.get("derived-verbs", {})
        self.prefixes = sorted(derived.get("prefixes", []), key=len, reverse=True)
        self.change_suffixes = tuple(derived.get("change-suffixes", []))
        self.not_verbs = set(derived.get("not-verbs", []))
        self.frames: dict[str, list[list[str]]] = {}
        self.anywhere: dict[str, list[list[str]]] = {}
        for key, target in (("phrases", self.frames), ("anywhere", self.anywhere)):
            for phrase in lex["request-frames"].get(key, []):
                for variant in {phrase, phrase.replace("'", " '")}:
                    parts = variant.split()
                    target.setdefault(parts[0], []).append(parts)
            for parts_list in target.values():
                parts_list.sort(key=len, reverse=True)
        self.openers = set(lex["request-frames"]["openers"])
        self.code_nouns = set(lex["code-nouns"]["nouns"])
        classes = lex.get("object-classes", {})
        self.object_classes = [(name, set(classes.get(name, []))) for name in ("git", "docs", "config", "ui", "tool")]
        self.file_classes = {ext: name for name, exts in lex.get("file-classes", {}).items() for ext in exts}
        fu = lex.get("follow-up", {})
        self.follow_openers = set(fu.get("openers", []))
        self.follow_patterns = [re.compile(p, re.I | re.M) for p in fu.get("patterns", [])]
        pr = lex.get("problems", {})
        self.problem_patterns = [re.compile(p, re.I) for p in pr.get("patterns", [])]

    def analyze(self, source: PromptSource, previous_turn: str | None = None) -> Analysis:
        text = source.prose
        spans = find_code_spans(text)
        doc = run(self.pipeline, text, [(s.start, s.end) for s in spans])
        analysis = Analysis(source=source, pipeline=self.pipeline, doc=doc, code_spans=spans, previous_turn=previous_turn)
        analysis.previous_turn_names_something = previous_turn is not None and names_something(previous_turn)
        code_ids = analysis.code_token_ids
        self._sentences(analysis)
        self._task_verbs(analysis, code_ids)
        self._problem_before_fix(analysis)
        self._noun_phrases(analysis, code_ids)
        candidates = self._pronoun_candidates(analysis, code_ids)
        analysis.follow_up = self._is_follow_up(analysis, candidates)
        analysis.unresolved_pronouns = [(s, e) for s, e in candidates if not analysis.reference_resolved(s)]
        analysis.message_kind = self._message_kind(analysis)
        with_tasks = {t.sentence for t in analysis.task_verbs}
        analysis.subtasks = [s for s in analysis.sentences if s.list_item and s.index in with_tasks]
        return analysis

    # --- sentences ---------------------------------------------------------------------------
    def _sentences(self, a: Analysis) -> None:
        text = a.source.prose
        span_starts = [sp.start for sp in a.code_spans]
        text_stripped = text.strip()
        line_bounds = (0, -1)  # [start, end) of the line of the previous sentence: none yet
        line, line_shape, line_list_item, line_table_row = "", (False, False), False, False
        for sent in a.doc.sents:
            if not sent.text.strip():
                continue
            i = len(a.sentences)
            words = [t for t in sent if not t.is_space and not t.is_punct and not _is_markup(t)]
            start = sent.start_char
            if not (line_bounds[0] <= start < line_bounds[1]):
                # Sentences come in order and many share a line (a 40 kB line of quotes is hundreds of
                # them): the line is found and its shape judged once per line, not once per sentence.
                line_start = text.rfind("\n", 0, start) + 1
                line_end = text.find("\n", start)
                line_bounds = (line_start, line_end if line_end >= 0 else len(text))
                line = text[line_bounds[0] : line_bounds[1]]
                line_shape = self._line_shape(line, text_stripped)
                line_list_item = bool(_LIST_ITEM.match(line))
                line_table_row = line.lstrip().startswith("|") and line.rstrip().endswith("|")
            line_start = line_bounds[0]
            first = words[0].lower_ if words else ""
            stripped = sent.text.rstrip()
            # The sentence's own words, pasted code and output blanked out (same offsets).
            chars = list(sent.text)
            k0 = max(0, bisect.bisect_right(span_starts, sent.start_char) - 1)
            for span in a.code_spans[k0:]:
                if span.start >= sent.end_char:
                    break
                lo, hi = max(span.start, sent.start_char), min(span.end, sent.end_char)
                if lo < hi:
                    chars[lo - sent.start_char : hi - sent.start_char] = " " * (hi - lo)
            prose = "".join(chars)
            second = words[1].lower_ if len(words) > 1 else ""
            # A question mark that ends the sentence's own words counts though pasted output follows it
            # in the same sentence ("Can't deploy on Vercel?\\" and a build log: a Markdown line break).
            question = stripped.endswith("?") or bool(re.search(r"\?[\s\\]*$", prose)) or (first in _QUESTION_STARTERS and "?" in stripped) or (
                # chat style drops the "?": "why do you think X solves my issue", "how does the cache work"
                first in ("why", "how", "what", "where", "when", "which", "who") and second in (
                    "do", "does", "did", "is", "are", "was", "were", "can", "could", "would", "should", "will", "has", "have", "am"
                )
            )
            in_line = sent.start_char < line_start + len(line)
            heading_line, title_line = line_shape
            heading = (heading_line or title_line) and in_line
            a.sentences.append(
                Sentence(
                    index=i,
                    start=start,
                    end=sent.end_char,
                    token_start=sent.start,
                    token_end=sent.end,
                    text=sent.text,
                    is_question=question,
                    list_item=line_list_item,
                    is_heading=heading,
                    reports_problem=any(p.search(prose) for p in self.problem_patterns),
                    table_row=line_table_row,
                )
            )

    def _problem_before_fix(self, a: Analysis) -> None:
        """"Somehow the SVG turned invisible. Fix it.": a statement right before a bare fix command
        ("fix it", "please fix this", "can you fix that?") is the problem that command is about,
        whatever words it uses."""
        for t in a.task_verbs:
            if t.kind != "fix" or t.sentence == 0:
                continue
            sent, prev = a.sentences[t.sentence], a.sentences[t.sentence - 1]
            if prev.reports_problem or prev.is_question or prev.is_heading or prev.index in a.verbs_by_sentence:
                continue
            if a.text[prev.end : sent.start].count("\n") >= 2 or not re.search(r"[A-Za-z]{3}", prev.text):
                continue
            rest = [w.lower() for w in re.findall(r"[A-Za-z']+", a.text[t.end : sent.end])]
            if len(rest) <= 3 and all(w in ("it", "this", "that", "them", "please", "pls", "now", "asap", "for", "me", "up", "again") for w in rest):
                a.sentences[prev.index] = replace(prev, reports_problem=True)

    # --- task verbs --------------------------------------------------------------------------
    def _verb_class(self, tok: Any) -> str | None:
        """The class of a word that may be a command verb (base form only), or None."""
        lower = tok.lower_
        if self.pipeline.trained and tok.pos_ not in ("VERB", "AUX", "") and tok.tag_ not in ("VB", "VBP"):
            return None
        if not tok.is_alpha and "-" not in lower:
            return None
        # Lookup lemmas cannot tell "test" (verb) from "tests"; the base form equals its lemma.
        if lower == tok.lemma_ and lower in self.verb_kind:
            return self.verb_kind[lower]
        if lower in self.not_verbs or len(lower) < 5 or lower != tok.lemma_:
            return None
        for prefix in self.prefixes:
            rest = lower[len(prefix) :]
            if lower.startswith(prefix) and len(rest) >= 3 and rest in self.verb_kind:
                return self.verb_kind[rest]
        if lower.endswith(self.change_suffixes) and len(lower) >= 7:
            return "change"
        return None

    def _shape_says_not_a_command(self, tokens: list[Any], i: int, sent: Sentence) -> bool:
        """Where the sentence's shape shows the word is a noun or a label, not a command."""
        tok = tokens[i]
        nxt = next((t for t in tokens[i + 1 :] if not t.is_space), None)
        prev = tokens[i - 1] if i > 0 else None
        if nxt is None:
            # A one-word clause ("Fix", "Update?") asks for nothing unless it is the whole prompt's order.
            return sent.is_question or sent.is_heading or len([t for t in tokens if t.is_alpha]) > 1
        if nxt.text == ":":
            return True  # "Update:" labels a step or a section
        if nxt.text in ("**", "*", "__", "_"):
            # "**Fix**:" and "**Fix**" alone on its line label a step; "**Fix** the cache" stresses a command.
            k = nxt.i + 1
            while k < sent.token_end and tok.doc[k].text in ("**", "*", "__", "_"):
                k += 1
            if k >= sent.token_end or tok.doc[k].text == ":" or "\n" in tok.doc[k].text or "\n" in tok.doc[k - 1].whitespace_:
                return True
        after = [t for t in tokens[i + 1 : i + 4] if not t.is_space]
        if len(after) >= 2 and after[0].lower_ in ("by", "on", "to", "for", "with", "from", "as") and after[1].text == ":":
            return True  # "Sort by: `Task Code`", "Filter on:" label a setting
        if nxt.lower_ in _FINITE_AFTER_SUBJECT:
            return True  # "Build fails on CI", "Update is ready"
        if nxt.lower_ in _NOUN_AFTER and self.verb_kind.get(tok.lower_) in ("change", "fix", "create", "operate", "test"):
            if tok.lower_ not in ("look", "check", "test", "search", "wait", "work", "focus", "iterate", "vote", "ask", "pay", "plan", "allow", "account"):
                return True  # "change in plan", "fix for the login bug", "update on the migration"
        if tok.lower_ == "let" and nxt.lower_ in ("me", "us"):
            return True
        return False

    @staticmethod
    def _line_shape(line: str, text_stripped: str) -> tuple[bool, bool]:
        """Whether a line is a Markdown heading, and whether it is a title or a label line."""
        heading = bool(_HEADING.match(line)) and (line.lstrip().startswith("#") or len(line.split()) <= 6)
        heading = heading and not _POINTS_AT_PASTE.search(line)
        if heading and _BOLD_SENTENCE.match(line) and (text_stripped == line.strip() or re.search(r"[.!?]\W*$", line)):
            heading = False  # "**Refactor the entire codebase.**": an emphasised sentence (or the whole prompt), not a title
        # "3. Configure Aider with Latest Features", "• Date of Birth": a title or a label
        title = not heading and _is_title_line(line) and text_stripped != line.strip()
        return heading, title

    def _is_opener(self, tok: Any) -> bool:
        return (tok.is_space or tok.is_punct or tok.lower_ in self.openers or tok.like_num
                or tok.text in ("**", "*", "__", "-", "–") or _is_markup(tok))

    def _skip_openers(self, tokens: list[Any], i: int, run: list[int] | None = None) -> int:
        """The first token at or after i that is not an opener. `run` ([start, end], shared by the
        calls on one token list) remembers the last run of openers skipped: every clause start inside
        it ends at the same place, so a sentence of thousands of "(" or quotes (each one a clause
        start) is walked once, not once per start (that was quadratic in the run's length)."""
        if run is not None and run[0] <= i <= run[1]:
            return run[1]
        start = i
        while i < len(tokens) and self._is_opener(tokens[i]):
            i += 1
        if run is not None:
            run[0], run[1] = start, i
        return i

    def _match_frame(self, tokens: list[Any], i: int, frames: dict[str, list[list[str]]] | None = None) -> int | None:
        """If a request frame starts at tokens[i], the index just after it (line breaks inside are fine)."""
        candidates = (frames if frames is not None else self.frames).get(tokens[i].lower_)
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
            if sent.is_heading or stripped.startswith("#") or sent.table_row:
                continue  # a Markdown heading ("## Describe the bug") names a section, it asks nothing
            if stripped.endswith(":") and len(stripped.split()) <= 3 and not _POINTS_AT_PASTE.search(stripped):
                continue  # a form label ("Use Case:", "Steps to reproduce:")
            tokens = [t for t in doc[sent.token_start : sent.token_end]]
            found: set[int] = set()

            def consider(j: int, form: str) -> bool:
                if j >= len(tokens) or j in found or tokens[j].i in code_ids:
                    return False
                before = [t.lower_ for t in tokens[max(0, j - 3) : j] if not t.is_space]
                if before and (before[-1] in ("not", "n't", "nt", "never", "dont", "don't", "doesnt", "didnt", "isnt", "cant", "wont", "cannot", "without", "no") or before[-2:] == ["do", "not"]):
                    return False  # "do not modify any text": a constraint, not a task
                kind = self._verb_class(tokens[j])
                if kind is None or self._shape_says_not_a_command(tokens, j, sent):
                    return False
                nxt = next((t for t in tokens[j + 1 :] if not t.is_space), None)
                if tokens[j].lower_ == "make" and nxt is not None and nxt.lower_ in ("sure", "certain"):
                    kind = "investigate"  # "make sure the workflow is set up": a check, not a change
                found.add(j)
                self._add(a, tokens[j], sent, form, kind)
                return True

            # Clauses: the sentence start, and after ";", ":" or a dash.
            starts = [0] + [k + 1 for k, t in enumerate(tokens) if t.text in (";", ":", "—", "–", "(") and k + 1 < len(tokens)]
            starts += [k + 1 for k, t in enumerate(tokens) if t.text == "-" and k > 0 and tokens[k - 1].whitespace_ and k + 1 < len(tokens)]
            opener_run = [1, 0]  # empty: no run of openers walked yet
            for clause_start in sorted(set(starts)):
                i = self._skip_openers(tokens, clause_start, opener_run)
                form = "imperative"
                # "Can you please add", "I need you to fix"
                for _ in range(3):
                    after = self._match_frame(tokens, i) if i < len(tokens) else None
                    if after is None:
                        break
                    form = "request"
                    i = self._skip_openers(tokens, after, opener_run)
                if not consider(i, form) and i < len(tokens):
                    self._want(a, tokens, i, sent, found)
            # Frames in mid-sentence: "The build fails, can you fix the config?", "for the shadow here
            # can you make it look more modern".
            for k in range(1, len(tokens)):
                if k in found:
                    continue
                after = self._match_frame(tokens, k, self.anywhere)
                if after is None:
                    after = self._match_frame(tokens, k)
                    if after is None or not (tokens[k - 1].is_punct or tokens[k - 1].lower_ in ("and", "then", "so", "but", "also") or tokens[k].lower_ == "please"):
                        continue
                j = self._skip_openers(tokens, after, opener_run)
                consider(j, "request")
            # Coordinated commands: "Add X and update Y", "..., then fix Z".
            for k in range(1, len(tokens) - 1):
                connector = tokens[k].lower_
                if k in found or connector not in ("and", "then", "also", ",", "&"):
                    continue
                # After "and"/"then" the first command must come earlier; after a comma a command
                # may start the sentence's second clause ("The app is slow, fix it").
                if connector != "," and (not found or min(found) > k):
                    continue
                j = k + 1
                while j < len(tokens) and tokens[j].lower_ in ("then", "also", "please", "pls", "just", "maybe", "only", "perhaps"):
                    j += 1
                if j + 1 >= len(tokens) or j in found or tokens[j].i in code_ids:
                    continue
                nxt = tokens[j + 1]
                if j > k + 1 and tokens[j - 1].lower_ in ("only", "just", "also", "then", "please", "pls"):
                    ok = not nxt.is_punct and not nxt.is_space  # ", only add headings": a command
                elif connector == ",":
                    ok = nxt.i in code_ids or nxt.lower_ in _OBJECT_STARTERS
                else:
                    ok = nxt.i in code_ids or (not nxt.is_punct and not nxt.is_space and nxt.lower_ not in _NOT_OBJECT_STARTERS)
                if ok:
                    consider(j, "coordinated")
            # Chat run-ons without punctuation: "... capture the validation update the all validations".
            for k in range(1, len(tokens) - 1):
                if k in found or tokens[k].i in code_ids:
                    continue
                prev, nxt = tokens[k - 1], tokens[k + 1]
                if nxt.lower_ not in _DETERMINERS or not prev.is_alpha or prev.is_stop or prev.lower_ in self.openers:
                    continue
                if self.verb_kind.get(tokens[k].lower_) not in ("create", "change", "fix", "remove") or prev.lemma_ in self.verb_kind:
                    continue
                if any(c.isupper() for c in sent.text[:1]):
                    continue  # written prose with capitals; a run-on is chat style
                consider(k, "run-on")

    def _want(self, a: Analysis, tokens: list[Any], i: int, sent: Sentence, found: set[int]) -> None:
        """"I want a popup window to appear", "we need a way to ...": a request without a verb."""
        words = [(k, t) for k, t in enumerate(tokens) if not t.is_space]
        for n, (k, t) in enumerate(words[:-1]):
            if t.lower_ not in ("want", "need", "like") or n == 0:
                continue
            subj = words[n - 1][1].lower_
            if subj not in ("i", "we", "'d", "'ll") and not (subj == "would" and n >= 2):
                continue
            nxt = words[n + 1][1]
            if nxt.lower_ in ("to", "you", "u", "it", "this", "that", "them", "me", "help") or not (nxt.lower_ in _DETERMINERS or nxt.lower_ in ("another", "more", "some", "new")):
                continue
            if k not in found:
                found.add(k)
                # "I want a popup window" asks for something new; "I want the build command to run
                # both builds" for a change to something that exists (it was taken for a new file)
                self._add(a, t, sent, "want", "change" if nxt.lower_ in _DEFINITE else "create")
            return

    def _add(self, a: Analysis, tok: Any, sent: Sentence, form: str, kind: str) -> None:
        object_class = self._object_class(a, tok)
        earlier = [t for t in a.task_verbs if t.start < tok.idx]
        if earlier and earlier[0].kind == "investigate" and tok.lower_ in _SHAPES_THE_ANSWER and object_class in ("code", "none"):
            object_class = "answer"  # "Search the schemas ... Include the file name": the report's content
        a.task_verbs.append(
            TaskVerb(
                token=tok.i, start=tok.idx, end=tok.idx + len(tok.text), lemma=tok.lemma_,
                kind=kind, sentence=sent.index, form=form, object_class=object_class,
            )
        )
        a.task_verbs.sort(key=lambda t: t.start)

    def _object_class(self, a: Analysis, verb_tok: Any) -> str:
        """What the task acts on, from the words after the verb up to the end of its clause."""
        doc = a.doc
        clause = []
        for tok in doc[verb_tok.i + 1 : verb_tok.i + 14]:
            if tok.text in (".", ";", "!", "?") or ("\n" in tok.text and tok.is_space):
                break
            clause.append(tok)
        words = [t for t in clause if not t.is_space]
        if words and words[0].lower_ in ("me", "us") and verb_tok.lower_ in ("give", "show", "tell", "send", "explain", "list", "walk", "teach"):
            return "answer"
        object_words: list[Any] = []
        for t in words:
            if t.lower_ in ("to", "for", "in", "on", "with", "so", "that", "which", "from", "into", "by", "when", "if", "because", "and", "or", "as", "using", "via", "at", "where", "while", "after", "before", ",", "(", ":", "-"):
                if object_words:
                    break
                if t.lower_ in (",", "and", "or", ":", "-"):
                    break
                continue
            object_words.append(t)
        # A file in the clause decides by its extension ("update README.md", "add X to .gitignore").
        files = []
        for t in words:
            if re.fullmatch(r"\.(?:gitignore|env|dockerignore|npmrc|nvmrc|editorconfig|prettierrc|eslintrc)\w*", t.lower_) or t.lower_.strip("`/") in ("node_modules", "dist", "build", ".venv", "venv", "target", ".next", "__pycache__"):
                files.append("config")  # a dotfile or a generated folder: housekeeping, not code
            elif t.i in a.code_token_ids:
                m = re.search(r"\.([A-Za-z0-9]+)`?$", t.text.rstrip("`'\")"))
                low = t.text.lower().strip("`'\"")
                if low.endswith(("dockerfile", ".gitignore", ".env", "makefile")):
                    files.append("config")
                elif m:
                    files.append(self.file_classes.get(m.group(1).lower(), "code"))
                else:
                    files.append("code")
        if verb_tok.lower_ in ("connect", "link", "push", "add", "set", "point") and re.search(r"\.git\b|\bgithub\.com/|\bgitlab\.com/|\bremote\b|\borigin\b", " ".join(t.text for t in words), re.I):
            return "git"  # "connect this project to https://github.com/acme/app.git": a remote, not code
        lemmas = [t.lemma_.lower() for t in object_words if t.is_alpha]
        if "of" in lemmas[1:]:
            lemmas = lemmas[: lemmas.index("of", 1)]  # "the name of the app": the head comes before "of"
        head = lemmas[-1] if lemmas else None
        for name, vocab in self.object_classes:
            if name == "git" and any(w in vocab for w in lemmas[:3]):
                return "git"
        if head is not None:
            for name, vocab in self.object_classes:
                if head in vocab:
                    return name
        if files:
            return files[0]
        # Where the change goes decides when the object does not: "rename S000 in the docs".
        for k, t in enumerate(words[:-1]):
            if t.lower_ in ("in", "into", "inside", "to") and k > 0:
                nxt = next((w for w in words[k + 1 : k + 4] if w.lower_ not in ("the", "our", "my", "a", "this", "that")), None)
                if nxt is not None:
                    for name, vocab in self.object_classes:
                        if name in ("docs", "config") and nxt.lemma_.lower() in vocab and (not lemmas or not any(w in v for _, v in self.object_classes for w in lemmas)):
                            return name
        # The head may be an adjective ("make the submit button blue") or a modifier ("the docs name",
        # "a detailed markdown file"): the last word of the object that has a class decides.
        for w in reversed(lemmas):
            for name, vocab in self.object_classes:
                if w in vocab:
                    return name
        # "convert this into an md formatted file": the result names a document.
        if re.search(r"\b(?:md|markdown|readme|changelog)\b|\.md\b", " ".join(t.lower_ for t in words)):
            return "docs"
        if any(t.i in a.code_token_ids for t in object_words):
            return "code"
        return "code" if object_words else "none"

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
    def _pronoun_candidates(self, a: Analysis, code_ids: frozenset[int]) -> list[tuple[int, int]]:
        """Pronouns standing for a thing the prompt never names ("Fix it.", "This is broken"); the
        caller drops those the conversation resolves."""
        doc = a.doc
        verbs_at = {t.token: t for t in a.task_verbs}
        first_antecedent = self._first_antecedent(a, code_ids)
        out = []
        for tok in doc:
            lower = tok.lower_
            if lower not in _SUBJECT_PRONOUNS and lower not in _OBJECT_PRONOUNS:
                continue
            if tok.i in code_ids or first_antecedent < tok.i:
                continue
            nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
            nxt_text = (nxt.lower_ if not nxt.is_space else "\n") if nxt is not None else "\n"
            if nxt is not None and (nxt.i in code_ids or nxt.text in ('"', "'", "`", "\u201c", "@")):
                continue  # a determiner: this "@https://github.com/.../issues/96" issue
            stands_alone = lower in ("it", "them", "they") or nxt is None or (nxt.is_punct and nxt.text not in ("-",)) or nxt_text in _PRONOUN_FOLLOWERS
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
            if lower == "it" and any(m.start() <= tok.idx < m.end() for m in _DUMMY_IT.finditer(a.text, max(0, tok.idx - 16), tok.idx + 48)):
                continue  # "make it so that", "it's possible": no reference
            if sent is not None and is_subject and _PRESENTATIONAL.match(a.text[tok.idx : sent.end]):
                continue  # "This is a NestJS project": it says what "this" is
            out.append((tok.idx, tok.idx + len(tok.text)))
        return out

    @staticmethod
    def _first_word(doc: Any, sent: Sentence) -> int | None:
        for t in doc[sent.token_start : sent.token_end]:
            if not (t.is_space or t.is_punct or t.like_num or _is_markup(t)):
                return t.i
        return None

    def _first_antecedent(self, a: Analysis, code_ids: frozenset[int]) -> int:
        """Index of the first token that could be what a later pronoun stands for (len(doc) if none)."""
        for tok in a.doc:
            if tok.i in code_ids:
                span_kind = next((s.kind for s in a.code_spans if s.start <= tok.idx < s.end), None)
                if span_kind in ("mention", "marker"):
                    continue
                return tok.i
            if not tok.is_alpha or tok.is_stop or tok.lower_ in _SUBJECT_PRONOUNS or tok.lower_ in _OBJECT_PRONOUNS:
                continue
            if tok.lemma_ in self.verb_kind and tok.lower_ == tok.lemma_:
                continue  # a command verb is not a thing
            if tok.lower_ in self.openers or tok.lower_ in _NOT_ANTECEDENTS or tok.lower_ in self.follow_openers:
                continue
            return tok.i
        return len(a.doc)

    # --- conversation --------------------------------------------------------------------------
    def _is_follow_up(self, a: Analysis, pronouns: list[tuple[int, int]]) -> bool:
        prose = [s for s in a.sentences if not s.is_heading]
        if not prose:
            return False
        first_words = [t for t in a.doc[prose[0].token_start : prose[0].token_end] if not t.is_space and not _is_markup(t)]
        if first_words:
            w0 = first_words[0]
            nxt = first_words[1] if len(first_words) > 1 else None
            strong = {"ok", "okay", "k", "kk", "great", "perfect", "thanks", "thank", "thx", "ty", "yes", "yep", "yeah", "yup", "no", "nope", "nah", "now", "also", "still", "then", "again", "alright", "actually", "hmm", "hm", "ewh", "ew", "ugh", "nevermind", "awesome", "amazing", "excellent"}
            if w0.lower_ in self.follow_openers and (w0.lower_ in strong or nxt is None or nxt.is_punct or nxt.lower_ in self.follow_openers):
                return True
        prose_text = " ".join(a.text[s.start : s.end] for s in prose if not a.is_code(s.start, s.end))
        if any(p.search(prose_text) for p in self.follow_patterns):
            return True
        return False

    # --- message kind --------------------------------------------------------------------------
    @staticmethod
    def _file_kind(a: Analysis) -> str | None:
        """A prompt file by its name or shape: instructions (CLAUDE.md, rules) or a command/prompt file."""
        path = a.source.path.replace("\\", "/")
        raw = a.source.text
        if _INSTRUCTION_FILES.search(path):
            return "instructions-file"
        if _COMMAND_FILES.search(path):
            return "command-file"
        if _INSTRUCTIONS_SHAPE.search(raw[:400]):
            return "instructions-file"
        if _COMMAND_FRONT_MATTER.match(raw) or any(s.kind == "template" and s.text.startswith(("$ARGUMENTS", "${input:")) for s in a.code_spans):
            return "command-file"
        return None

    def _message_kind(self, a: Analysis) -> str:
        file_kind = self._file_kind(a)
        if file_kind is not None:
            return file_kind
        prose = a.prose_sentences
        words = sum(1 for s in prose for t in a.doc[s.token_start : s.token_end] if t.is_alpha and t.i not in a.code_token_ids)
        if words < 3 and any(s.kind == "harness" for s in a.code_spans):
            return "agent-text"  # only what the agent harness wrote into the turn
        if words >= 40 and self._agent_written(a, prose):
            return "agent-text"
        # A command inside a question ("why do you think X solves my issue") asks nothing; a request
        # in question form ("can you fix the header?") does.
        asking = [t for t in a.task_verbs if t.form == "request" or not a.sentences[t.sentence].is_question]
        change = [t for t in asking if t.changes_code]
        wishes = [s for s in prose if s.index in a.requirement_sentences and not s.is_question and s.index not in a.verbs_by_sentence]
        has_output = any(s.kind in ("traceback", "fenced") for s in a.code_spans)
        questions = [s for s in prose if s.is_question and not any(t.form == "request" for t in a.verbs_by_sentence.get(s.index, ()))]
        if change:
            return "change-request"
        if wishes and not asking and not all(self._is_investigative_wish(a, s) for s in wishes):
            return "change-request"
        if asking:
            if a.follow_up and words <= 12 and all(t.kind in ("investigate", "operate") for t in asking) and not has_output:
                if not any(t.kind == "operate" for t in asking) and any(re.search(r"\b(?:continue|proceed|go|do|next|both)\b", s.text, re.I) for s in prose):
                    return "follow-up"
            return "non-code-request"
        problems = [s for s in prose if s.reports_problem]
        if has_output and words <= 12 and not questions:
            return "log"  # pasted output and a few words at most ("Getting this:")
        if problems and not questions:
            return "problem-report"
        if questions:
            return "question"
        if a.follow_up and words <= 15:
            return "follow-up"
        if has_output and words <= 25:
            return "log"
        return "statement"

    @staticmethod
    def _agent_written(a: Analysis, prose: list[Sentence]) -> bool:
        """At least two different turns of an agent's discourse in the prompt's own words, one of
        them a turn users do not write ("Let me check", "Should I proceed?"): users also say "I
        noticed that ..." and "I can see the ...", which alone prove nothing."""
        text = "\n".join(a.text[s.start : s.end] for s in prose)
        found = [p for p in _AGENT_DISCOURSE if p.search(text)]
        return len(found) >= 2 and any(p not in _USER_PLAUSIBLE for p in found)

    @staticmethod
    def _is_investigative_wish(a: Analysis, sent: Sentence) -> bool:
        """"I want to understand ...", "we should look at ...": a modal that asks for no change."""
        return bool(re.search(r"\b(?:understand|know|see|learn|ask|check|look|review|discuss|think|plan|confirm|decide|investigate|explore|figure)\b", sent.text, re.I)) and not re.search(
            r"\b(?:should|must|needs? to|has to)\s+(?:be|have|show|display|include|use|work|appear|return|allow|only)\b", sent.text, re.I
        )


_analyzers: dict[str, _Analyzer] = {}


def analyze(source: PromptSource, pipeline: Pipeline, previous_turn: str | None = None) -> Analysis:
    """Analyse a prompt. ``previous_turn`` is the previous assistant message of the conversation
    when known ("" when the prompt opens a session, None when unknown)."""
    analyzer = _analyzers.get(pipeline.name)
    if analyzer is None or analyzer.pipeline is not pipeline:
        analyzer = _analyzers[pipeline.name] = _Analyzer(pipeline)
    return analyzer.analyze(source, previous_turn)
