"""The vagueness score and the probability that Haiku fails a task: small logistic models over the
interpretable features of features.py, whose weights are data (rules/scores.toml).

rules/scores.toml is written by `bench/fit_scores.py fit` from labelled SWE-bench tasks; nothing is
fitted at run time. A model is

    probability = 1 / (1 + exp(-(intercept + sum(weight * (value - mean) / sd))))

so each weight is the change in log-odds for one standard deviation of its feature, and a feature's
contribution to one prompt is ``weight * (value - mean) / sd``. The file is validated when it is
loaded: an unknown feature, a missing number or a repository feature in a text-only model is a
clear error (exit code 2), never a silent zero.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PromptlintError
from .model import Finding
from .resources import builtin_rules_dir, read_untrusted_toml

if TYPE_CHECKING:  # pragma: no cover
    from .text.analysis import Analysis

SCORES_FILE = "scores.toml"
TIERS = ("haiku", "sonnet", "opus")
_MODEL_KEYS = {"target", "rows", "intercept", "features", "auc-cv", "note", "sets-tier"}
_TERM_KEYS = {"name", "mean", "sd", "weight"}
_COST_KEYS = {"output-per-input", "min-logit", "max-logit", "basis", *TIERS}
_COST_TIER_KEYS = {"intercept", "slope", "tokens-like", "rows", "note"}


class ScoresError(PromptlintError):
    """rules/scores.toml is missing or malformed."""


@dataclass(frozen=True)
class Term:
    feature: str
    mean: float
    sd: float
    weight: float

    def contribution(self, value: float) -> float:
        return self.weight * (value - self.mean) / self.sd


@dataclass(frozen=True)
class LinearModel:
    name: str
    target: str
    intercept: float
    terms: tuple[Term, ...]
    # An escalation model too weak to decide the tier (sets-tier = false) only gives the score.
    sets_tier: bool = True

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(t.feature for t in self.terms)

    def linear(self, values: dict[str, float]) -> float:
        return self.intercept + sum(t.contribution(values.get(t.feature, t.mean)) for t in self.terms)

    def probability(self, values: dict[str, float]) -> float:
        z = max(-30.0, min(30.0, self.linear(values)))
        return 1.0 / (1.0 + math.exp(-z))

    def contributions(self, values: dict[str, float]) -> list[tuple[str, float]]:
        """(feature, log-odds contribution) for this prompt, largest effect first."""
        out = [(t.feature, t.contribution(values.get(t.feature, t.mean))) for t in self.terms]
        return sorted(out, key=lambda fc: (-abs(fc[1]), fc[0]))


@dataclass(frozen=True)
class TierCost:
    """log(agent input tokens for the task) = intercept + slope * escalation log-odds, the log-odds
    held within the range seen in the data (no extrapolation)."""

    intercept: float
    slope: float
    low: float = -10.0
    high: float = 10.0

    def input_tokens(self, logit: float) -> float:
        # Capped at e^30 (~10^13 tokens): a project's weights may be anything the validation allows.
        return math.exp(min(30.0, self.intercept + self.slope * max(self.low, min(self.high, logit))))


@dataclass(frozen=True)
class CostModel:
    output_per_input: float  # output tokens per input token of an agent run (an assumption, stated in the file)
    tiers: dict[str, TierCost]  # haiku, sonnet, opus
    basis: str


@dataclass(frozen=True)
class Scores:
    vagueness: LinearModel
    escalation_text: LinearModel
    escalation_repo: LinearModel
    cost: CostModel
    source: str

    def escalation(self, with_repo: bool) -> LinearModel:
        return self.escalation_repo if with_repo else self.escalation_text


# A project's rules-dir may carry its own scores.toml (weights refitted on the team's own outcomes):
# it is untrusted input, so every number is bounded, and a probability or a cost cannot overflow.
_MAX_MAGNITUDE = 1e6


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScoresError(f"{where} must be a finite number, not {value!r}")
    if abs(value) > _MAX_MAGNITUDE:
        raise ScoresError(f"{where} must be between -{_MAX_MAGNITUDE:g} and {_MAX_MAGNITUDE:g}, not {value!r}")
    return float(value)


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ScoresError(f"{where}: missing [{key}] table")
    return value


def _model(data: dict[str, Any], name: str, where: str, allow_repo: bool) -> LinearModel:
    from .features import FEATURES

    unknown = set(data) - _MODEL_KEYS
    if unknown:
        raise ScoresError(f"{where}: [{name}] has no key '{sorted(unknown)[0]}' (known: {', '.join(sorted(_MODEL_KEYS))})")
    if "intercept" not in data:
        raise ScoresError(f"{where}: [{name}] needs an 'intercept'")
    terms_data = data.get("features", [])
    if not isinstance(terms_data, list):
        raise ScoresError(f"{where}: [{name}] 'features' must be a list of {{name, mean, sd, weight}} tables")
    terms = []
    seen = set()
    for i, item in enumerate(terms_data):
        at = f"{where}: [{name}] features[{i}]"
        if not isinstance(item, dict) or set(item) != _TERM_KEYS:
            raise ScoresError(f"{at} must have exactly the keys name, mean, sd, weight")
        feature = item["name"]
        if not isinstance(feature, str) or feature not in FEATURES:
            raise ScoresError(f"{at}: unknown feature {feature!r} (known: {', '.join(sorted(FEATURES))})")
        if FEATURES[feature].needs_repo and not allow_repo:
            raise ScoresError(f"{at}: {feature!r} needs a repository, but [{name}] is used without one")
        if feature in seen:
            raise ScoresError(f"{at}: feature {feature!r} appears twice")
        seen.add(feature)
        sd = _number(item["sd"], f"{at} 'sd'")
        if sd <= 0:
            raise ScoresError(f"{at} 'sd' must be positive")
        terms.append(Term(feature, _number(item["mean"], f"{at} 'mean'"), sd, _number(item["weight"], f"{at} 'weight'")))
    target = data.get("target", "")
    sets_tier = data.get("sets-tier", True)
    if not isinstance(sets_tier, bool):
        raise ScoresError(f"{where}: [{name}] 'sets-tier' must be true or false")
    return LinearModel(name, str(target), _number(data["intercept"], f"{where}: [{name}] 'intercept'"), tuple(terms), sets_tier)


def _cost(data: dict[str, Any], where: str) -> CostModel:
    unknown = set(data) - _COST_KEYS
    if unknown:
        raise ScoresError(f"{where}: [cost] has no key '{sorted(unknown)[0]}' (known: {', '.join(sorted(_COST_KEYS))})")
    ratio = _number(data.get("output-per-input"), f"{where}: [cost] 'output-per-input'")
    if ratio < 0:
        raise ScoresError(f"{where}: [cost] 'output-per-input' must not be negative")
    low = _number(data.get("min-logit", -10.0), f"{where}: [cost] 'min-logit'")
    high = _number(data.get("max-logit", 10.0), f"{where}: [cost] 'max-logit'")
    if low > high:
        raise ScoresError(f"{where}: [cost] 'min-logit' must not exceed 'max-logit'")
    tiers: dict[str, TierCost] = {}
    for tier in TIERS:
        table = _table(data, tier, f"{where}: [cost]")
        unknown = set(table) - _COST_TIER_KEYS
        if unknown:
            raise ScoresError(f"{where}: [cost.{tier}] has no key '{sorted(unknown)[0]}'")
        like = table.get("tokens-like")
        if like is not None:
            if not isinstance(like, str) or like not in TIERS or like == tier:
                raise ScoresError(f"{where}: [cost.{tier}] 'tokens-like' must name another tier")
            continue
        tiers[tier] = TierCost(
            _number(table.get("intercept"), f"{where}: [cost.{tier}] 'intercept'"), _number(table.get("slope"), f"{where}: [cost.{tier}] 'slope'"), low, high
        )
    for tier in TIERS:
        like = data[tier].get("tokens-like")
        if like is not None:
            if like not in tiers:
                raise ScoresError(f"{where}: [cost.{tier}] 'tokens-like' names {like!r}, which has no tokens of its own")
            tiers[tier] = tiers[like]
    return CostModel(ratio, tiers, str(data.get("basis", "")))


def parse_scores(data: dict[str, Any], where: str) -> Scores:
    known = {"meta", "vagueness", "escalation", "cost"}
    unknown = set(data) - known
    if unknown:
        raise ScoresError(f"{where}: unknown table [{sorted(unknown)[0]}] (known: {', '.join(sorted(known))})")
    escalation = _table(data, "escalation", where)
    return Scores(
        vagueness=_model(_table(data, "vagueness", where), "vagueness", where, allow_repo=False),
        escalation_text=_model(_table(escalation, "text", where), "escalation.text", where, allow_repo=False),
        escalation_repo=_model(_table(escalation, "repo", where), "escalation.repo", where, allow_repo=True),
        cost=_cost(_table(data, "cost", where), where),
        source=where,
    )


def scores_file(rules_dirs: tuple[Path, ...] = ()) -> Path:
    """The weights in use: the last of a project's rules-dir folders that has a scores.toml (the same
    order in which its rules override), else the built-in rules/scores.toml."""
    for folder in reversed(rules_dirs):
        candidate = Path(folder) / SCORES_FILE
        if candidate.exists() or candidate.is_symlink():
            return candidate  # whatever it is: a FIFO or a dangling link is refused when read, said, not skipped
    return builtin_rules_dir() / SCORES_FILE


def load_scores(path: Path | None = None) -> Scores:
    """The models in ``path`` (default: the built-in rules/scores.toml), validated; loaded again when
    the file changes (a long-lived editor server sees an edited project file)."""
    path = path or builtin_rules_dir() / SCORES_FILE
    try:
        st = path.stat()
        stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    return _load_scores(path, stamp)


MAX_SCORES_FILE = 1_000_000


@functools.lru_cache(maxsize=8)
def _load_scores(path: Path, stamp: tuple[int, int] | None) -> Scores:
    # A project's rules-dir may ship this file: untrusted input, read inside its folder.
    data = read_untrusted_toml(path, MAX_SCORES_FILE, str(path), ScoresError,
                               f"{path}: the model weights are missing (run `python bench/fit_scores.py fit`)", root=path.parent)
    return parse_scores(data, str(path))


load_scores.cache_clear = _load_scores.cache_clear  # type: ignore[attr-defined]


def vagueness(analysis: "Analysis", findings: list[Finding], rules_dirs: tuple[Path, ...] = ()) -> float:
    """How much a careful engineer would have to guess, from 0 (nothing) to 1: the probability that
    annotators would call the task underspecified, from what it says about where, what and done."""
    if not analysis.text.strip():
        return 0.0
    from .features import text_features

    return round(load_scores(scores_file(rules_dirs)).vagueness.probability(text_features(analysis, findings)), 3)
