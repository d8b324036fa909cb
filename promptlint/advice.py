"""Stage 4a: which model should run this prompt (Haiku / Sonnet / Opus), why, and at what price.

The escalation score says how likely Haiku alone fails or flounders. It combines the escalation rules
(rules/ESC*.toml, each with a tier and a weight), the prompt's vagueness, the change's estimated
footprint from the repository index, and the prompt's length. Thresholds and prices are config.
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
    from .text.analysis import Analysis

BASE_RISK = 0.1  # any coding task can go wrong
UNBOUNDED = 10**9  # "across the entire codebase" with no repository to count files in
_RENAME_VERBS = {"rename", "move", "replace", "deprecate", "remove", "delete", "drop", "change", "update", "migrate", "refactor", "convert"}


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
            # A rename or removal touches every file that uses the symbol.
            name = m.text.strip("`").rstrip("()").split("::")[-1].rsplit(".", 1)[-1]
            touched.update(m.defined_in)
            touched.update(search.refs_by_name.get(name, ()))
    touched.update(r.path for r in resolution.references if r.score >= 0.45)
    return max(1, len(touched))


def build_advice(
    analysis: "Analysis", findings: list[Finding], vagueness: float, engine: "RuleEngine", config: Config,
    resolution: "Resolution | None" = None, repo: "RepoContext | None" = None,
) -> dict[str, Any]:
    files = estimated_files(analysis, findings, resolution, repo)
    reasons = engine.escalation_reasons(analysis, findings, resolution, files)
    if any(float(rule.check.get("weight", 0)) > 0 for rule, _ in reasons):
        # A named location does not make a race or a lifetime puzzle Haiku-sized.
        reasons = [(rule, message) for rule, message in reasons if float(rule.check.get("weight", 0)) > 0]
    risk = 1 - BASE_RISK
    calming = 1.0
    for rule, _message in reasons:
        weight = float(rule.check.get("weight", 0.0))
        if weight >= 0:
            risk *= 1 - min(weight, 0.95)
        else:
            calming *= 1 + max(weight, -0.95)
    risk *= 1 - 0.35 * vagueness
    if files is not None and 3 <= files < UNBOUNDED:
        risk *= 1 - min(0.3, 0.08 * math.log2(files))
    if len(analysis.text) > 3000:
        risk *= 0.9
    score = round(min(1.0, (1 - risk) * calming), 3)
    tiers = {rule.check.get("tier") for rule, _ in reasons}
    if "opus" in tiers or score >= config.opus_at:
        model = "opus"
    elif score >= config.sonnet_at:
        model = "sonnet"
    else:
        model = "haiku"
    tokens = estimate_tokens(analysis.text)
    prices = {tier: {"input": i, "output": o} for tier, i, o in config.prices}
    return {
        "model": model,
        "score": score,
        "reasons": [{"code": rule.code, "message": message} for rule, message in reasons],
        "estimated_files": None if files is None or files >= UNBOUNDED else files,
        "cost": {
            "input_tokens": tokens,
            "currency": "USD",
            "per_million_tokens": prices,
            "input": {tier: round(tokens * p["input"] / 1e6, 6) for tier, p in prices.items()},
        },
    }
