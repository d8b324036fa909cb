"""The vagueness score: how much a careful engineer would have to guess, from 0 (nothing) to 1."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .model import Finding, Severity

if TYPE_CHECKING:  # pragma: no cover
    from .text.analysis import Analysis

# How much one finding of a family adds to the guesswork, before length normalisation.
_FAMILY_WEIGHT = {"VAG": 0.45, "SCO": 0.35, "CON": 0.25, "REF": 0.35}
_SEVERITY_SCALE = {Severity.error: 1.3, Severity.warning: 1.0, Severity.info: 0.5}


def vagueness(analysis: "Analysis", findings: list[Finding]) -> float:
    if not analysis.text.strip():
        return 0.0
    raw = sum(_FAMILY_WEIGHT.get(f.family, 0.2) * _SEVERITY_SCALE[f.severity] for f in findings)
    # A task with nothing concrete to hold on to (no path, identifier, or named code thing).
    if analysis.task_verbs and not analysis.code_spans:
        raw += 0.35 if not analysis.noun_phrases else 0.15
    # The same number of findings weighs less in a long, detailed prompt.
    sentences = max(1, len(analysis.sentences))
    raw /= 1 + 0.12 * (sentences - 1)
    concrete = len(analysis.code_spans)
    raw /= 1 + 0.1 * min(concrete, 10)
    return round(1 - math.exp(-raw), 3)
