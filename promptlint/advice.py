"""Stage 4a: which model should run this prompt (Haiku / Sonnet / Opus), why, and what the task costs.

Two sources decide the tier, and every reason shown is one of them:

* the fitted model (rules/scores.toml, `escalation`): the probability that Haiku 4.5 fails the task,
  from text and repository features (footprint, spread and centrality of the likely files, what the
  prompt pins down). The tier follows from `advice.sonnet-at` and `advice.opus-at` when the model may set
  it (`sets-tier`; the built-in text-only model, near chance, only gives the score); its reasons are
  the features that moved this prompt's probability the most, in the direction of the advice;
* the escalation rules (rules/ESC*.toml): work the tiering guidance puts on a larger model
  (architecture decisions, refactors of 10+ files, deep debugging, performance work, security review).
  They can only raise the tier, and are shown only when they set it.

The cost is the task's, not the prompt's: an agent's token use on the task, estimated per tier from
real agent runs (rules/scores.toml, `cost`), at the configured prices.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .config import Config
from .model import Finding

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import RepoContext
    from .repo.resolve import Resolution
    from .rules.engine import RuleEngine
    from .scoring import LinearModel, Scores
    from .text.analysis import Analysis

UNBOUNDED = 10**9  # "across the entire codebase" with no repository to count files in
TIERS = ("haiku", "sonnet", "opus")
# Structural changes: a rename or a removal touches every file that uses the symbol.
_RENAME_VERBS = {"rename", "move", "replace", "deprecate", "remove", "delete", "drop", "migrate", "refactor", "convert"}
_MIN_REASON = 0.1  # log-odds: smaller contributions are not worth a line
_MAX_MODEL_REASONS = 2


def estimate_tokens(text: str) -> int:
    """Offline estimate: about 4 characters per token for English and code."""
    return max(1, math.ceil(len(text) / 4))


def estimated_files(analysis: "Analysis", findings: list[Finding], resolution: "Resolution | None", repo: "RepoContext | None") -> int | None:
    """How many files the change will touch, from the repository index when there is one."""
    totality = any(f.code == "SCO001" for f in findings)
    if repo is None or resolution is None:
        if totality and analysis.task_verbs:
            return UNBOUNDED
        paths = {s.text for s in analysis.code_spans if s.kind == "path"}
        return len(paths) or None
    search = repo.resolver.search
    if totality:
        return len(repo.index.symbols)
    touched: set[str] = set()
    renaming = any(t.lemma in _RENAME_VERBS for t in analysis.task_verbs)
    for m in resolution.mentions:
        touched.update(p for p in m.paths[:5] if p in repo.index.files)
        if renaming and m.kind in ("identifier", "module") and m.defined_in:
            name = m.text.strip("`").rstrip("()").split("::")[-1].rsplit(".", 1)[-1]
            touched.update(m.defined_in)
            touched.update(search.refs_by_name.get(name, ()))
    touched.update(r.path for r in resolution.references if r.score >= 0.45)
    return max(1, len(touched))


def fitted_tier(probability: float, config: Config) -> str:
    if probability >= config.opus_at:
        return "opus"
    if probability >= config.sonnet_at:
        return "sonnet"
    return "haiku"


def model_reasons(model: "LinearModel", values: dict[str, float], raising: bool) -> list[dict[str, Any]]:
    """The features that moved this prompt's probability most in the advice's direction."""
    from .features import FEATURES

    out = []
    for feature, contribution in model.contributions(values):
        if (contribution > 0) != raising or abs(contribution) < _MIN_REASON:
            continue
        term = next(t for t in model.terms if t.feature == feature)
        info = FEATURES[feature]
        # Above its mean the feature "is present"; below, "absent" (e.g. "names no file or symbol").
        text = info.present if values.get(feature, term.mean) >= term.mean else info.absent
        if not text:
            continue
        out.append({
            "code": "model",
            "feature": feature,
            "message": f"{text} ({'+' if contribution > 0 else '-'}{abs(contribution):.2f} to the log-odds that Haiku fails)",
        })
        if len(out) >= _MAX_MODEL_REASONS:
            break
    return out


def task_cost(scores: "Scores", logit: float, config: Config) -> dict[str, Any]:
    """Estimated agent tokens and dollars for the task on each tier."""
    prices = {tier: (i, o) for tier, i, o in config.prices}
    out_tokens, usd = {}, {}
    for tier in TIERS:
        tokens_in = scores.cost.tiers[tier].input_tokens(logit)
        tokens_out = tokens_in * scores.cost.output_per_input
        out_tokens[tier] = {"input": int(round(tokens_in, -3)), "output": int(round(tokens_out, -2))}
        usd[tier] = round((tokens_in * prices[tier][0] + tokens_out * prices[tier][1]) / 1e6, 3)
    return {"task": usd, "task_tokens": out_tokens}


def build_advice(
    analysis: "Analysis", findings: list[Finding], vagueness: float, engine: "RuleEngine", config: Config,
    resolution: "Resolution | None" = None, repo: "RepoContext | None" = None,
) -> dict[str, Any]:
    from . import features
    from .scoring import load_scores, scores_file

    scores = load_scores(scores_file(config.rules_dirs))
    files = estimated_files(analysis, findings, resolution, repo)
    values = features.extract(analysis, findings, resolution, repo, estimated_files=files)
    values["vagueness"] = vagueness
    with_repo = resolution is not None and repo is not None
    model = scores.escalation(with_repo)
    logit = model.linear(values)
    probability = model.probability(values)
    # A model too weak to decide (the built-in text-only one, scores.toml sets-tier) only gives the score.
    by_model = fitted_tier(probability, config) if model.sets_tier else "haiku"

    signals = engine.escalation_reasons(analysis, findings, resolution, files)
    by_rules = max((rule.check.get("tier", "haiku") for rule, _ in signals), key=TIERS.index, default="haiku")
    tier = max(by_model, by_rules, key=TIERS.index)
    reasons: list[dict[str, Any]] = []
    if by_rules == tier and tier != "haiku":
        reasons += [{"code": rule.code, "message": message} for rule, message in signals if rule.check.get("tier") == tier]
    if by_model == tier:
        reasons += model_reasons(model, values, raising=tier != "haiku")

    cost = task_cost(scores, logit, config)
    compared = tier if tier != "haiku" else "sonnet"
    task = cost["task"]
    tokens = estimate_tokens(analysis.text)
    prices = {t: {"input": i, "output": o} for t, i, o in config.prices}
    return {
        "model": tier,
        "score": round(probability, 3),
        "reasons": reasons,
        "estimated_files": None if files is None or files >= UNBOUNDED else files,
        "cost": {
            "currency": "USD",
            "per_million_tokens": prices,
            **cost,
            # What choosing Haiku saves against the advised tier (against Sonnet when Haiku is advised),
            # and what trying Haiku first costs on average when a failed attempt is redone on that tier.
            "compared_with": compared,
            "haiku_saving": round(task[compared] - task["haiku"], 3),
            "haiku_first": round(task["haiku"] + probability * task[compared], 3),
            "basis": scores.cost.basis,
            "input_tokens": tokens,
            "input": {t: round(tokens * p["input"] / 1e6, 6) for t, p in prices.items()},
        },
    }
