"""Precision and recall of the rules against labelled prompts (fixtures/prompts/labels.toml).

Labels list every stable rule code a prompt must raise; any other stable code it raises is a false
positive. Used by the test suite (floors) and by bench/ (the printed table).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .pipeline import Linter
from .resources import load_toml


@dataclass
class FamilyScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Evaluation:
    families: dict[str, FamilyScore] = field(default_factory=dict)
    mistakes: list[str] = field(default_factory=list)
    prompts: int = 0
    tiers_right: int = 0
    tiers_labelled: int = 0
    tier_mistakes: list[str] = field(default_factory=list)

    @property
    def tier_accuracy(self) -> float:
        return self.tiers_right / self.tiers_labelled if self.tiers_labelled else 1.0

    def table(self) -> str:
        rows = ["family  precision  recall   tp  fp  fn"]
        for fam, s in sorted(self.families.items()):
            rows.append(f"{fam:<7} {s.precision:>9.2f}  {s.recall:>6.2f}  {s.tp:>3} {s.fp:>3} {s.fn:>3}")
        total = FamilyScore(*(sum(getattr(s, k) for s in self.families.values()) for k in ("tp", "fp", "fn")))
        rows.append(f"{'all':<7} {total.precision:>9.2f}  {total.recall:>6.2f}  {total.tp:>3} {total.fp:>3} {total.fn:>3}")
        if self.tiers_labelled:
            rows.append(f"model tier accuracy: {self.tier_accuracy:.2f} ({self.tiers_right}/{self.tiers_labelled})")
        return "\n".join(rows)


def evaluate(labels_file: Path, linter: Linter, repos_dir: Path | None = None) -> Evaluation:
    labels = load_toml(labels_file)["prompt"]
    stable = {code for code, rule in linter.catalog.items() if not rule.is_preview}
    counts: dict[str, Counter[str]] = {"tp": Counter(), "fp": Counter(), "fn": Counter()}
    result = Evaluation(prompts=len(labels))
    for item in labels:
        path = labels_file.parent / item["file"]
        repo = repos_dir / item["repo"] if repos_dir and item.get("repo") else None
        report = linter.lint(path.read_text(encoding="utf-8"), path=item["file"], repo=repo)
        got = {f.code for f in report.findings} & stable
        expected = set(item["expect"])
        for code in got & expected:
            counts["tp"][code[:3]] += 1
        for code in got - expected:
            counts["fp"][code[:3]] += 1
        for code in expected - got:
            counts["fn"][code[:3]] += 1
        if got != expected:
            result.mistakes.append(f"{item['file']}: unexpected {sorted(got - expected)}, missed {sorted(expected - got)}")
        if "tier" in item and report.advice is not None:
            result.tiers_labelled += 1
            if report.advice["model"] == item["tier"]:
                result.tiers_right += 1
            else:
                result.tier_mistakes.append(f"{item['file']}: advised {report.advice['model']}, labelled {item['tier']}")
    for fam in sorted(set().union(*counts.values())):
        result.families[fam] = FamilyScore(counts["tp"][fam], counts["fp"][fam], counts["fn"][fam])
    return result
