"""The typed checks a rule can be: a small fixed set of kinds, each driven by the rule's [check] data.

A kind turns an ``Analysis`` into hits (character spans plus fields for the message template). The
engine turns hits into findings and applies severity, selection and suppression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..errors import RuleCatalogError
from ..resources import lexicon

if TYPE_CHECKING:  # pragma: no cover
    from ..text.analysis import Analysis, TaskVerb
    from .catalog import Rule


@dataclass
class Hit:
    start: int
    end: int
    fields: dict[str, Any] = field(default_factory=dict)
    replacement: str | None = None


@dataclass
class Context:
    """What a check may look at besides the analysis: hits of rules that already ran, and the
    prompt's mentions resolved against the repository (None without a repository)."""

    earlier_codes: set[str] = field(default_factory=set)
    resolution: Any = None
    resolver: Any = None
    estimated_files: int | None = None  # for escalation rules: the change's footprint, if known
    facts: Any = None  # RepoFacts of the repository, when there is one


# --- shared helpers --------------------------------------------------------------------------

_matcher_cache: dict[tuple[int, str], Any] = {}


def _compile_regexes(rule: "Rule", key: str) -> list[re.Pattern[str]]:
    out = []
    for pattern in rule.check.get(key, []) or []:
        try:
            out.append(re.compile(pattern, re.I | re.M))
        except re.error as exc:
            raise RuleCatalogError(f"{rule.path}: [check] {key}: bad regular expression {pattern!r}: {exc}") from None
    return out


def _phrase_matches(rule: "Rule", analysis: "Analysis", phrases: list[str], anywhere: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, matched text) for each phrase/pattern match, longest first.

    Matches inside code spans and on command verbs are dropped unless ``anywhere`` is set (a
    required phrase such as "`npm test`" counts wherever it stands)."""
    from spacy.matcher import Matcher, PhraseMatcher

    nlp = analysis.pipeline.nlp
    key = (id(nlp), rule.code + "|" + "|".join(phrases))
    matchers = _matcher_cache.get(key)
    if matchers is None:
        attr = "LOWER" if rule.check.get("match") == "lower" else "LEMMA"
        phrase_matcher = PhraseMatcher(nlp.vocab, attr=attr)
        if phrases:
            from ..text.nlp import run

            phrase_matcher.add(rule.code, [run(analysis.pipeline, p) if attr == "LEMMA" else nlp.make_doc(p) for p in phrases])
        token_matcher = Matcher(nlp.vocab)
        patterns = rule.check.get("patterns") or []
        if patterns:
            try:
                token_matcher.add(rule.code, patterns, greedy="LONGEST")
            except Exception as exc:
                raise RuleCatalogError(f"{rule.path}: [check] patterns: {exc}") from None
        matchers = _matcher_cache[key] = (phrase_matcher, token_matcher if patterns else None)
    phrase_matcher, token_matcher = matchers
    doc = analysis.doc
    spans = [doc[s:e] for _, s, e in phrase_matcher(doc)]
    if token_matcher is not None:
        spans += [doc[s:e] for _, s, e in token_matcher(doc)]
    code = frozenset() if anywhere else analysis.code_token_ids
    if not anywhere and rule.check.get("skip-task-verbs", True):
        # "Clean up the cache": the command verb is not the quality word "clean".
        code = code | {t.token for t in analysis.task_verbs}
    # Keep the longest of overlapping matches.
    spans.sort(key=lambda sp: (sp.start, -(sp.end - sp.start)))
    out, last_end = [], -1
    for sp in spans:
        if sp.start < last_end or any(t.i in code for t in sp):
            continue
        out.append((sp.start_char, sp.end_char, sp.text))
        last_end = sp.end
    return out


def _in_quoted_example(analysis: "Analysis", start: int) -> bool:
    """Inside double quotes on one line: a word quoted as an example, not used."""
    text = analysis.text
    line_start = text.rfind("\n", 0, start) + 1
    return text.count('"', line_start, start) % 2 == 1 or text.count("\u201c", line_start, start) > text.count("\u201d", line_start, start)


# --- kinds -----------------------------------------------------------------------------------

def check_existence(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """Flag every occurrence of a phrase or token pattern, unless the sentence supplies a measure."""
    unless_sentence = _compile_regexes(rule, "unless-sentence-matches")
    unless_after = _compile_regexes(rule, "unless-followed-by")
    skip_questions = rule.check.get("skip-questions", True)
    requirements_only = rule.check.get("requirements-only", False)
    hits = []
    for start, end, text in _phrase_matches(rule, analysis, list(rule.check.get("phrases", []))):
        sent = analysis.sentence_of(start)
        if requirements_only and (sent is None or sent.index not in analysis.requirement_sentences):
            continue  # narrative ("Not sure how to word it properly") is not a requirement
        if sent is not None and skip_questions and sent.is_question and sent.index not in analysis.verbs_by_sentence:
            continue
        sent_text = sent.text if sent else ""
        if any(p.search(sent_text) for p in unless_sentence):
            continue
        rest = analysis.text[end : sent.end if sent else len(analysis.text)]
        if any(p.match(rest) for p in unless_after):
            continue
        if _in_quoted_example(analysis, start):
            continue
        hits.append(Hit(start, end, {"match": text}))
    return hits


def check_substitution(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """Like existence, with a suggested replacement per phrase (usable as a quick fix)."""
    swap: dict[str, str] = rule.check.get("swap", {})
    if not swap:
        raise RuleCatalogError(f"{rule.path}: substitution needs a [check.swap] table")
    by_key = _swap_keys(rule, analysis)
    hits = []
    for hit in check_existence(_with_phrases(rule, list(swap)), analysis, ctx):
        replacement = by_key.get(_key(analysis, hit.fields["match"]), next(iter(swap.values())))
        hit.fields["replacement"] = replacement
        hit.replacement = replacement
        hits.append(hit)
    return hits


_swap_cache: dict[tuple[int, str], dict[str, str]] = {}


def _key(analysis: "Analysis", phrase: str) -> str:
    """Compare phrases the way the matcher does: by lower-case words, or by lemmas."""
    from ..text.nlp import run

    return " ".join(t.lemma_ for t in run(analysis.pipeline, phrase.lower()) if not t.is_space)


def _swap_keys(rule: "Rule", analysis: "Analysis") -> dict[str, str]:
    cache_key = (id(analysis.pipeline.nlp), rule.code)
    if cache_key not in _swap_cache:
        _swap_cache[cache_key] = {_key(analysis, k): v for k, v in rule.check["swap"].items()}
    return _swap_cache[cache_key]


def _with_phrases(rule: "Rule", phrases: list[str]) -> "Rule":
    import dataclasses

    return dataclasses.replace(rule, check={**rule.check, "phrases": phrases})


def check_unresolved_pronoun(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """Pronouns (and phrases such as "the other one") that stand for nothing the prompt names."""
    hits = [Hit(s, e, {"match": analysis.text[s:e]}) for s, e in analysis.unresolved_pronouns]
    if rule.check.get("phrases"):
        hits += check_existence(rule, analysis, ctx)
    hits.sort(key=lambda h: h.start)
    return hits


def _clause_tokens(analysis: "Analysis", verb: "TaskVerb", limit: int = 14) -> list[Any]:
    """Tokens after a task verb up to the end of its clause."""
    doc = analysis.doc
    out = []
    for tok in doc[verb.token + 1 : verb.token + 1 + limit]:
        if tok.text in (".", ";", "!", "?", ":") or ("\n" in tok.text and tok.is_space):
            break
        out.append(tok)
    return out


def check_vague_action(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A task verb whose object is missing or generic and whose outcome is unstated ("fix it", "clean up")."""
    verbs = set(rule.check.get("verbs", []))
    generic = set(lexicon()["generic-objects"]["words"]) | set(rule.check.get("generic", []))
    fillers = set(rule.check.get("fillers", [])) | {"the", "a", "an", "my", "our", "your", "its", "their", "some", "please", "up", "out"}
    markers = [m.lower() for m in lexicon()["outcome-markers"]["phrases"]] + [m.lower() for m in rule.check.get("outcome-markers", [])]
    code = analysis.code_token_ids
    hits = []
    for verb in analysis.task_verbs:
        if verb.lemma not in verbs:
            continue
        clause = _clause_tokens(analysis, verb)
        words = [t for t in clause if not t.is_space and not t.is_punct]
        if any(t.i in code for t in clause) or any(t.like_num for t in words):
            continue
        clause_text = " " + " ".join(t.lower_ for t in words) + " "
        if any(f" {m} " in clause_text for m in markers):
            continue
        # The object is what is left once fillers are gone; vague when nothing concrete remains
        # within the first few words (later words usually start a new thought).
        head = [t for t in words[:5] if t.lower_ not in fillers]
        # "fix it so it works", "clean up the code in ..." - only the words before a preposition count.
        object_words = []
        for t in head:
            if t.lower_ in ("in", "for", "on", "of", "with", "to", "and", "so", "because", "since", "that", "which", "as", "at", "from", "by", "before", "after"):
                break
            object_words.append(t)
        if object_words and any(t.lower_ not in generic and t.lemma_ not in generic for t in object_words):
            continue
        pronoun_object = bool(object_words) and object_words[0].lower_ in ("it", "this", "that", "them", "these", "those")
        if pronoun_object and _named_before(analysis, verb.start, generic):
            continue  # "tests/users.test.ts hangs on CI ... fix it": "it" is that concrete thing
        # Underline the verb with its (generic) object, or with its particle ("clean up").
        tail = object_words[-1:] or [t for t in clause[:2] if t.lower_ in ("up", "out")][-1:]
        end = tail[0].idx + len(tail[0].text) if tail else verb.end
        hits.append(Hit(verb.start, end, {"match": analysis.text[verb.start : end], "verb": verb.lemma}))
    return hits


def _named_before(analysis: "Analysis", offset: int, generic: set[str]) -> bool:
    """Whether something concrete is named before ``offset``: a code span, or a noun phrase with a
    specific word ("the login page", not "the app")."""
    if any(span.start < offset for span in analysis.code_spans):
        return True
    for np_ in analysis.noun_phrases:
        if np_.end <= offset:
            words = [w.lower() for w in re.findall(r"[A-Za-z]+", np_.text)]
            if any(w not in generic and w not in ("the", "a", "an", "this", "that", "our", "my", "your", "its", "their") for w in words):
                return True
    return False


def check_absence_given_trigger(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The prompt asks for X (a task kind, a phrase, or earlier findings) but never says Y."""
    c = rule.check
    if c.get("exempt-question-only", True) and analysis.is_question_only:
        return []
    trigger_kinds = set(c.get("trigger-task-kinds", []))
    wanted_verbs = set(c.get("trigger-verbs", []))
    exclude_objects = set(c.get("trigger-exclude-objects", []))
    triggers: list[tuple[int, int]] = [
        (t.start, t.end)
        for t in analysis.task_verbs
        if (t.kind in trigger_kinds or t.lemma in wanted_verbs) and not _object_in(analysis, t, exclude_objects)
    ]
    if c.get("trigger-phrases"):
        triggers += [(s, e) for s, e, _ in _phrase_matches(_with_phrases(rule, c["trigger-phrases"]), analysis, c["trigger-phrases"])]
    if c.get("trigger-findings"):
        prefixes = tuple(c["trigger-findings"])
        if not any(code.startswith(prefixes) for code in ctx.earlier_codes):
            return []
        if not triggers and analysis.task_verbs:
            triggers = [(analysis.task_verbs[0].start, analysis.task_verbs[0].end)]
    if not triggers:
        return []
    if len(analysis.change_tasks) < int(c.get("min-tasks", 0)):
        return []
    text = analysis.text
    if any(p.search(text) for p in _compile_regexes(rule, "required-patterns")):
        return []
    required = list(c.get("required-phrases", []))
    if required and _phrase_matches(_with_phrases(rule, required), analysis, required, anywhere=True):
        return []
    if c.get("satisfied-by-code-spans") and len(analysis.code_spans) >= int(c["satisfied-by-code-spans"]):
        return []
    start, end = min(triggers)
    return [Hit(start, end, {"match": text[start:end]})]


def _object_in(analysis: "Analysis", verb: "TaskVerb", words: set[str], within: int = 4) -> bool:
    """Whether the verb's object (its first few words) is one of ``words`` ("add tests", "update the docs")."""
    if not words:
        return False
    clause = [t for t in _clause_tokens(analysis, verb, limit=8) if not t.is_space and not t.is_punct][:within]
    for t in clause:
        if t.lemma_ in words or t.lower_ in words:
            return True
        if t.i in analysis.code_token_ids:
            # A path such as README.md or docs/setup.md names its kind in its segments.
            segments = re.split(r"[/\\.`]+", t.lower_)
            if any(seg in words for seg in segments):
                return True
    return False


def _umbrella_sentences(analysis: "Analysis") -> set[int]:
    """Sentences that introduce a list of steps ("Implement orders:" + items): the items are the tasks."""
    out = set()
    for sent in analysis.sentences:
        nxt = analysis.sentences[sent.index + 1] if sent.index + 1 < len(analysis.sentences) else None
        if sent.text.rstrip().endswith(":") and nxt is not None and nxt.list_item:
            out.add(sent.index)
    return out


def _elaborates(analysis: "Analysis", verb: "TaskVerb", counted: list["TaskVerb"]) -> bool:
    """A command after a colon that follows a counted task in the same sentence spells that task out:
    "Add pagination to GET /products: accept `?page=N` and return `{ items, total }`"."""
    earlier = [t for t in counted[-8:] if t.sentence == verb.sentence]  # counted is in text order
    if not earlier:
        return False
    between = analysis.text[earlier[0].end : verb.start]
    return ":" in between or "(" in between


def independent_tasks(analysis: "Analysis", rule: "Rule") -> list["TaskVerb"]:
    """Task verbs that each start separate work (tests and docs for the same change do not count)."""
    exclude_kinds = set(rule.check.get("exclude-kinds", ["test", "document", "investigate"]))
    exclude_objects = set(rule.check.get("exclude-objects", []))
    exclude_new = set(rule.check.get("exclude-new-objects", []))
    umbrellas = _umbrella_sentences(analysis)
    out = []
    for verb in analysis.task_verbs:
        if verb.kind in exclude_kinds or verb.sentence in umbrellas:
            continue
        if _elaborates(analysis, verb, out):
            continue
        clause = [t for t in _clause_tokens(analysis, verb, limit=4) if not t.is_space]
        if _object_in(analysis, verb, exclude_objects, within=3):
            continue
        if verb.kind == "create" and _object_in(analysis, verb, exclude_new, within=3):
            continue
        if clause and clause[0].lower_ in ("it", "them", "that", "this", "sure"):
            continue  # "... then test it", "make sure": same work, not a new task
        out.append(verb)
    return out


def check_count(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """Flag when a counted thing reaches a threshold (e.g. independent tasks in one prompt)."""
    counter = rule.check.get("counter")
    minimum = int(rule.check.get("min", 3))
    if counter != "independent-tasks":
        raise RuleCatalogError(f"{rule.path}: count: unknown counter {counter!r}")
    tasks = independent_tasks(analysis, rule)
    if len(tasks) < minimum:
        return []
    listing = ", ".join(f"{t.lemma} (line {analysis.source.line_of(t.start)})" for t in tasks)
    first = tasks[0]
    return [Hit(first.start, first.end, {"match": analysis.text[first.start : first.end], "count": len(tasks), "tasks": listing})]


_PREPOSITIONS = {"to", "for", "in", "on", "of", "with", "from", "into", "at", "by", "that", "which", "so", "and", "or", "when", "where", ","}


def _object_head(analysis: "Analysis", verb: "TaskVerb") -> Any:
    """The last word of the verb's direct object: "add a database table for orders" -> "table"."""
    head = None
    for tok in _clause_tokens(analysis, verb, limit=8):
        if tok.is_space:
            continue
        if tok.lower_ in _PREPOSITIONS or tok.is_punct:
            break
        head = tok
    return head


def check_missing_detail(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A create-task names a thing that needs details (a table needs fields) and gives none."""
    objects = rule.check.get("objects", [])
    kinds = set(rule.check.get("task-kinds", ["create"]))
    text = analysis.text
    hits = []
    for spec in objects:
        nouns = set(spec.get("nouns", []))
        details = [re.compile(p, re.I | re.M) for p in spec.get("details", [])]
        if any(p.search(text) for p in details):
            continue
        for verb in analysis.task_verbs:
            if verb.kind not in kinds:
                continue
            noun = _object_head(analysis, verb)
            if noun is None or noun.lemma_ not in nouns or noun.i in analysis.code_token_ids:
                continue
            hits.append(
                Hit(verb.start, noun.idx + len(noun.text), {"match": text[verb.start : noun.idx + len(noun.text)], "object": noun.lemma_, "needs": spec.get("needs", "details")})
            )
            break
    return hits


KINDS: dict[str, Callable[["Rule", "Analysis", Context], list[Hit]]] = {
    "existence": check_existence,
    "substitution": check_substitution,
    "unresolved-pronoun": check_unresolved_pronoun,
    "vague-action": check_vague_action,
    "absence-given-trigger": check_absence_given_trigger,
    "count": check_count,
    "missing-detail": check_missing_detail,
}



def _register_repo_kinds() -> None:
    from .file_kinds import FILE_KINDS
    from .repo_kinds import REPO_KINDS

    KINDS.update(REPO_KINDS)
    KINDS.update(FILE_KINDS)


_register_repo_kinds()


def check_escalation(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """An escalation signal (ESC family): phrases, other findings, the estimated footprint, or a
    focused task with a named location. Read by the advice stage, not reported as findings."""
    c = rule.check
    prefixes = tuple(c.get("unless-findings", ()))
    if prefixes and any(code.startswith(prefixes) for code in ctx.earlier_codes):
        return []
    first_task = analysis.task_verbs[0] if analysis.task_verbs else None
    anchor = (first_task.start, first_task.end) if first_task else (0, 0)
    hits: list[Hit] = []
    if c.get("when-findings"):
        when = tuple(c["when-findings"])
        fired = sorted(code for code in ctx.earlier_codes if code.startswith(when))
        if fired:
            hits.append(Hit(*anchor, {"match": ", ".join(fired)}))
    if c.get("phrases"):
        loose = _with_phrases(rule, list(c["phrases"]))
        import dataclasses

        # Escalation phrases count in questions too ("How should I structure ...?").
        loose = dataclasses.replace(loose, check={**loose.check, "skip-questions": False, "requirements-only": False, "skip-task-verbs": False})
        found = check_existence(loose, analysis, ctx)
        if found and c.get("also-phrases"):
            also = dataclasses.replace(loose, check={**loose.check, "phrases": list(c["also-phrases"])})
            if not check_existence(also, analysis, ctx):
                found = []
        hits += found
    if c.get("min-estimated-files"):
        verbs = set(c.get("task-verbs", []))
        task = next((t for t in analysis.task_verbs if not verbs or t.lemma in verbs), None)
        estimate = ctx.estimated_files
        if task is not None and estimate is not None and estimate >= int(c["min-estimated-files"]):
            shown = "all the" if estimate >= 10**9 else estimate  # unbounded: "across the codebase", no repo to count
            hits.append(Hit(task.start, task.end, {"match": analysis.text[task.start : task.end], "files": shown}))
    if c.get("requires-named-location"):
        kinds = set(c.get("task-kinds", []))
        task = next((t for t in analysis.task_verbs if t.kind in kinds), None)
        named = ctx.resolution.named_existing if ctx.resolution is not None else [
            s for s in analysis.code_spans if s.kind in ("path", "backtick", "identifier", "module", "call", "rust-path", "frame")
        ]
        if task is not None and named and not analysis.is_question_only:
            hits.append(Hit(task.start, task.end, {"match": analysis.text[task.start : task.end]}))
    return hits


KINDS["escalation"] = check_escalation


# The [check] keys each kind reads; a rule file with any other key is rejected at load time, so a
# typo in a user's rule is an error instead of a silently ignored setting.
COMMON_PARAMS = {"applies-to", "trigger-findings", "unless-findings", "match", "requirements-only", "skip-questions", "skip-task-verbs"}
_EXISTENCE = {"phrases", "patterns", "unless-sentence-matches", "unless-followed-by"}
KIND_PARAMS: dict[str, set[str]] = {
    "existence": _EXISTENCE,
    "substitution": _EXISTENCE | {"swap"},
    "unresolved-pronoun": _EXISTENCE,
    "vague-action": {"verbs", "generic", "fillers", "outcome-markers"},
    "absence-given-trigger": {
        "trigger-task-kinds", "trigger-verbs", "trigger-phrases", "trigger-exclude-objects", "required-phrases",
        "required-patterns", "satisfied-by-code-spans", "min-tasks", "exempt-question-only",
    },
    "count": {"counter", "min", "exclude-kinds", "exclude-objects", "exclude-new-objects"},
    "missing-detail": {"objects", "task-kinds"},
    "escalation": _EXISTENCE | {"tier", "weight", "when-findings", "also-phrases", "min-estimated-files", "task-verbs", "requires-named-location", "task-kinds"},
    "missing-reference": {"trigger-task-kinds", "min-score", "max-suggestions"},
    "unknown-reference": {"creation-verbs"},
    "ambiguous-reference": {"within", "min-raw-score"},
    "no-pattern": {"objects"},
    "repo-fact-unstated": {"fact", "trigger-task-kinds", "trigger-patterns", "named-by-patterns", "unless-named-files"},
    "front-matter": {"test", "key", "keys", "patterns", "max"},
    "file-length": {"max-lines"},
}
