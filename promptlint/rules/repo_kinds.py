"""Repository-aware check kinds (the REF family): they read the resolution of the prompt's mentions
against the repository index. With no repository (`--no-repo`) they stay silent."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..repo.search import is_test_path
from ..repo.words import singular, split_identifier, synonyms
from .kinds import Context, Hit

if TYPE_CHECKING:  # pragma: no cover
    from ..repo.resolve import Reference, Resolution
    from ..text.analysis import Analysis
    from .catalog import Rule


def _trigger(rule: "Rule", analysis: "Analysis"):  # type: ignore[no-untyped-def]
    kinds = set(rule.check.get("trigger-task-kinds", ["create", "change", "fix", "remove", "handle"]))
    if analysis.is_question_only:
        return None
    return next((t for t in analysis.task_verbs if t.kind in kinds), None)


def _describe(refs: list["Reference"], n: int) -> str:
    return "; ".join(f"{r.path} ({r.reason})" for r in refs[:n])


def check_missing_reference(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The task targets code but names no file or symbol: suggest the best candidates."""
    res: Resolution | None = ctx.resolution
    if res is None or res.mentions:
        return []
    verb = _trigger(rule, analysis)
    if verb is None:
        return []
    minimum = float(rule.check.get("min-score", 0.35))
    refs = [r for r in res.references if r.score >= minimum]
    if not refs:
        return []
    n = int(rule.check.get("max-suggestions", 3))
    return [Hit(verb.start, verb.end, {"match": analysis.text[verb.start : verb.end], "top": refs[0].path, "candidates": _describe(refs, n)})]


def check_unknown_reference(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A path or symbol the prompt names does not exist in the repository."""
    res: Resolution | None = ctx.resolution
    if res is None:
        return []
    creation_verbs = set(rule.check.get("creation-verbs", ["add", "create", "write", "implement", "introduce", "generate", "scaffold", "build", "define", "extract", "split", "move", "rename", "copy"]))
    hits = []
    for m in res.mentions:
        if m.exists or analysis.is_code_block(m.start):
            continue
        if _created(analysis, m.start, creation_verbs):
            continue  # "Add tests/orders.test.ts": a new file is expected not to exist yet
        if m.kind in ("path", "frame"):
            if m.text.startswith(("/", "~")) and not m.suggestions:
                continue  # an absolute path outside the repo (a traceback from site-packages)
        elif not m.suggestions:
            continue  # an unknown identifier may be a library's; only near-misses are reported
        what = "file" if m.kind in ("path", "frame") else "symbol"
        suggestion = ", ".join(m.suggestions) if m.suggestions else ""
        hits.append(Hit(m.start, m.end, {"match": m.text, "what": what, "did_you_mean": suggestion or "no similar name", "kind": m.kind}))
    return hits


def _created(analysis: "Analysis", offset: int, verbs: set[str]) -> bool:
    """Whether a creation verb earlier in the same sentence governs the mention at ``offset``."""
    sent = analysis.sentence_of(offset)
    if sent is None:
        return False
    return any(t.lemma in verbs and t.start < offset for t in analysis.verbs_by_sentence.get(sent.index, ()))


def _rank_words(ctx: Context, words: dict[str, float]) -> list[tuple[str, float]]:
    resolver = ctx.resolver
    ranked = resolver.rank(words, [], mentions_tests=False)
    return [(p, v) for p, v, _ in ranked]


def check_ambiguous_reference(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A noun phrase ("the config") matches several files about equally well: list them."""
    res: Resolution | None = ctx.resolution
    if res is None or res.named_existing or ctx.resolver is None:
        return []
    ratio = float(rule.check.get("within", 0.85))
    minimum = float(rule.check.get("min-raw-score", 1.0))
    hits = []
    for np_ in analysis.noun_phrases:
        words = {w: 1.0 for w in split_identifier(np_.text) if w not in ("the", "this", "that", "our", "my")}
        if not words:
            continue
        ranked = _rank_words(ctx, words)
        if len(ranked) < 2 or ranked[0][1] < minimum:
            continue
        close = [p for p, v in ranked if v >= ranked[0][1] * ratio][:4]
        if len(close) < 2:
            continue
        hits.append(Hit(np_.start, np_.end, {"match": np_.text, "candidates": ", ".join(close), "count": len(close)}))
    return hits


def check_no_pattern(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """A create-new task with an obvious existing pattern in the repo that the prompt does not point to."""
    res: Resolution | None = ctx.resolution
    if res is None or ctx.resolver is None or res.named_existing:
        return []
    objects = {singular(k): v for k, v in rule.check.get("objects", {}).items()}
    for verb in analysis.task_verbs:
        if verb.kind != "create":
            continue
        head = _object_noun(analysis, verb, objects)
        if head is None:
            continue
        noun = singular(head.lemma_)
        words = {noun: 1.0, **{w: 0.6 for w in objects[noun]}}
        for s in synonyms().get(noun, ()):
            words.setdefault(s, 0.5)
        ranked = [(p, v) for p, v in _rank_words(ctx, words) if not is_test_path(p) or noun in ("test", "spec")]
        index = ctx.resolver.search.index
        for path, _value in ranked[:5]:
            syms = index.symbols.get(path)
            if syms is None or (len(syms.defs) < 2 and len(syms.routes) < 2):
                continue
            example = ", ".join(f"`{d[0]}`" for d in syms.defs[:3]) if len(syms.routes) < 2 else ", ".join(f"{m} {r}" for m, r, _ in syms.routes[:3])
            test = _sibling_test(path, index.files)
            pattern = f"{path} ({example})" + (f" and its test {test}" if test else "")
            return [Hit(verb.start, head.idx + len(head.text), {"match": analysis.text[verb.start : head.idx + len(head.text)], "object": noun, "pattern": pattern, "top": path})]
    return []


def _object_noun(analysis: "Analysis", verb, objects):  # type: ignore[no-untyped-def]
    """The head of the verb's object when it names a kind of thing we know patterns for
    ("Add a table `orders`" -> table; "Add error handling" -> none: the head is "handling")."""
    from .kinds import _PREPOSITIONS, _clause_tokens

    head = None
    for tok in _clause_tokens(analysis, verb, limit=8):
        if tok.lower_ in _PREPOSITIONS or tok.is_punct:
            break
        if tok.i not in analysis.code_token_ids and not tok.is_space:
            head = tok  # the last plain word before a preposition heads the object
    return head if head is not None and singular(head.lemma_) in objects else None


def _sibling_test(path: str, files) -> str | None:  # type: ignore[no-untyped-def]
    stem = path.rsplit("/", 1)[-1].split(".")[0].lower()
    for f in files:
        if is_test_path(f) and stem and stem in f.rsplit("/", 1)[-1].lower():
            return f
    return None


REPO_KINDS = {
    "missing-reference": check_missing_reference,
    "unknown-reference": check_unknown_reference,
    "ambiguous-reference": check_ambiguous_reference,
    "no-pattern": check_no_pattern,
}


def check_repo_fact_unstated(rule: "Rule", analysis: "Analysis", ctx: Context) -> list[Hit]:
    """The repository makes a choice matter (its error crate, its test setup, TypeScript strictness)
    and the prompt asks for work that depends on it without saying it."""
    c = rule.check
    facts = ctx.facts
    if facts is None or analysis.is_question_only:
        return []
    fact = c.get("fact")
    value = {
        "rust-error-crates": ", ".join(facts.rust_error_crates),
        "test-framework": facts.test_framework or "",
        "ts-strict": ", ".join(facts.ts_strict),
    }.get(fact)
    if value is None:
        from ..errors import RuleCatalogError

        raise RuleCatalogError(f"{rule.path}: repo-fact-unstated: unknown fact {fact!r}")
    if not value:
        return []
    text = analysis.text.lower()
    if any(re.search(p, text) for p in c.get("named-by-patterns", [])):
        return []
    if c.get("unless-named-files") and (
        (ctx.resolution is not None and any(m.kind in ("path", "frame") for m in ctx.resolution.named_existing))
        or any(s.kind == "path" for s in analysis.code_spans)
    ):
        return []  # a prompt that names its files has already placed the work
    kinds = set(c.get("trigger-task-kinds", ["create", "change", "fix", "handle"]))
    triggers = [(t.start, t.end) for t in analysis.task_verbs if t.kind in kinds]
    if not triggers:
        return []
    words = c.get("trigger-patterns", [])
    hit = None
    for pattern in words:
        for m in re.finditer(pattern, analysis.text, re.I):
            if not analysis.is_code(m.start(), m.end()):  # pasted logs and code do not ask for anything
                hit = (m.start(), m.end())
                break
        if hit:
            break
    if words and hit is None:
        return []
    start, end = hit or triggers[0]
    where = {"rust-error-crates": "Cargo.toml", "test-framework": facts.test_example or facts.manifest or "", "ts-strict": facts.tsconfig or ""}[fact]
    return [Hit(start, end, {"match": analysis.text[start:end], "value": value, "where": where, "test_dir": (facts.test_dirs or ["tests"])[0], "test_command": facts.test_command or ""})]


REPO_KINDS["repo-fact-unstated"] = check_repo_fact_unstated
