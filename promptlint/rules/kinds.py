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
    from ..model import Severity
    from ..text.analysis import Analysis, TaskVerb
    from .catalog import Rule


@dataclass
class Hit:
    start: int
    end: int
    fields: dict[str, Any] = field(default_factory=dict)
    replacement: str | None = None
    # The span is a secret: front ends show it masked, never as typed (SEC001).
    masked: bool = False
    # A rule whose weaker kind of evidence is wrong more often reports those hits at a lower level,
    # set in its data (REF002's `severity-without-near-miss`); a severity the user sets wins.
    severity: "Severity | None" = None


@dataclass
class Context:
    """What a check may look at besides the analysis: hits of rules that already ran, and the
    prompt's mentions resolved against the repository (None without a repository)."""

    earlier_codes: set[str] = field(default_factory=set)
    # (start, end, code) of every hit of the rules that already ran, including suppressed ones
    earlier_spans: list[tuple[int, int, str]] = field(default_factory=list)
    resolution: Any = None
    resolver: Any = None
    estimated_files: int | None = None  # for escalation rules: the change's footprint, if known
    facts: Any = None  # RepoFacts of the repository, when there is one


# --- shared helpers --------------------------------------------------------------------------

_matcher_cache: dict[tuple[int, str], Any] = {}


def _compile_regexes(rule: "Rule", key: str) -> list[re.Pattern[str]]:
    return [p for p, _ in _compile_conditional(rule, key)]


_regex_cache: dict[tuple[str, str, str], list[tuple[re.Pattern[str], frozenset[str] | None]]] = {}


def _compile_conditional(rule: "Rule", key: str) -> list[tuple[re.Pattern[str], frozenset[str] | None]]:
    """A [check] list of regular expressions; an entry may be a table {pattern, terms} that applies
    only when the matched phrase is one of ``terms``."""
    cache_key = (str(rule.path), rule.code, key)
    cached = _regex_cache.get(cache_key)
    if cached is not None:
        return cached
    out = []
    for entry in rule.check.get(key, []) or []:
        terms = None
        pattern = entry
        if isinstance(entry, dict):
            pattern = entry.get("pattern", "")
            terms = frozenset(t.lower() for t in entry.get("terms", []))
        try:
            out.append((re.compile(pattern, re.I | re.M), terms))
        except (re.error, TypeError) as exc:
            raise RuleCatalogError(f"{rule.path}: [check] {key}: bad regular expression {pattern!r}: {exc}") from None
    _regex_cache[cache_key] = out
    return out


def _shipped(rule: "Rule") -> bool:
    """A rule of promptlint's own catalogue (not one from a rules folder the user added)."""
    from ..resources import builtin_rules_dir

    return rule.path.parent == builtin_rules_dir()


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
        # The shipped rules' token patterns are valid (tests/test_nlp_parts.py validates every one
        # against spaCy's schema): validating them again would import pydantic models on every run.
        token_matcher = Matcher(nlp.vocab, validate=not _shipped(rule))
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
        # "Clean up the cache": the command verb is not the quality word "clean". The union is
        # made once per analysis (every phrase rule asks), again only if a task verb was added.
        memo = analysis.__dict__.get("_code_or_task_verb_ids")
        if memo is None or memo[0] != len(analysis.task_verbs):
            memo = analysis.__dict__["_code_or_task_verb_ids"] = (len(analysis.task_verbs), code | {t.token for t in analysis.task_verbs})
        code = memo[1]
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

def _task_before(analysis: "Analysis", start: int, kinds: set[str], within: int = 16) -> "TaskVerb | None":
    """The nearest task verb of ``kinds`` before ``start`` in the same sentence, if at most ``within``
    tokens away and no clause boundary (";", ":") lies between."""
    sent = analysis.sentence_of(start)
    if sent is None:
        return None
    best = None
    for t in analysis.verbs_by_sentence.get(sent.index, ()):
        if t.start < start and (best is None or t.start > best.start):
            best = t
    if best is None or best.kind not in kinds:
        return None
    between = analysis.doc.char_span(best.end, start, alignment_mode="expand")
    if between is not None and (len(between) > within or any(t.text in (";", ":") for t in between)):
        return None
    return best


def check_existence(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """Flag every occurrence of a phrase or token pattern, unless the sentence supplies a measure."""
    c = rule.check
    unless_sentence = _compile_regexes(rule, "unless-sentence-matches")
    unless_after = _compile_conditional(rule, "unless-followed-by")
    unless_before = _compile_conditional(rule, "unless-preceded-by")
    only_before = _compile_conditional(rule, "only-if-preceded-by")
    skip_questions = c.get("skip-questions", True)
    requirements_only = c.get("requirements-only", False)
    skip_lists_in = set(c.get("skip-list-items-in", []))
    list_phrases = {p.lower() for p in c.get("list-phrases", [])}
    task_clause = set(c.get("within-task-clause", []))
    task_classes = set(c.get("task-object-classes", []))
    hits = []
    for start, end, text in _phrase_matches(rule, analysis, list(c.get("phrases", []))):
        sent = analysis.sentence_of(start)
        if requirements_only and (sent is None or sent.index not in analysis.requirement_sentences):
            continue  # narrative ("Not sure how to word it properly") is not a requirement
        if sent is not None and skip_questions and sent.is_question and sent.index not in analysis.verbs_by_sentence:
            continue
        if sent is not None and sent.list_item and analysis.message_kind in skip_lists_in:
            continue  # a rule list in a command or instructions file states principles, not a task
        sent_text = sent.text if sent else ""
        if any(p.search(sent_text) for p in unless_sentence):
            continue
        rest = analysis.text[end : sent.end if sent else len(analysis.text)]
        if any(p.match(rest) for p, terms in unless_after if terms is None or text.lower() in terms):
            continue
        if sent is not None and sent.table_row:
            continue  # a Markdown table is data the prompt shows, not what it asks
        before = analysis.text[sent.start if sent else 0 : start]
        if any(p.search(before) for p, terms in unless_before if terms is None or text.lower() in terms):
            continue
        required = [p for p, terms in only_before if terms is None or text.lower() in terms]
        if required and not any(p.search(before) for p in required):
            continue  # a phrase that counts only after one of these ("rewrite this project")
        if text.lower() in list_phrases and ("," not in before or len(before.rsplit(",", 1)[1].split()) > 4):
            continue  # "switch to favorites or something": a hedge about one thing, not an open list
        if task_clause:
            task = _task_before(analysis, start, task_clause)
            if task is None or (task_classes and task.object_class not in task_classes):
                continue  # "explain everything we tried": not the scope of a change
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


_derived_cache: dict[tuple[str, str, str], tuple["Rule", "Rule"]] = {}


def _derived_rule(rule: "Rule", variant: str, make: Callable[[], "Rule"]) -> "Rule":
    """The rule ``make`` derives from ``rule`` (other phrases or settings), made once per rule object
    and ``variant`` instead of on every lint (dataclasses.replace was 3% of a lint with a repository)."""
    key = (str(rule.path), rule.code, variant)
    cached = _derived_cache.get(key)
    if cached is not None and cached[0] is rule:
        return cached[1]
    made = make()
    _derived_cache[key] = (rule, made)
    return made


def _with_phrases(rule: "Rule", phrases: list[str]) -> "Rule":
    import dataclasses

    return _derived_rule(rule, "phrases\0" + "\0".join(phrases), lambda: dataclasses.replace(rule, check={**rule.check, "phrases": phrases}))


def _is_name(analysis: "Analysis", start: int, end: int) -> bool:
    """A capitalised term that is part of a name ("Clean Architecture", "follow Clean Code"), not a
    judgement; all capitals ("PROPERLY") is emphasis, not a name."""
    word = analysis.text[start:end]
    if not word[:1].isupper() or word.isupper():
        return False
    nxt = re.match(r"[ \t-]+([A-Za-z]+)", analysis.text[end : end + 30])
    if nxt and nxt.group(1)[:1].isupper():
        return True
    sent = analysis.sentence_of(start)
    head = analysis.text[sent.start if sent else 0 : start]
    return bool(head.strip()) and not re.search(r"(?:^|[.!?:\n*#>-])\s*$", head)


def _decorative(analysis: "Analysis", start: int, end: int, adjectives: set[str]) -> bool:
    """"Create a clean project structure. It should have: ...": an adjective on a new thing that the
    prompt then specifies (a list, "with ...", "that ...", "It should have")."""
    if analysis.text[start:end].lower() not in adjectives:
        return False
    task = _task_before(analysis, start, {"create", "change"}, within=5)
    if task is None:
        return False
    sent = analysis.sentence_of(start)
    rest = analysis.text[end : sent.end if sent else end]
    if re.search(r"\b(?:with|which|that|using|containing|including|having|where|like)\b|:", rest):
        return True
    if sent is not None and sent.index + 1 < len(analysis.sentences):
        nxt = analysis.sentences[sent.index + 1]
        return nxt.list_item or bool(re.match(r"\W*(?:it|this|that|they)\s+(?:should|must|needs? to|will)\b", nxt.text, re.I))
    return False


def check_subjective_term(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A matter of taste where the prompt asks for something ("handle errors properly", "make it look
    modern"), or a complaint with nothing to check against ("this is not looking good").

    Not a judgement: a name ("Clean Architecture"), praise ("works great"), a term negated or
    defined in its sentence, an adjective on a new thing the prompt then specifies."""
    c = rule.check
    decorative = {w.lower() for w in c.get("decorative", [])}
    fillers = {w.lower() for w in c.get("filler-in-detailed-prompts", [])}
    detailed = _detailed_prompt(analysis)
    generic_only = {w.lower() for w in c.get("generic-only", [])}
    generic_context = {w.lower() for w in c.get("generic-context", [])}
    hits = []
    for hit in check_existence(rule, analysis, ctx):
        if _is_name(analysis, hit.start, hit.end) or _decorative(analysis, hit.start, hit.end, decorative):
            continue
        if hit.fields.get("match", "").lower() in generic_only and not _generic_action_before(analysis, hit.start, generic_context):
            continue
        if detailed and hit.fields.get("match", "").lower() in fillers:
            continue
        line_start = analysis.text.rfind("\n", 0, hit.start) + 1
        if re.match(r"[ \t]*[_*](?![_*\s])", analysis.text[line_start:hit.start + 1]) and analysis.message_kind != "change-request":
            continue  # an italic credit or summary line
        sent = analysis.sentence_of(hit.start)
        if sent is not None and hit.start == _first_alpha(analysis, sent) and re.match(r"\s*[,.!]", analysis.text[hit.end : hit.end + 2]):
            continue  # "Great, now ..." / "Perfect." acknowledges the last turn
        hits.append(hit)
    complaints = _compile_regexes(rule, "complaint-patterns")
    symptom_words = int(c.get("complaint-symptom-words", 0))
    expectation = _compile_regexes(rule, "complaint-satisfied-by")
    for sent in analysis.prose_sentences:
        # A bare "fix it" says no more than the complaint; a real command says what to do instead.
        if sent.is_question or any(not _bare_fix(analysis, t) for t in analysis.verbs_by_sentence.get(sent.index, ())):
            continue
        prev = analysis.sentences[sent.index - 1] if sent.index > 0 else None
        if prev is not None and any(not _bare_fix(analysis, t) for t in analysis.verbs_by_sentence.get(prev.index, ())) and analysis.text[prev.end : sent.start].count("\n") < 2:
            continue  # "use the cards from the design system. this is ugly": the fix is given
        for pattern in complaints:
            m = pattern.search(sent.text)
            if m is None or analysis.is_code(sent.start + m.start(), sent.start + m.end()):
                continue
            if any(p.search(sent.text) for p in expectation):
                break
            symptom = re.match(r"\s*[,;:\u2014-]\s*(.*)", sent.text[m.end() :], re.S)
            if symptom_words and symptom and len(re.findall(r"[A-Za-z']+", symptom.group(1))) >= symptom_words:
                break  # "the controls feel weird, the car jumps around": the symptom is the criterion
            start, end = sent.start + m.start(), sent.start + m.end()
            if not any(h.start < end and start < h.end for h in hits):
                hits.append(Hit(start, end, {"match": analysis.text[start:end]}))
            break
    hits.sort(key=lambda h: h.start)
    return hits


_BARE_FIX_WORDS = {"it", "this", "that", "them", "please", "pls", "now", "asap", "for", "me", "up", "again", "the", "issue", "problem"}


def _bare_fix(analysis: "Analysis", verb: "TaskVerb") -> bool:
    """"fix it", "please fix this", "can you fix that": a fix command that names nothing."""
    if verb.kind != "fix":
        return False
    sent = analysis.sentences[verb.sentence]
    clause = re.split(r"[.;!?\n]", analysis.text[verb.end : sent.end], maxsplit=1)[0]
    rest = [w.lower() for w in re.findall(r"[A-Za-z']+", clause)]
    return len(rest) <= 3 and all(w in _BARE_FIX_WORDS for w in rest)


def _generic_action_before(analysis: "Analysis", start: int, words: set[str]) -> bool:
    """One of ``words`` among the last four words before ``start`` in its sentence: "do this
    correctly", "make sure it works correctly" (not "parse the date correctly")."""
    sent = analysis.sentence_of(start)
    before = re.findall(r"[A-Za-z']+", analysis.text[sent.start if sent else 0 : start].lower())
    return any(w in words for w in before[-4:])


def _detailed_prompt(analysis: "Analysis") -> bool:
    """A spec rather than a request: many code spans or many list items."""
    items = sum(1 for s in analysis.sentences if s.list_item)
    return len([sp for sp in analysis.code_spans if sp.kind not in ("marker", "mention")]) >= 4 or items >= 6


def _first_alpha(analysis: "Analysis", sent: "Any") -> int:
    m = re.search(r"[A-Za-z]", sent.text)
    return sent.start + m.start() if m else sent.start


def check_unresolved_pronoun(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """Pronouns (and phrases such as "the other one") that stand for nothing the prompt names."""
    if rule.check.get("requires-known-conversation") and analysis.conversation_unknown:
        return []  # a chat turn whose previous turn we were not given: its "it" most likely points there
    hits = [Hit(s, e, {"match": analysis.text[s:e]}) for s, e in analysis.unresolved_pronouns]
    if rule.check.get("phrases"):
        # "the other one", "the same thing" point back like a pronoun, and resolve the same way.
        hits += [h for h in check_existence(rule, analysis, ctx) if not analysis.reference_resolved(h.start)]
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
    skip_lists_in = set(rule.check.get("skip-list-items-in", []))
    hits = []
    for verb in analysis.task_verbs:
        if verb.lemma not in verbs:
            continue
        if analysis.message_kind in skip_lists_in and analysis.sentences[verb.sentence].list_item:
            continue
        clause = _clause_tokens(analysis, verb)
        # Terminal escapes and other unprintable junk name nothing.
        words = [t for t in clause if not t.is_space and not t.is_punct and t.text.isprintable() and "\ufffd" not in t.text]
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
        # "update what's needed", "do whatever is necessary": a clause that leaves the object to the agent.
        open_clause = next((m for p in _compile_regexes(rule, "generic-clauses") if (m := p.match(clause_text.strip())) is not None), None)
        leaves_it_open = open_clause is not None
        if open_clause is not None:
            object_words = words[: len(open_clause.group(0).split())]
            rest = words[len(object_words) :]
            if rest[:1] and rest[0].lower_ in ("in", "for", "on", "of", "to", "with", "at", "from", "across", "inside") and any(
                t.lower_ not in generic and t.lemma_ not in generic and t.lower_ not in fillers for t in rest[1:5]
            ):
                continue  # "make the necessary changes to the login form": the place is named
        elif object_words and any(t.lower_ not in generic and t.lemma_ not in generic for t in object_words):
            continue
        after_object = words[len(object_words) + (1 if words and words[0].lower_ in ("up", "out") else 0) :]
        if verb.lemma == "make" and object_words and object_words[0].lower_ == "it" and after_object[:1] and after_object[0].lower_ in ("so", "such"):
            continue  # "let's make it so only Gemini can use the memory tools": the outcome follows
        if object_words and len(after_object) >= 3 and after_object[0].lower_ in ("that", "which", "where", "when", "you", "i", "we") and after_object[1].lower_ not in ("is", "are", "was"):
            continue  # "fix the error that you see in the terminal": a relative clause says which
        if object_words and object_words[-1].lemma_ in _ERROR_WORDS and any(sp.kind in ("traceback", "fenced", "attachment") for sp in analysis.code_spans):
            continue  # "#terminalSelection ... Fix the error.": the error is attached or pasted
        if _detailed_list(analysis, 6) and object_words and object_words[-1].lemma_ in _ERROR_WORDS | {"thing", "things", "stuff"}:
            continue  # "We need to fix issues with the preview" over a detailed list: the list says which
        pronoun_object = bool(object_words) and object_words[0].lower_ in ("it", "this", "that", "them", "these", "those")
        if (pronoun_object or not object_words) and verb.kind == "fix" and _specific_problem_before(analysis, verb, generic):
            continue  # "Somehow the SVG turned invisible. Fix it.": the problem just stated is the object
        pronoun_first = pronoun_object or (not object_words and bool(words) and words[0].lower_ in ("it", "this", "that", "them", "these", "those"))
        if pronoun_first and _subject_before(analysis, verb, generic):
            continue  # "the infinite looping will happen to others as well. we should fix that": the subject just named
        if pronoun_object and (_named_before(analysis, verb.start, generic) or analysis.reference_resolved(verb.start, generic)):
            continue  # "tests/users.test.ts hangs on CI ... fix it": "it" is that concrete thing
        definite = any(t.lower_ in ("the", "this", "that", "these", "those") for t in words[:2])
        if definite and analysis.follow_up and analysis.previous_turn is None:
            continue  # "ok, now improve the logic further": the logic the conversation is about
        if verb.lemma in _TARGET_VERBS and not leaves_it_open and re.search(r"\b(?:to|into|with)\s+\S", clause_text):
            continue  # "change this to dotnet": the target is the outcome
        vague_purposes = set(rule.check.get("vague-purposes", []))
        purpose = next((k for k, t in enumerate(words) if t.lower_ in ("to", "by") and k + 1 < len(words) and (words[k + 1].lower_ in analysis_verbs() or (t.lower_ == "by" and words[k + 1].lower_.endswith("ing")))), None)
        if purpose is not None and not any(t.lemma_ in vague_purposes or t.lower_ in vague_purposes for t in words[purpose:]):
            continue  # "refactor the application to eliminate the database dependency": the purpose is the goal
        if _spelled_out_after(analysis, verb, clause):
            continue  # "fix my problems:" + the pasted build error; "Improve performance. It should ..."
        # Underline the verb with its (generic) object, or with its particle ("clean up").
        tail = object_words[-1:] or [t for t in clause[:2] if t.lower_ in ("up", "out")][-1:]
        end = tail[0].idx + len(tail[0].text) if tail else verb.end
        hits.append(Hit(verb.start, end, {"match": analysis.text[verb.start : end], "verb": verb.lemma}))
    return hits


def analysis_verbs() -> frozenset[str]:
    """Every command verb of the lexicon (for "to <verb>" purpose clauses)."""
    global _ALL_VERBS
    if _ALL_VERBS is None:
        _ALL_VERBS = frozenset(v for verbs in lexicon()["task-verbs"].values() for v in verbs)
    return _ALL_VERBS


_ALL_VERBS: frozenset[str] | None = None
# Verbs whose "to"/"into" phrase names the end state ("convert X to YAML", "switch it to dark mode").
_TARGET_VERBS = {"change", "convert", "switch", "migrate", "move", "rename", "update", "set", "turn", "upgrade", "port", "adjust", "make"}
_GOAL_SENTENCE = re.compile(r"^\W*(?:(?:now|so|then|and|also|basically)\W+)?(?:it|this|that|they|which|these|the \w+)\s+(?:should|must|needs? to|has to|have to|will need to)\b", re.I)


def _spelled_out_after(analysis: "Analysis", verb: "TaskVerb", clause: list[Any]) -> bool:
    """The object or the goal follows the clause: a colon and pasted output or a list, or a next
    sentence that says what the result must do."""
    end = clause[-1].idx + len(clause[-1].text) if clause else verb.end
    after = analysis.text[end : end + 200]
    if re.match(r"\s*:", after):
        colon = end + after.index(":") + 1
        nxt = next((sp for sp in analysis.code_spans if sp.start >= colon), None)
        if nxt is not None and nxt.kind in ("fenced", "traceback", "template", "attachment") and not analysis.text[colon : nxt.start].strip():
            return True
        if re.match(r"\s*\n\s*(?:[-*+]|\d+[.)]|#)", analysis.text[colon : colon + 40]):
            return True
    sent = analysis.sentence_of(verb.start)
    if sent is not None and sent.index + 1 < len(analysis.sentences):
        nxt_sent = analysis.sentences[sent.index + 1]
        if _GOAL_SENTENCE.match(nxt_sent.text) and analysis.text[sent.end : nxt_sent.start].count("\n") < 2:
            return True
        # "Let's fix some things. I noticed the user preferences don't get remembered.": the
        # problems follow.
        if verb.kind == "fix" and nxt_sent.reports_problem and not nxt_sent.is_question:
            return True
    return False


def _specific_problem_before(analysis: "Analysis", verb: "TaskVerb", generic: set[str]) -> bool:
    """The sentence before the verb's reports a problem in specific words ("the SVG turned
    invisible"), not a bare "I get an error" or a question."""
    if verb.sentence == 0:
        return False
    prev = analysis.sentences[verb.sentence - 1]
    if not prev.reports_problem or prev.is_question:
        return False
    words = [t for t in analysis.doc[prev.token_start : prev.token_end] if t.is_alpha and not t.is_stop]
    specific = [t for t in words if t.lower_ not in generic and t.lemma_ not in generic and t.lemma_ not in _PROBLEM_WORDS]
    return len(specific) >= 2


_SUBJECT_CLAUSE = re.compile(
    r"^\W*(?:(?:and|but|so|also|now|still)\s+)?(?:the|this|that|our|my|your)\s+((?:[\w-]+\s+){1,3}?)"
    r"(?:is|are|was|were|will|would|keeps?|kept|still|does|doesn't|did|didn't|happens?|happened|seems?|has|have|had|can't|cannot|won't|isn't|aren't)\b",
    re.I,
)


def _subject_before(analysis: "Analysis", verb: "TaskVerb", generic: set[str]) -> bool:
    """The sentence just before the verb's (same paragraph) has a concrete subject: "the infinite
    looping will happen to others as well. fix that" (not "the app is broken. fix it")."""
    if verb.sentence == 0:
        return False
    prev, sent = analysis.sentences[verb.sentence - 1], analysis.sentences[verb.sentence]
    if prev.is_question or analysis.text[prev.end : sent.start].count("\n") >= 2:
        return False
    m = _SUBJECT_CLAUSE.match(prev.text)
    if m is None:
        return False
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", m.group(1))]
    return any(w not in generic and w not in _GENERIC_SUBJECTS for w in words)


_GENERIC_SUBJECTS = {"app", "application", "code", "site", "website", "page", "thing", "it", "program", "project", "system", "tool", "script", "one", "other", "new", "old", "same", "whole", "current"}
_ERROR_WORDS = {"error", "errors", "issue", "issues", "bug", "bugs", "problem", "problems", "warning", "warnings"}
_PROBLEM_WORDS = {"error", "issue", "problem", "bug", "get", "have", "happen", "occur", "show", "see", "work", "fail", "break", "wrong", "somehow"}


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


def _detailed_list(analysis: "Analysis", minimum: int) -> bool:
    """A pasted TO-DO list or spec: enough enumerated items that it defines the work item by item."""
    items = [s for s in analysis.sentences if s.list_item and not s.is_heading]
    if minimum <= 0 or len(items) < minimum:
        return False
    # Detailed: the items say more than a verb and an object ("- add a wishlist table" is not).
    detailed = [s for s in items if len(s.text.split()) >= 7 or analysis.is_code(s.start, s.end) or re.search(r"\d|:", s.text.split(None, 1)[-1])]
    return len(detailed) * 2 >= len(items)


def _requirement_stated(rule: "Rule", analysis: "Analysis") -> bool:
    """Whether the prompt already says what the rule asks for: one of its `required-patterns`
    (regexes) or `required-phrases` anywhere in the text."""
    if any(p.search(analysis.text) for p in _compile_regexes(rule, "required-patterns")):
        return True
    required = list(rule.check.get("required-phrases", []))
    return bool(required) and bool(_phrase_matches(_with_phrases(rule, required), analysis, required, anywhere=True))


def check_unverifiable_goal(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A change whose only goal is vague ("create a guard that PROPERLY checks", "make it look better",
    "add more customization options", "make the frontend work with the backend") and nothing in the
    prompt says how to tell it is done."""
    c = rule.check
    if analysis.is_question_only:
        return []
    if _requirement_stated(rule, analysis):
        return []
    text = analysis.text
    if _detailed_list(analysis, int(c.get("satisfied-by-list-items", 0))):
        return []
    kinds = set(c.get("trigger-task-kinds", ["create", "change", "fix", "remove", "handle"]))
    classes = set(c.get("trigger-object-classes", ["code", "ui", "config", "none"]))

    def change_task(sent_index: int) -> "TaskVerb | None":
        return next((t for t in analysis.verbs_by_sentence.get(sent_index, ()) if t.kind in kinds and t.object_class in classes), None)

    goals: list[tuple[int, int, str]] = []
    # A vague-wording finding in a sentence that asks for the change.
    codes = tuple(c.get("vague-findings", ()))
    for start, end, code in ctx.earlier_spans:
        if not code.startswith(codes):
            continue
        sent = analysis.sentence_of(start)
        task = next((t for t in analysis.task_verbs if t.start == start), None) if code.startswith("VAG001") else None
        if task is not None and task.kind == "fix" and analysis.problem_sentences:
            continue  # "we get an error ... help us resolve it": the failure going away is the criterion
        if sent is not None and (change_task(sent.index) or task is not None):
            goals.append((start, end, text[start:end]))
    # A goal that names no observable result: "make it work", "more options", "integrate X with Y".
    for pattern in _compile_regexes(rule, "goal-patterns"):
        for m in pattern.finditer(text):
            lead = re.match(r"[\s.!?*+\d)-]*", m.group(0))
            start = m.start() + (lead.end() if lead else 0)
            if start >= m.end() or analysis.is_code(start, start + 1):
                continue
            sent = analysis.sentence_of(start)
            if sent is None or sent.is_question and sent.index not in analysis.verbs_by_sentence:
                continue
            if sent.list_item and analysis.message_kind in set(c.get("skip-list-items-in", [])):
                continue
            if change_task(sent.index) or any(t.start == start and t.kind in kinds for t in analysis.task_verbs):
                goals.append((start, m.end(), text[start : m.end()].rstrip(" \t.!")))
    if not goals:
        return []
    start, end, goal = min(goals)
    return [Hit(start, end, {"match": goal, "goal": goal.strip()})]


def check_absence_given_trigger(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The prompt asks for X (a task kind, a phrase, or earlier findings) but never says Y."""
    c = rule.check
    if c.get("exempt-question-only", True) and analysis.is_question_only:
        return []
    if c.get("quiet-on-follow-ups") and analysis.follow_up and analysis.previous_turn is None:
        return []
    trigger_kinds = set(c.get("trigger-task-kinds", []))
    wanted_verbs = set(c.get("trigger-verbs", []))
    exclude_objects = set(c.get("trigger-exclude-objects", []))
    classes = set(c.get("trigger-object-classes", []))
    exclude_verbs = set(c.get("trigger-exclude-verbs", []))
    nouns = set(c.get("trigger-nouns", []))
    skip_lists_in = set(c.get("skip-list-items-in", []))
    triggers: list[tuple[int, int]] = [
        (t.start, t.end)
        for t in analysis.task_verbs
        if not (analysis.message_kind in skip_lists_in and analysis.sentences[t.sentence].list_item)
        and (t.kind in trigger_kinds or t.lemma in wanted_verbs) and not _object_in(analysis, t, exclude_objects)
        and (not classes or t.object_class in classes) and t.lemma not in exclude_verbs
        and (not nouns or _about_logic(analysis, t, nouns))
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
    if _requirement_stated(rule, analysis):
        return []
    text = analysis.text
    if c.get("satisfied-by-code-spans") and len(analysis.code_spans) >= int(c["satisfied-by-code-spans"]):
        return []
    if _detailed_list(analysis, int(c.get("satisfied-by-list-items", 0))):
        return []
    start, end = min(triggers)
    return [Hit(start, end, {"match": text[start:end]})]


_CODE_FILE = re.compile(r"\.(?:py|pyi|ts|tsx|js|jsx|mjs|cjs|rs|go|java|kt|kts|scala|rb|php|cs|c|h|cc|cpp|hpp|swift|m|mm|vue|svelte|sql|sh|al|ex|exs|dart|lua)$", re.I)


def _is_code_file(path: str) -> bool:
    return bool(_CODE_FILE.search(path.strip("`'\"")))


def _about_logic(analysis: "Analysis", verb: "TaskVerb", nouns: set[str]) -> bool:
    """The task's clause is about behaviour worth a test: logic ("guard", "endpoint", "parser") or code
    named by an identifier or a call (a source file alone may hold a colour or a label)."""
    for tok in _clause_tokens(analysis, verb, limit=12):
        if tok.i in analysis.code_token_ids:
            span = next((s for s in analysis.code_spans if s.start <= tok.idx < s.end), None)
            if span is not None and (
                span.kind in ("identifier", "call", "module", "rust-path")
                or (span.kind == "backtick" and re.fullmatch(r"[A-Za-z_][\w]*(?:(?:\.|::)[A-Za-z_]\w*)*(?:\(\))?", span.inner) and re.search(r"[_.:A-Z(]", span.inner))
            ):
                return True
    # Words anywhere in the sentence ("the app is slow, fix it"; "validate the email, phone etc. in
    # the signup route").
    sent = analysis.sentence_of(verb.start)
    if sent is None:
        return False
    return any((t.lemma_ in nouns or t.lower_ in nouns) and t.i not in analysis.code_token_ids for t in analysis.doc[sent.token_start : sent.token_end])


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


def _procedure_items(analysis: "Analysis", rule: "Rule") -> set[int]:
    """Sentences of lists that are the steps of one procedure ("Follow these steps: 1. Create a branch
    2. Commit 3. Open a PR") rather than separate tasks: every item but the first."""
    intro = _compile_regexes(rule, "procedure-intro")
    sequencing = re.compile(r"\b(?:then|next|after(?:wards| that)?|once|finally|when (?:done|finished|complete)|#\d|step \d|the above|previous step|from (?:step )?\d)\b", re.I)
    out: set[int] = set()
    sentences = analysis.sentences
    i = 0
    while i < len(sentences):
        if not sentences[i].list_item:
            i += 1
            continue
        j = i
        while j < len(sentences) and (sentences[j].list_item or (not sentences[j].is_heading and analysis.text[sentences[j - 1].end : sentences[j].start].count("\n") == 0)):
            j += 1
        items = [s for s in sentences[i:j] if s.list_item]
        head = sentences[i - 1] if i > 0 else None
        heading = next((s for s in reversed(sentences[:i]) if s.is_heading), None)
        intro_text = " ".join(x.text for x in (heading, head) if x is not None)
        sequenced = sum(1 for s in items[1:] if sequencing.search(s.text))
        if any(p.search(intro_text) for p in intro) or (len(items) > 1 and sequenced * 2 >= len(items) - 1):
            out.update(s.index for s in sentences[i:j] if s.index != items[0].index)
        i = j
    return out


def independent_tasks(analysis: "Analysis", rule: "Rule") -> list["TaskVerb"]:
    """Task verbs that each start separate work (tests and docs for the same change do not count,
    nor the steps of one procedure, nor approach or tool choices such as "use the MCP server")."""
    c = rule.check
    exclude_kinds = set(c.get("exclude-kinds", ["test", "document", "investigate"]))
    exclude_objects = set(c.get("exclude-objects", []))
    exclude_new = set(c.get("exclude-new-objects", []))
    exclude_verbs = set(c.get("exclude-verbs", []))
    exclude_classes = set(c.get("exclude-object-classes", []))
    count_verbs = set(c.get("count-verbs", []))
    umbrellas = _umbrella_sentences(analysis)
    steps = _procedure_items(analysis, rule)
    out: list["TaskVerb"] = []
    for verb in analysis.task_verbs:
        if verb.kind in exclude_kinds or verb.sentence in umbrellas or verb.sentence in steps:
            continue
        if verb.lemma in exclude_verbs or verb.object_class in exclude_classes or (count_verbs and verb.lemma not in count_verbs):
            continue
        if _elaborates(analysis, verb, out):
            continue
        clause = [t for t in _clause_tokens(analysis, verb, limit=4) if not t.is_space]
        phrase = _object_phrase(analysis, verb)
        if _object_in(analysis, verb, exclude_objects, within=3):
            continue
        if verb.kind == "create" and _object_in(analysis, verb, exclude_new, within=3):
            continue
        if clause and clause[0].lower_ in ("it", "them", "that", "this", "sure"):
            continue  # "... then test it", "make sure": same work, not a new task
        restating = {"change", "fix", "thing", "edit", "update", "adjustment", "work", "modification"}
        if verb.lemma in ("make", "do", "apply") and any(t.lemma_ in restating for t in _clause_tokens(analysis, verb, limit=6) if not t.is_space):
            continue  # "make the minimal, correct code changes needed": the same work restated
        if phrase and any(_object_phrase(analysis, t) == phrase for t in out):
            continue  # "add the button ... style the button": one piece of work
        if verb.kind == "create" and phrase and any(t.kind == "create" and _object_phrase(analysis, t)[-1:] == phrase[-1:] and _plural_object(analysis, t) for t in out):
            continue  # "create more sections ... add a section ... then add a section": the sections asked for
        out.append(verb)
    if c.get("count-problems"):
        # Each reported problem that no command addresses is a fix of its own when the message lists
        # them one after another ("it doesn't update the UI. also, the window clips the last item.
        # also it won't bind fn+tab"); the symptoms of one regression are one problem.
        with_tasks = {t.sentence for t in out} | {t.sentence for t in analysis.task_verbs}
        problems = [
            s for s in analysis.problem_sentences
            if s.index not in with_tasks and s.index not in steps and not s.is_heading and not s.list_item and not s.is_question
            and not analysis.is_code(s.start, s.end)
        ]
        added = [s for s in problems if re.match(r"\W*(?:and\s+)?(?:(?:also|another|additionally|plus|oh and|lastly|finally)\b|next[,:])", s.text, re.I)]
        if added:
            added = [s for s in problems if s.index <= added[-1].index]
        for sent in added:
            m = re.search(r"[A-Za-z]", sent.text)
            start = sent.start + (m.start() if m else 0)
            word = analysis.doc.char_span(start, start + 1, alignment_mode="expand")
            tok = word[0] if word is not None else analysis.doc[sent.token_start]
            out.append(_TaskLike(tok.i, tok.idx, tok.idx + len(tok.text), "fix", "fix", sent.index, "problem"))
        out.sort(key=lambda t: t.start)
    return out


_NEW_WORK = re.compile(r"\bwhile\s+you(?:'re|\s+are)\s+at\s+it\b|;|\b(?:and )?also\b|\band then\b|\bthen\b|\badditionally\b|\bplus\b|\bafter that\b|\bas well as\b", re.I)


def _single_goal_spec(analysis: "Analysis", rule: "Rule") -> bool:
    """A structured prompt with one stated goal ("# Goal: Build ...", "Task: Final fix for seed.ts",
    "Proposed changes") whose sections spell that goal out, with no list introduced as tasks."""
    goal = _compile_regexes(rule, "single-goal-headings")
    task_list = _compile_regexes(rule, "task-list-headings")
    lines = [ln for ln in analysis.text.split("\n") if ln.strip()]
    if not goal or not any(p.match(ln) for p in goal for ln in lines):
        return False
    return not any(p.search(ln) for p in task_list for ln in lines)


def _work_units(analysis: "Analysis", tasks: list[Any]) -> int:
    """Pieces of work: tasks of the same kind in one stretch of a sentence ("add spacing between the
    items and make the images grow on hover") are one; each sentence, list item, kind of work, or
    stretch after "while you're at it", "also", ";" adds one."""
    units = set()
    group_of: dict[int, int] = {}
    group = -1
    for s in analysis.sentences:
        if s.list_item:
            if s.index == 0 or not analysis.sentences[s.index - 1].list_item:
                group += 1
            group_of[s.index] = group
    if len(tasks) > 1 and all(t.object_class == "ui" for t in tasks):
        return 1  # tweaks to the looks ("double the row text size ... increase the font by 50%") are one visual pass
    for t in tasks:
        sent = analysis.sentences[t.sentence]
        if sent.index in group_of:
            # "- Convert require() ... - Convert module.exports ...": the cases of one change.
            units.add(("list", group_of[sent.index], t.lemma))
            continue
        segment = len(_NEW_WORK.findall(analysis.text[sent.start : t.start]))
        units.add((t.sentence, segment, t.kind))
    return len(units)


@dataclass(frozen=True)
class _TaskLike:
    """A reported problem counted as a fix task (same fields as TaskVerb)."""

    token: int
    start: int
    end: int
    lemma: str
    kind: str
    sentence: int
    form: str
    object_class: str = "code"


def _plural_object(analysis: "Analysis", verb: Any) -> bool:
    """The task's object is a plural ("create more sections"): later single ones spell it out."""
    head = _object_head(analysis, verb)
    return head is not None and head.lower_ != head.lemma_ and head.lower_.endswith("s")


def _object_phrase(analysis: "Analysis", verb: Any) -> tuple[str, ...]:
    """The lemmas of a task's object, without determiners ("the login button" -> (login, button))."""
    out = []
    for tok in _clause_tokens(analysis, verb, limit=8):
        if tok.is_space:
            continue
        if tok.lower_ in _PREPOSITIONS or tok.is_punct:
            break
        if tok.lower_ not in ("the", "a", "an", "this", "that", "these", "those", "my", "our", "your", "its", "their", "some", "all", "new", "old", "up", "out"):
            out.append(tok.lemma_)
    return tuple(out)


def check_count(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """Flag when a counted thing reaches a threshold (e.g. independent tasks in one prompt)."""
    counter = rule.check.get("counter")
    minimum = int(rule.check.get("min", 3))
    if counter != "independent-tasks":
        raise RuleCatalogError(f"{rule.path}: count: unknown counter {counter!r}")
    if _single_goal_spec(analysis, rule):
        return []
    tasks = independent_tasks(analysis, rule)
    if _work_units(analysis, tasks) < minimum:
        return []
    listing = ", ".join(f"{t.lemma if t.form != 'problem' else 'problem'} (line {analysis.source.line_of(t.start)})" for t in tasks)
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
    excluded = set(rule.check.get("exclude-verbs", []))
    only = set(rule.check.get("task-verbs", []))
    text = analysis.text
    hits = []
    for spec in objects:
        nouns = set(spec.get("nouns", []))
        details = [re.compile(p, re.I | re.M) for p in spec.get("details", [])]
        if any(p.search(text) for p in details):
            continue
        for verb in analysis.task_verbs:
            if verb.kind not in kinds or verb.lemma in excluded or (only and verb.lemma not in only):
                continue
            noun = _object_head(analysis, verb)
            if noun is None or noun.lemma_ not in nouns or noun.i in analysis.code_token_ids:
                continue
            after = analysis.text[noun.idx + len(noun.text) : noun.idx + len(noun.text) + 60]
            if any(re.match(p, after, re.I) for p in spec.get("unless-followed-by", [])):
                continue  # "an option to add a newline after paste": a feature named by its purpose
            hits.append(
                Hit(verb.start, noun.idx + len(noun.text), {"match": text[verb.start : noun.idx + len(noun.text)], "object": spec.get("object", noun.lemma_), "needs": spec.get("needs", "details")})
            )
            break
    return hits


_ERROR_TALK = re.compile(r"\b(?:errors?|exceptions?|warnings?|failed|failures?|failing|traceback|crash(?:es|ed)?)\b", re.I)


def check_error_without_output(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The prompt says there is an error ("the app is giving a web socket error", "we are getting an
    error?") but quotes none of it: no pasted output, no screenshot, no error text."""
    c = rule.check
    satisfied_kinds = set(c.get("satisfied-by-spans", ["traceback", "fenced", "attachment"]))
    if any(span.kind in satisfied_kinds for span in analysis.code_spans):
        return []
    text = analysis.text
    output = _compile_regexes(rule, "output-patterns")
    if any(p.search(text) for p in output):
        return []
    if analysis.previous_turn and _ERROR_TALK.search(analysis.previous_turn):
        return []  # the conversation is about errors: the agent's last message may have shown them
    # A link, a file mention or a path may hold the errors a demonstrative points at.
    may_hold = any(span.kind in ("url", "mention", "path", "marker") for span in analysis.code_spans)
    # "@page.tsx:5-6 there is an error here": the place is selected; the editor shows the message.
    if re.search(r"(?:^|\s)@\S+:\d+(?:-\d+)?\b", text):
        return []
    not_errors = _compile_regexes(rule, "unless-sentence-matches")
    for sent in analysis.prose_sentences:
        if any(p.search(sent.text) for p in not_errors):
            continue
        for pattern in _compile_regexes(rule, "error-patterns"):
            m = pattern.search(sent.text)
            if m is None:
                continue
            start, end = sent.start + m.start(), sent.start + m.end()
            if analysis.is_code(start, end) or any(t.start == start for t in analysis.task_verbs):
                continue  # "show the errors in the form": a command, not a report
            return [Hit(start, end, {"match": text[start:end]})]
        if may_hold:
            continue
        if analysis.previous_turn is None and (analysis.follow_up or not any(t.kind == "fix" for t in analysis.verbs_by_sentence.get(sent.index, ()))):
            continue  # "what could be causing this error?" with the conversation unknown: it may be on screen
        for pattern in _compile_regexes(rule, "pointing-patterns"):
            m = pattern.search(sent.text)
            if m is None:
                continue
            start, end = sent.start + m.start(), sent.start + m.end()
            if analysis.is_code(start, end) or _ERROR_TALK.search(text[:start]):
                continue  # "an off-by-one error occurs ... find the source of these errors": named before
            return [Hit(start, end, {"match": text[start:end]})]
    return []


def check_announced_content(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The message announces content ("the following servers:", "here is the log:") and ends before
    any of it: the paste did not make it into the prompt."""
    text = analysis.text
    minimum = int(rule.check.get("min-words-after", 3))
    for pattern in _compile_regexes(rule, "announce-patterns"):
        for m in pattern.finditer(text):
            if analysis.is_code(m.start(), m.end()):
                continue
            if any(span.start >= m.start() for span in analysis.code_spans):
                continue  # a pasted block, an attachment, a link or a file after it: the content
            rest = re.findall(r"[A-Za-z0-9_']+", text[m.end() :])
            if len(rest) >= minimum:
                continue
            return [Hit(m.start(), m.end(), {"match": text[m.start() : m.end()].strip()})]
    return []


def check_message_kind(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The message is of a kind that needs saying something more: a pasted log with no request. The
    rule's `kinds` chooses the kind; the finding sits on the first line of the pasted output."""
    span = next((s for s in analysis.code_spans if s.kind in ("traceback", "fenced")), None)
    if span is None:
        return []
    end = analysis.text.find("\n", span.start)
    end = span.end if end < 0 or end > span.end else end
    return [Hit(span.start, end, {"match": analysis.text[span.start : end][:60], "kind": analysis.message_kind})]


KINDS: dict[str, Callable[["Rule", "Analysis", Context], list[Hit]]] = {
    "existence": check_existence,
    "subjective-term": check_subjective_term,
    "unverifiable-goal": check_unverifiable_goal,
    "error-without-output": check_error_without_output,
    "message-kind": check_message_kind,
    "announced-content": check_announced_content,
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


_HEADING = re.compile(r"^[ \t]*(?:#{1,6}[ \t]|[A-Z][A-Z0-9 _/&-]{2,}:|[^\n:]{1,40}:[ \t]*$)")
_MEMORY_NAMES = {"claude.md", "claude.local.md", "agents.md", "gemini.md", ".cursorrules", ".windsurfrules", "copilot-instructions.md"}


def message_kind(analysis: "Analysis") -> str:
    """What kind of message the prompt is, as far as escalation cares: "memory" (CLAUDE.md, AGENTS.md,
    rules files), "command" (slash commands, prompt files, subagents), "log" (a pasted log with no
    request), or "request". Uses the analysis's own message kind when it has one."""
    kind = str(getattr(analysis, "message_kind", "") or "").lower()
    for key in ("memory", "command", "log"):
        if key in kind:
            return key
    path = "/" + analysis.source.path.replace("\\", "/").lower().lstrip("/")
    name = path.rsplit("/", 1)[-1]
    if name in _MEMORY_NAMES or name.endswith(".instructions.md") or "/.cursor/rules/" in path:
        return "memory"
    if any(part in path for part in ("/.claude/commands/", "/.claude/agents/", "/.github/prompts/", "/skills/")) or name.endswith((".prompt.md", ".chatmode.md")):
        return "command"
    if re.match(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*(?:\r?\n|\Z)", analysis.source.text, re.S):
        return "command"  # YAML front matter: the header of a prompt file
    return kind or "request"


def _in_heading(analysis: "Analysis", offset: int) -> bool:
    """On a Markdown heading or a label line ("## Performance", "SECURITY BOUNDARY:", "Notes:")."""
    text = analysis.text
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return bool(_HEADING.match(text[start : end if end >= 0 else len(text)]))


# Verbs that ask for advice or a plan rather than a change; the lexicon's task verbs cover the rest.
_ADVICE_VERBS = {"do", "run", "perform", "conduct", "propose", "suggest", "compare", "recommend", "evaluate", "decide", "plan", "outline", "draft", "assess", "advise", "weigh", "help", "give"}


def _asks(analysis: "Analysis", offset: int) -> bool:
    """The sentence at ``offset`` asks for something: a command, a request, a modal or a question."""
    sent = analysis.sentence_of(offset)
    if sent is None:
        return False
    if sent.index in analysis.requirement_sentences or sent.is_question:
        return True
    words = [t for t in analysis.doc[sent.token_start : sent.token_end] if t.is_alpha]
    return bool(words) and words[0].lower_ in _ADVICE_VERBS


def _escalation_phrases(rule: "Rule", analysis: "Analysis", ctx: Context, key: str) -> list[Hit]:
    import dataclasses

    phrases = list(rule.check.get(key, []))
    if not phrases and not (key == "phrases" and rule.check.get("patterns")):
        return []
    loose = _derived_rule(rule, "escalation\0" + key, lambda: dataclasses.replace(
        rule,
        code=f"{rule.code}:{key}",
        check={
            **{k: v for k, v in rule.check.items() if k != "patterns" or key == "phrases"},
            "phrases": phrases, "skip-questions": False, "requirements-only": False, "skip-task-verbs": False,
        },
    ))
    return check_existence(loose, analysis, ctx)


def _near(rule: "Rule", analysis: "Analysis", ctx: Context, hits: list[Hit], key: str, window: int | None) -> list[Hit]:
    """The hits with one of the rule's ``key`` phrases in the same sentence (and within ``window``
    characters, when given: a run-on sentence of 200 words is not one context)."""
    others = _escalation_phrases(rule, analysis, ctx, key)
    out = []
    for h in hits:
        sent = analysis.sentence_of(h.start)
        if sent is None:
            continue
        for o in others:
            if o.start >= sent.start and o.end <= sent.end and (o.start, o.end) != (h.start, h.end) and (
                window is None or abs(o.start - h.start) <= window
            ):
                out.append(h)
                break
    return out


_NEGATION = re.compile(r"(?:\b(?:not|no|never|without|avoid|avoiding|defer|don't|dont|doesn't|won't|shouldn't|isn't|nor)|n't)\W+(?:\w+\W+){0,2}$", re.I)


def _negated(analysis: "Analysis", start: int) -> bool:
    """ "won't slow down the app", "no need to optimize", "without a security review"."""
    return bool(_NEGATION.search(analysis.text[max(0, start - 40) : start]))


def _in_list_item(analysis: "Analysis", offset: int) -> bool:
    sent = analysis.sentence_of(offset)
    return sent is not None and sent.list_item


def check_escalation(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """An escalation signal (ESC family): the prompt asks for a kind of work that belongs on a larger
    model. Read by the advice stage, which may raise the tier for it; never reported as a finding.

    A phrase counts only in the prompt's own words (not in code, quotes, headings or label lines),
    in a sentence that asks for something (``sentences = "asking"``, the default) or anywhere in the
    prose for symptoms (``"prose"``: "the test fails intermittently"). ``weak-phrases`` count only
    with one of ``context-phrases`` close by in the same sentence ("make it fast", not "how fast the car goes");
    ``also-phrases`` must share the sentence of a match ("review" + "payment"). A negated mention
    ("won't slow down the app") and, in a command file, the items of a rule list do not count. Memory files and
    pasted logs ask for no work; ``skip-kinds`` adds others (a command file's numbered steps are one
    procedure, not a multi-part feature)."""
    c = rule.check
    kind = message_kind(analysis)
    if kind in set(c.get("skip-kinds", [])) | {"memory", "log"}:
        return []
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
    found = _escalation_phrases(rule, analysis, ctx, "phrases")
    if c.get("weak-phrases"):
        weak = _escalation_phrases(rule, analysis, ctx, "weak-phrases")
        found += _near(rule, analysis, ctx, weak, "context-phrases", window=60)
    # A heading, a label, a negated mention or (in a command file) an item of a rule list asks for nothing.
    found = [
        h for h in found
        if not _in_heading(analysis, h.start) and not _negated(analysis, h.start) and not (kind == "command" and _in_list_item(analysis, h.start))
    ]
    if c.get("sentences", "asking") == "asking":
        found = [h for h in found if _asks(analysis, h.start)]
    if found and c.get("also-phrases"):
        found = _near(rule, analysis, ctx, found, "also-phrases", window=None)
    hits += sorted(found, key=lambda h: h.start)
    if c.get("min-estimated-files"):
        verbs = set(c.get("task-verbs", []))
        task = next((t for t in analysis.task_verbs if not verbs or t.lemma in verbs), None)
        estimate = ctx.estimated_files
        if task is not None and estimate is not None and estimate >= int(c["min-estimated-files"]):
            shown = "all the" if estimate >= 10**9 else estimate  # unbounded: "across the codebase", no repo to count
            hits.append(Hit(task.start, task.end, {"match": analysis.text[task.start : task.end], "files": shown}))
    return hits


def check_bare_failure(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The message only reports a failure ("it's broken", "the app crashes"): the thing that fails is
    "it" or the app, and nothing says how it failed, what was done, or what was expected."""
    c = rule.check
    if analysis.previous_turn or analysis.follow_up:
        return []  # right after (or referring back to) the agent's turn: the failure is its change
    if analysis.code_spans:
        return []  # pasted output, a screenshot, a link, a file: more than the report
    text = analysis.text
    if re.search(r"[\"\u201c][^\"\u201d\n]+[\"\u201d]", text):
        return []  # a quoted message
    words = re.findall(r"[A-Za-z']+", text.lower())
    if not words or len(words) > int(c.get("max-words", 25)):
        return []
    generic = set(c.get("generic-subjects", []))
    fillers = set(c.get("filler-words", []))
    patterns = _compile_regexes(rule, "failure-patterns")
    hit: Hit | None = None
    residue: list[str] = []
    for sent in analysis.prose_sentences:
        # A clause of its own: "doesn't work, please fix" reports in the first clause and pleads in the second.
        for part in re.finditer(r"[^,;.!?\n]+", sent.text):
            clause = part.group(0)
            lead = len(clause) - len(clause.lstrip())
            m = next((m for p in patterns if (m := p.match(clause.strip())) is not None), None)
            if m is None:
                residue += re.findall(r"[A-Za-z']+", clause.lower())
                continue
            subject = re.findall(r"[A-Za-z']+", m.group("subject").lower())
            if any(w not in generic for w in subject):
                return []  # "the export button doesn't work": what fails is named
            if analysis.previous_turn is None and not any(w in _APP_SUBJECTS for w in subject):
                return []  # "this is not working" with the conversation unknown: most likely about the agent's last change
            residue += re.findall(r"[A-Za-z']+", clause.strip()[m.end() :].lower())
            if hit is None:
                start = sent.start + part.start() + lead
                hit = Hit(start, start + m.end(), {"match": text[start : start + m.end()]})
    if hit is None or any(w not in fillers for w in residue):
        return []  # anything else said (a trigger, a place, a step, what was expected) describes it
    if any(t.start < hit.start for t in analysis.task_verbs if t.kind != "fix"):
        return []  # "make sure it doesn't crash": a requirement, not a report
    return [hit]


# Subjects that name the whole program: a report about them stands on its own even when the
# conversation is unknown, unlike "it" or "this", which usually point at the agent's last change.
_APP_SUBJECTS = {"app", "application", "site", "website", "page", "program", "game", "project", "code", "everything"}


def check_failure_without_evidence(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A failure named without its evidence: "the build still fails, fix it", "resolve the type
    errors", "CI is red". Something produced output (a build, a test run, a linter) and the message
    neither quotes, pastes or links it nor names a file or a command the agent could run to see it.

    Left to other rules: an error named without its text (CON009), a pasted log (CON010), an
    announced error that never came (CON011), a bare "it's broken" (CON012). Silent when the
    previous assistant turn already talks about the failure (its output is on screen), and on a
    requirement ("make sure the build doesn't fail") or a conditional spec ("fail when ...")."""
    c = rule.check
    if analysis.previous_turn and re.search(r"\b(?:errors?|fail(?:s|ed|ing|ures?)?|exceptions?|traceback|warnings?)\b", analysis.previous_turn, re.I):
        return []  # the agent's last message talks about the failure: its output is in the conversation
    if any(s.kind in _EVIDENCE_SPANS for s in analysis.code_spans):
        return []  # pasted, quoted, attached, linked, or a file or a command named
    text = analysis.text
    if re.search(r"[\"\u201c][^\"\u201d\n]{3,}[\"\u201d]", text):
        return []  # a quoted message
    if any(p.search(text) for p in _compile_regexes(rule, "evidence-patterns")):
        return []  # the error's own words, a status code, a named tool the agent can run
    words = re.findall(r"[A-Za-z']+", text)
    if len(words) > int(c.get("max-words", 50)):
        return []  # a long message describes the failure in its own words
    patterns = _compile_regexes(rule, "failure-patterns")
    spec = _compile_regexes(rule, "unless-sentence-matches")
    for sent in analysis.prose_sentences:
        if sent.is_question and not any(t.form == "request" for t in analysis.verbs_by_sentence.get(sent.index, ())):
            continue  # "why does the build fail?": a question about the failure
        if any(p.search(sent.text) for p in spec):
            continue
        for pattern in patterns:
            m = pattern.search(sent.text)
            if m is None:
                continue
            start, end = sent.start + m.start(), sent.start + m.end()
            if analysis.is_code(start, end):
                continue
            return [Hit(start, end, {"match": text[start:end]})]
    return []


def check_pasted_without_request(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The message is a pasted email, chat thread or page (its headers, timestamps, "to me", "(edited)")
    and asks for nothing: no command, no request, no question of the user's own. The pasted text may
    be the whole point, but what to do with it (reply, fix what it reports, summarise) is left to guess."""
    c = rule.check
    text = analysis.text
    patterns = _compile_regexes(rule, "pasted-markers")
    found = [m for p in patterns if (m := p.search(text)) is not None]
    if len(found) < int(c.get("min-markers", 2)):
        return []
    first = min(found, key=lambda m: m.start())
    line_start = text.rfind("\n", 0, first.start()) + 1
    # The user's own words: what stands before the pasted message, and a short last paragraph after it
    # ("fix this"). A request inside the paste ("you may want to check the URL") is the sender's.
    paragraphs = [m for m in re.finditer(r"\S(?:.|\n(?![ \t]*\n))*", text)]
    tail = paragraphs[-1] if paragraphs else None
    own = [(0, line_start)]
    if tail is not None and tail.start() > line_start and len(tail.group(0).split()) <= 12 and not any(p.search(tail.group(0)) for p in patterns):
        own.append((tail.start(), tail.end()))

    def is_own(offset: int) -> bool:
        return any(a <= offset < b for a, b in own)

    if any(is_own(t.start) for t in analysis.task_verbs):
        return []
    if any((s.is_question or s.index in analysis.requirement_sentences) and is_own(s.start) for s in analysis.prose_sentences):
        return []
    line_end = text.find("\n", first.start())
    line_end = len(text) if line_end < 0 else line_end
    span = text[line_start:line_end]
    lead = len(span) - len(span.lstrip())
    start, end = line_start + lead, line_start + len(span.rstrip())
    return [Hit(start, end, {"match": text[start:end][:60]})]


# Code spans that carry or point at the evidence: pasted output, a quoted command or message, an
# attachment, a link, a file or a mention.
_EVIDENCE_SPANS = {"fenced", "traceback", "frame", "attachment", "backtick", "url", "path", "mention", "marker"}


KINDS["escalation"] = check_escalation
KINDS["bare-failure"] = check_bare_failure
KINDS["failure-without-evidence"] = check_failure_without_evidence
KINDS["pasted-without-request"] = check_pasted_without_request


def _register_secret_kind() -> None:
    from .secret_kinds import check_pasted_secret

    KINDS["pasted-secret"] = check_pasted_secret


_register_secret_kind()


# The [check] keys each kind reads; a rule file with any other key is rejected at load time, so a
# typo in a user's rule is an error instead of a silently ignored setting.
COMMON_PARAMS = {"applies-to", "kinds", "trigger-findings", "unless-findings", "match", "requirements-only", "skip-questions", "skip-task-verbs"}
_EXISTENCE = {"phrases", "patterns", "unless-sentence-matches", "unless-followed-by", "unless-preceded-by", "only-if-preceded-by", "skip-list-items-in", "list-phrases", "within-task-clause", "task-object-classes"}
KIND_PARAMS: dict[str, set[str]] = {
    "existence": _EXISTENCE,
    "subjective-term": _EXISTENCE | {"decorative", "complaint-patterns", "complaint-satisfied-by", "filler-in-detailed-prompts", "generic-only", "generic-context", "complaint-symptom-words"},
    "error-without-output": {"error-patterns", "pointing-patterns", "output-patterns", "satisfied-by-spans", "unless-sentence-matches"},
    "message-kind": set(),
    "announced-content": {"announce-patterns", "min-words-after"},
    "unverifiable-goal": {"skip-list-items-in", "vague-findings", "goal-patterns", "required-phrases", "required-patterns", "satisfied-by-list-items", "trigger-task-kinds", "trigger-object-classes"},
    "substitution": _EXISTENCE | {"swap"},
    "unresolved-pronoun": _EXISTENCE | {"requires-known-conversation"},
    "vague-action": {"verbs", "generic", "fillers", "outcome-markers", "skip-list-items-in", "vague-purposes", "generic-clauses"},
    "absence-given-trigger": {
        "trigger-task-kinds", "trigger-verbs", "trigger-phrases", "trigger-exclude-objects", "required-phrases",
        "required-patterns", "satisfied-by-code-spans", "min-tasks", "exempt-question-only", "trigger-object-classes",
        "trigger-nouns", "satisfied-by-list-items", "trigger-exclude-verbs", "quiet-on-follow-ups", "skip-list-items-in",
    },
    "count": {"counter", "min", "exclude-kinds", "exclude-objects", "exclude-new-objects", "exclude-verbs", "exclude-object-classes", "procedure-intro", "count-problems", "count-verbs", "single-goal-headings", "task-list-headings"},
    "missing-detail": {"objects", "task-kinds", "exclude-verbs", "task-verbs"},
    "escalation": _EXISTENCE | {
        "tier", "sentences", "weak-phrases", "context-phrases", "also-phrases", "skip-kinds", "when-findings", "min-estimated-files", "task-verbs",
    },
    "missing-reference": {"trigger-task-kinds", "min-score", "max-suggestions"},
    "unknown-reference": {"creation-verbs", "tool-names", "severity-without-near-miss"},
    "ambiguous-reference": {"within", "min-raw-score"},
    "no-pattern": {"objects"},
    "repo-fact-unstated": {"fact", "trigger-task-kinds", "trigger-patterns", "named-by-patterns", "unless-named-files"},
    "front-matter": {"test", "key", "keys", "patterns", "max"},
    "file-length": {"max-lines"},
    "bare-failure": {"failure-patterns", "generic-subjects", "filler-words", "max-words"},
    "failure-without-evidence": {"failure-patterns", "evidence-patterns", "unless-sentence-matches", "max-words"},
    "pasted-without-request": {"pasted-markers", "min-markers"},
    "pasted-secret": {"formats", "placeholder-words"},
}
