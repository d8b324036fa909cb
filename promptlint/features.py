"""Interpretable features of a prompt: what a careful engineer checks before starting the work.

Three questions make a task specified: *where* (paths and symbols, and whether they exist in the
repository), *what* (the error, a reproducer, expected against actual behaviour, example input and
output, concrete values) and *done* (how to tell it works). Besides those, the findings of the
rules, the shape of the text (length, hedging, alternatives left open) and, with a repository, the
footprint of the change (how concentrated the likely files are, their size and centrality).

Every feature is a float with a fixed meaning, so a linear model over them (rules/scores.toml)
stays readable: its weights say how much each one counts. The extractor never raises on any text.
"""

from __future__ import annotations

import math
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import Finding

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import RepoContext
    from .repo.resolve import Resolution
    from .text.analysis import Analysis


@dataclass(frozen=True)
class FeatureInfo:
    name: str
    group: str  # where | what | done | doubt | rules | shape | kind | repo
    doc: str  # what the value measures
    present: str = ""  # a reason when the feature points one way ("names no file or symbol")
    absent: str = ""  # ... and when it points the other way
    needs_repo: bool = False


FEATURES: dict[str, FeatureInfo] = {
    f.name: f
    for f in (
        # --- where ------------------------------------------------------------------------------
        FeatureInfo("names_code", "where", "log(1 + distinct files, modules and symbols the prose names)",
                    "names files or symbols", "names no file, module or symbol"),
        FeatureInfo("names_path", "where", "1 if the prose names a file path", "names a file path", "names no file path"),
        FeatureInfo("resolved_code", "where", "log(1 + named files and symbols that exist in the repository)",
                    "names code that exists in the repository", "names nothing that exists in the repository", needs_repo=True),
        FeatureInfo("unresolved_share", "where", "share of named files and symbols not found in the repository",
                    "names files or symbols the repository does not have", "", needs_repo=True),
        # --- what -------------------------------------------------------------------------------
        FeatureInfo("has_error", "what", "1 if an error message, exception or traceback is quoted",
                    "quotes the error", "quotes no error message"),
        FeatureInfo("has_reproducer", "what", "1 if it gives code or steps that reproduce the behaviour",
                    "gives a reproducer", "gives no reproducer or example code"),
        FeatureInfo("has_expected", "what", "1 if it states the expected behaviour (expected/should/instead/so that/that returns)",
                    "states the expected behaviour", "never states the expected behaviour"),
        FeatureInfo("has_actual", "what", "1 if it states the actual behaviour (actual/but it/returns/gives)",
                    "states what happens now", "never says what happens now"),
        FeatureInfo("has_example_io", "what", "1 if it shows example input and its output (>>> sessions, Output: blocks)",
                    "shows example input and output", "shows no example input or output"),
        FeatureInfo("concrete_details", "what", "log(1 + numbers, quoted literals and distinct named files and symbols)",
                    "gives concrete details", "gives no concrete details (values, names, literals)"),
        # --- done -------------------------------------------------------------------------------
        FeatureInfo("states_done", "done", "1 if it says how to tell the work is done (a test, a command, a result)",
                    "says how to tell it is done", "never says how to tell it is done"),
        # --- doubt ------------------------------------------------------------------------------
        FeatureInfo("hedges", "doubt", "log(1 + hedges: maybe, not sure, I think, might, perhaps)",
                    "hedges about what is wanted", ""),
        FeatureInfo("alternatives", "doubt", "log(1 + alternatives left open: either/or, one option, alternatively, we could)",
                    "leaves several solutions open", ""),
        FeatureInfo("questions", "doubt", "share of prose sentences that are questions", "asks more than it states", ""),
        FeatureInfo("external_refs", "doubt", "log(1 + links, issue numbers and other outside references)",
                    "relies on outside references", ""),
        # --- rules ------------------------------------------------------------------------------
        FeatureInfo("vague_findings", "rules", "log(1 + vague-wording and scope findings (VAG, SCO))",
                    "has vague wording or over-broad scope", ""),
        FeatureInfo("constraint_findings", "rules", "log(1 + unstated-constraint findings (CON))", "leaves constraints unstated", ""),
        FeatureInfo("vagueness", "rules", "the vagueness score (rules/scores.toml [vagueness]); set by the advice stage",
                    "leaves a lot to guess", "is specific"),
        # --- shape ------------------------------------------------------------------------------
        FeatureInfo("prose_words", "shape", "log(1 + words outside code)", "is long", "is short"),
        FeatureInfo("code_lines", "shape", "log(1 + lines of quoted code and logs)", "quotes a lot of code", ""),
        # --- kind -------------------------------------------------------------------------------
        FeatureInfo("feature_request", "kind", "1 if it asks for new behaviour (add support, would be nice, allow)",
                    "asks for new behaviour", ""),
        FeatureInfo("proposes_fix", "kind", "1 if it proposes the fix (a patch, a diff, 'the fix is')", "proposes the fix", ""),
        FeatureInfo("several_symptoms", "kind", "1 if the prose adds a symptom or a change: also, another, additionally, in addition, furthermore, moreover, second(ly)",
                    "reports several symptoms or asks for several changes", ""),
        # --- repository -------------------------------------------------------------------------
        FeatureInfo("likely_files", "repo", "log(1 + files that score at least half of the best match)",
                    "the likely files are spread out", "", needs_repo=True),
        FeatureInfo("top_share", "repo", "the best file's share of the top-10 match scores (1: one clear file)",
                    "one file stands out", "no file stands out", needs_repo=True),
        FeatureInfo("modules", "repo", "log(1 + distinct folders among the likely files)", "spans several modules", "", needs_repo=True),
        FeatureInfo("likely_size", "repo", "log(1 + kilobytes) of the largest of the likely files",
                    "points at large files", "points at small files", needs_repo=True),
        FeatureInfo("likely_defs", "repo", "log(1 + definitions) of the likely file with the most definitions",
                    "points at code with many definitions", "points at code with few definitions", needs_repo=True),
        FeatureInfo("likely_in_degree", "repo", "log(1 + importing files) of the most imported of the likely files",
                    "points at code many files import", "points at code few files import", needs_repo=True),
        FeatureInfo("estimated_files", "repo", "log(1 + files the change is estimated to touch)", "touches many files", "", needs_repo=True),
    )
}

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_ERROR = re.compile(
    r"Traceback \(most recent call last\)|\b[A-Z][A-Za-z]*(?:Error|Exception|Warning)\b|^\s*(?:error|fatal|panic|E)\b[:\[]|\bpanicked at\b|\bsegmentation fault\b",
    re.M,
)
_REPRO_WORDS = re.compile(r"\b(?:to reproduce|steps to|reproduc\w*|minimal (?:example|code)|mcve|code for reproduction|example code|for example|e\.g\.)", re.I)
_CODE_LINE = re.compile(r"^\s*(?:>>>|\$ |In \[\d+\]:|import |from \w[\w.]* import|def |class |[\w.\[\]]+\s*=|[\w.]+\(.*\)\s*$|print\()", re.M)
_EXPECTED = re.compile(
    r"\bexpect(?:ed|s|ing)?\b|\bshould(?:n't| not)?\s+(?:be|have|return|give|raise|work|produce|print|show|output|not|also|stay|remain|accept|allow|only)\b"
    r"|\binstead(?: of)?\b|\bwould (?:be|expect|like)\b|\bought to\b|\bdesired\b|\bintended\b|\bcorrect (?:output|result|behaviou?r)\b"
    r"|\bso that\b|\b(?:that|which) (?:returns?|prints?|raises?|rejects?|accepts?|responds?)\b",
    re.I,
)
_ACTUAL = re.compile(
    r"\bactual(?:ly)?\b|\bcurrently\b|\bbut (?:it|i|we|this|the|that|now|instead|got|get)\b|\b(?:returns?|gives?|yields?|produces?|outputs?|prints?|raises?|throws?|crash(?:es)?|fails?|breaks?)\b"
    r"|\bresults? in\b|\binstead\b|\bgot\b",
    re.I,
)
# [ \t], not \s: \s also matches line breaks, and its runs next to each other backtracked
# quadratically over a long blank stretch (a masked front matter line took minutes).
_OUTPUT_HEAD = re.compile(r"^[ \t]*(?:#+[ \t]*)?(?:(?:expected|actual)[ \t]*)?(?:output|result|outcome)s?[ \t]*:?[ \t]*$|^[ \t]*Out\[\d+\]:|^>>>", re.I | re.M)
_NUMBER_OR_LITERAL = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:%|ms|s|px|kb|mb|gb)?(?!\w|\.\w)|\"[^\"\n]{1,60}\"|'[^'\n]{1,60}'")
_DONE = re.compile(
    r"\b(?:test(?:s|ed|ing)?|pytest|unittest|assert\w*|should (?:pass|return|print|output|produce|give|raise)|so that|acceptance|done when|make sure|verify|expected (?:output|result|behaviou?r)|must)\b",
    re.I,
)
_HEDGES = re.compile(
    r"\b(?:maybe|perhaps|possibly|probably|not sure|unsure|i think|i guess|i believe|i suspect|i wonder|might|may be|could be|seems?|apparently|unclear|no idea|not certain|somehow|i'm not|am not sure)\b",
    re.I,
)
_ALTERNATIVES = re.compile(
    r"\b(?:alternatively|either\b.{0,80}\bor|one option|another option|other option|options? (?:are|would be|is)|we could|one could|could also|or we|or maybe|or perhaps|or just|or rather|not sure (?:if|whether)|whether to|a few ways|several ways|two ways|proposals?|suggestions?)\b",
    re.I | re.S,
)
_EXTERNAL = re.compile(r"https?://\S+|(?<![\w&])#\d{2,6}\b|\b(?:release notes|mailing list|changelog|stack ?overflow|see also|discussed in|pull request|PR \d+|ticket #?\d+)\b", re.I)
_FEATURE = re.compile(
    r"\b(?:add(?:ing)? (?:support|an? (?:option|argument|parameter|flag|keyword|method|way))|support for|would be (?:nice|great|useful|good|helpful)|it would be|feature request|enhancement|allow(?:ing)? (?:users?|to|the|for)|new (?:option|argument|parameter|feature|method|keyword)|provide a way|make it possible|i'd like|i would like|we should add|could we add|please add|proposal)\b",
    re.I,
)
_PROPOSES_FIX = re.compile(
    r"^\s*(?:diff --git|@@ .* @@|--- a/|\+\+\+ b/)|\b(?:the fix (?:is|would be)|a fix (?:is|would be)|possible fix|proposed (?:fix|solution|change)|i propose|suggested fix|patch(?:ed)?|changing (?:line|it) to|replace .{1,60} with|should be changed to|workaround)\b",
    re.I | re.M,
)
# A report that adds "also ..." / "another ..." / "secondly ..." describes more than one symptom or
# more than one change: more to find and more to fix in one task.
_SEVERAL = re.compile(r"\b(?:also|another|additionally|in addition|furthermore|moreover|second(?:ly)?)\b", re.I)
_NAMED_KINDS = ("path", "module", "identifier", "call", "rust-path", "backtick", "route")


def _prose(analysis: "Analysis") -> str:
    """The prompt's own words: code spans (blocks, tracebacks, inline code) blanked out."""
    text = analysis.text
    if not analysis.code_spans:
        return text
    parts, last = [], 0
    for span in analysis.code_spans:
        if span.start < last:
            continue
        parts.append(text[last : span.start])
        parts.append(" ")
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


def _log1p(n: float) -> float:
    return math.log1p(max(0.0, n))


def text_features(analysis: "Analysis", findings: list[Finding]) -> dict[str, float]:
    """The text's features. Asked twice per lint (the vagueness score, then the model advice) with
    the same findings: made once per analysis and findings' families, a fresh dict each time."""
    families = tuple(f.family for f in findings)
    memo = analysis.__dict__.get("_text_features")
    if memo is None or memo[0] != families:
        memo = analysis.__dict__["_text_features"] = (families, _text_features(analysis, families))
    return dict(memo[1])


def _text_features(analysis: "Analysis", fam: tuple[str, ...]) -> dict[str, float]:
    text = analysis.text
    prose = _prose(analysis)
    spans = analysis.code_spans
    blocks = [s for s in spans if s.kind in ("fenced", "traceback")]
    block_text = "\n".join(s.inner for s in blocks)
    indented = "\n".join(line for line in text.splitlines() if line.startswith(("    ", "\t")) and line.strip())
    code_text = block_text + "\n" + indented
    named = {s.inner.strip() for s in spans if s.kind in _NAMED_KINDS}
    named = {n for n in named if any(ch.isalpha() for ch in n)}
    paths = [s for s in spans if s.kind == "path" or (s.kind == "backtick" and "/" in s.inner and " " not in s.inner.strip())]
    prose_sentences = [s for s in analysis.sentences if s.text.strip() and not analysis.is_code(s.start, s.end)]
    questions = sum(1 for s in prose_sentences if s.is_question)
    code_lines = sum(1 for line in code_text.splitlines() if line.strip())
    has_error = bool(_ERROR.search(text)) or any(s.kind == "traceback" for s in spans)
    repro = bool(_REPRO_WORDS.search(prose)) or len(_CODE_LINE.findall(code_text)) >= 2
    example_io = bool(_OUTPUT_HEAD.search(text)) or (block_text.count(">>>") >= 1 and code_lines >= 2) or len(blocks) >= 2
    return {
        "names_code": _log1p(len(named)),
        "names_path": float(bool(paths)),
        "has_error": float(has_error),
        "has_reproducer": float(repro),
        "has_expected": float(bool(_EXPECTED.search(prose))),
        "has_actual": float(bool(_ACTUAL.search(prose))),
        "has_example_io": float(example_io),
        "concrete_details": _log1p(len(_NUMBER_OR_LITERAL.findall(prose)) + len(named)),
        "states_done": float(bool(_DONE.search(prose))),
        "hedges": _log1p(len(_HEDGES.findall(prose))),
        "alternatives": _log1p(len(_ALTERNATIVES.findall(prose))),
        "questions": questions / len(prose_sentences) if prose_sentences else 0.0,
        "external_refs": _log1p(len(_EXTERNAL.findall(text))),
        "vague_findings": _log1p(sum(1 for f in fam if f in ("VAG", "SCO"))),
        "constraint_findings": _log1p(sum(1 for f in fam if f == "CON")),
        "prose_words": _log1p(len(_WORD.findall(prose))),
        "code_lines": _log1p(code_lines),
        "feature_request": float(bool(_FEATURE.search(prose))),
        "proposes_fix": float(bool(_PROPOSES_FIX.search(text))),
        # Present or not: how often a reporter says "also" is style, not more symptoms (a count let
        # one chatty report reach the Sonnet threshold on its own).
        "several_symptoms": float(bool(_SEVERAL.search(prose))),
    }


def repo_features(analysis: "Analysis", resolution: "Resolution", repo: "RepoContext") -> dict[str, float]:
    files = repo.index.files
    mentions = [m for m in resolution.mentions if m.kind in ("path", "module", "identifier", "route", "frame")]
    distinct: dict[tuple[str, str], bool] = {}
    for m in mentions:
        distinct[(m.kind, m.text)] = distinct.get((m.kind, m.text), False) or m.exists
    resolved = sum(1 for ok in distinct.values() if ok)
    ranked = resolution.ranked[:10]
    best = ranked[0][1] if ranked else 0.0
    likely = [p for p, v in ranked if best > 0 and v >= 0.5 * best]
    total = sum(v for _, v in ranked)
    symbols = repo.index.symbols
    in_degrees = repo.resolver.search.in_degree
    likely_paths = [p for p in likely if p in files]

    def largest(measure) -> float:  # type: ignore[no-untyped-def]
        return max((measure(p) for p in likely_paths), default=0.0)

    return {
        "likely_size": largest(lambda p: _log1p(files[p].size / 1024)),
        "likely_defs": largest(lambda p: _log1p(len(symbols[p].defs)) if p in symbols else 0.0),
        "likely_in_degree": largest(lambda p: _log1p(in_degrees.get(p, 0))),
        "resolved_code": _log1p(resolved),
        "unresolved_share": (len(distinct) - resolved) / len(distinct) if distinct else 0.0,
        "likely_files": _log1p(len(likely)),
        "top_share": best / total if total > 0 else 0.0,
        "modules": _log1p(len({posixpath.dirname(p) for p in likely})),
    }


def extract(
    analysis: "Analysis", findings: list[Finding], resolution: "Resolution | None" = None, repo: "RepoContext | None" = None,
    estimated_files: int | None = None,
) -> dict[str, float]:
    """Every feature that can be computed: the text features, and the repository ones when there is a repository."""
    out = text_features(analysis, findings)
    if resolution is not None and repo is not None:
        out.update(repo_features(analysis, resolution, repo))
        out["estimated_files"] = _log1p(min(estimated_files or 0, len(repo.index.files)))
    return out
