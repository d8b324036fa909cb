"""Fit rules/scores.toml (the vagueness and escalation models) from the SWE-bench dev rows.

Two steps, both reproducible:

    # 1. features of every row, text and repository (checkouts at base_commit; slow, minutes):
    python bench/fit_scores.py extract --data ../shared/eval-data/swebench-dev.jsonl
    #    -> bench/data/swebench-dev-features.csv (numbers only, committed)
    # 2. fit the models from those features and the labels in the data (seconds):
    python bench/fit_scores.py fit --data ../shared/eval-data/swebench-dev.jsonl
    #    -> rules/scores.toml

tests/test_scores_fit.py checks that rules/scores.toml is what step 2 produces (when the data is
present), and that the committed text features are what promptlint computes today.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _swebench import DEFAULT_DATA, DEFAULT_MIRRORS, checkout, load_rows, mirror_of  # noqa: E402

FEATURES_CSV = ROOT / "bench" / "data" / "swebench-dev-features.csv"
SCORES_TOML = ROOT / "rules" / "scores.toml"


class Capture:
    """Wraps advice.build_advice to record the features of each lint (the same call the runtime makes)."""

    def __init__(self) -> None:
        import promptlint.advice as advice

        import promptlint.scoring as scoring

        self.advice = advice
        self.scoring = scoring
        self.original = advice.build_advice
        self.original_scores = scoring.load_scores
        self.last: dict[str, float] | None = None
        advice.build_advice = self  # type: ignore[assignment]
        # The features must not depend on the weights they are fitted into: lint with neutral models.
        neutral = scoring.parse_scores(NEUTRAL_SCORES, "neutral weights")
        scoring.load_scores = lambda path=None: neutral  # type: ignore[assignment]

    def __call__(self, analysis, findings, vagueness, engine, config, resolution=None, repo=None):  # type: ignore[no-untyped-def]
        from promptlint import features

        result = self.original(analysis, findings, vagueness, engine, config, resolution, repo)
        files = self.advice.estimated_files(analysis, findings, resolution, repo)
        self.last = features.extract(analysis, findings, resolution, repo, estimated_files=files)
        return result

    def restore(self) -> None:
        self.advice.build_advice = self.original  # type: ignore[assignment]
        self.scoring.load_scores = self.original_scores  # type: ignore[assignment]


_NEUTRAL_MODEL = {"target": "none", "rows": 0, "intercept": 0.0, "features": []}
NEUTRAL_SCORES = {
    "vagueness": _NEUTRAL_MODEL,
    "escalation": {"text": _NEUTRAL_MODEL, "repo": _NEUTRAL_MODEL},
    "cost": {"output-per-input": 0.0, "haiku": {"tokens-like": "sonnet"}, "sonnet": {"intercept": 0.0, "slope": 0.0}, "opus": {"intercept": 0.0, "slope": 0.0}},
}


def text_row(linter, capture: Capture, text: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    capture.last = None
    linter.lint(text, repo=None)
    return dict(capture.last or {})


def extract(args: argparse.Namespace) -> None:
    from promptlint.config import Config
    from promptlint.features import FEATURES
    from promptlint.pipeline import Linter

    rows = load_rows(args.data)
    capture = Capture()
    linter = Linter(Config())
    names = sorted(FEATURES)
    # Repository features depend on the checkouts, not on the text code: an update of the text
    # features can keep them (seconds instead of half an hour; the result is the same as a full run).
    reused = load_features(args.features) if args.reuse_repo_features else {}
    out = []
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["repo"], rows[i]["instance_id"]))
    for n, i in enumerate(order, 1):
        row = rows[i]
        text = row["problem_statement"]
        record = {"instance_id": row["instance_id"], "has_repo": 0}
        record.update(text_row(linter, capture, text))
        mirror = mirror_of(args.mirrors, row["repo"])
        if reused.get(row["instance_id"], {}).get("has_repo"):
            record.update({k: v for k, v in reused[row["instance_id"]].items() if k in FEATURES and FEATURES[k].needs_repo})
            record["has_repo"] = 1
        elif not args.no_repo and mirror.exists():
            root = checkout(mirror, args.workdir, row["base_commit"])
            linter.refresh_repo(root)
            capture.last = None
            linter.lint(text, repo=root)
            record.update({k: v for k, v in (capture.last or {}).items() if FEATURES[k].needs_repo})
            record["has_repo"] = 1
        out.append(record)
        if n % 25 == 0 or n == len(rows):
            print(f"[{n}/{len(rows)}] {row['instance_id']}", file=sys.stderr)
    out.sort(key=lambda r: r["instance_id"])
    args.features.parent.mkdir(parents=True, exist_ok=True)
    with open(args.features, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["instance_id", "has_repo", *names])
        for r in out:
            writer.writerow([r["instance_id"], r["has_repo"], *(format_value(r.get(k)) for k in names)])
    print(f"\nwrote {args.features} ({len(out)} rows)", file=sys.stderr)


def format_value(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


# --- fitting -------------------------------------------------------------------------------------
# The candidates and the sign each must have: the meaning of a feature fixes its direction, the data
# only its size. Length is not a vagueness candidate: it measures how much was written, not what is
# missing, and chat prompts are far shorter than issue reports.
VAGUENESS_CANDIDATES = {
    "names_code": -1, "names_path": -1, "has_error": -1, "has_reproducer": -1, "has_expected": -1, "has_actual": -1,
    "has_example_io": -1, "concrete_details": -1, "states_done": -1, "hedges": +1, "alternatives": +1, "questions": +1,
    "external_refs": +1, "vague_findings": +1, "constraint_findings": +1, "feature_request": +1, "proposes_fix": -1,
}
ESCALATION_TEXT_CANDIDATES = {
    "names_code": -1, "names_path": -1, "has_reproducer": -1, "has_expected": -1, "has_example_io": -1, "states_done": -1,
    "hedges": +1, "alternatives": +1, "questions": +1, "external_refs": +1, "vague_findings": +1, "prose_words": +1,
    "code_lines": +1, "feature_request": +1, "proposes_fix": -1, "vagueness": +1, "several_symptoms": +1,
}
ESCALATION_REPO_CANDIDATES = {
    **ESCALATION_TEXT_CANDIDATES,
    "resolved_code": -1, "unresolved_share": +1, "likely_files": +1, "top_share": -1, "modules": +1, "estimated_files": +1,
    "likely_size": +1, "likely_defs": +1, "likely_in_degree": +1,
}
L2 = 0.02  # per standardised weight, on the mean log-loss
MAX_FEATURES = 6
MIN_GAIN = 0.001  # mean log-loss a feature must save, cross-validated, to enter
# Agent runs in the data were priced at the list prices of the day (per million input/output tokens).
DATA_PRICES = {"sonnet": (3.0, 15.0), "opus": (5.0, 25.0)}
OUTPUT_PER_INPUT = 0.02  # assumed output tokens per input token of an agent run (input dominates: context is re-sent each call)
AGENTS = {"sonnet": "claude-sonnet-4.5", "opus": "claude-opus-4.5"}


# Both escalation models use a set fixed by meaning (the issue's "size and in-degree of the code they
# point at, spread of the likely files", and whether the report adds symptoms: more to find and fix);
# only the weights are fitted, and a feature whose weight contradicts its meaning is dropped. Greedy
# selection among the correlated size measures was unstable across folds and did worse out of sample
# (bench/bench_escalation.py, --select). Without a repository it picked rule-hit counts (vague_findings)
# whose spread on issue reports is tiny (sd 0.12), so on chat prompts, where such findings are
# common, one count sent a prompt to Opus on its own: the text model keeps the one bounded text
# feature the repository model uses.
ESCALATION_FIXED: dict[str, list[str] | None] = {"text": ["several_symptoms"], "repo": ["likely_defs", "likely_in_degree", "likely_files", "several_symptoms"]}
# Which escalation models may set the advised tier (scores.toml `sets-tier`); the other only gives the
# score. The text model is near chance (CV AUC 0.561 against prompt length 0.547, bench/bench_escalation.py)
# and at advice.sonnet-at 0.45 sent 33 of the 343 real chat prompts to Sonnet for an "also" in them.
ESCALATION_SETS_TIER = {"text": False, "repo": True}


def prune_signs(X, y, names: list[str], features: list[str], signs: dict[str, int]):  # type: ignore[no-untyped-def]
    """Fit a fixed set; drop the feature whose weight most contradicts its meaning until none does."""
    from _fit import fit

    chosen = list(features)
    while chosen:
        model = fit(X, y, names, chosen, L2)
        wrong = [(w * signs[f], f) for f, w in zip(model.features, model.weights) if w * signs[f] <= 0]
        if not wrong:
            break
        chosen.remove(min(wrong)[1])
    return chosen, [("fixed set " + ", ".join(features) + "; kept " + (", ".join(chosen) or "none"), None)]


def load_features(path: Path) -> dict[str, dict[str, float]]:
    out = {}
    with open(path, newline="") as fh:
        for rec in csv.DictReader(fh):
            row_id = rec.pop("instance_id")
            out[row_id] = {k: float(v) for k, v in rec.items() if v != ""}
    return out


def solved(row: dict, tier: str) -> bool | None:
    """Whether the one mini-SWE-agent run of that tier solved the task (resolved_by), None if unknown."""
    value = row.get("resolved_by")
    if not isinstance(value, dict):
        return None
    for key, done in value.items():
        if tier in key.lower():
            return bool(done)
    return None


def haiku_failed(row: dict) -> bool | None:
    done = solved(row, "haiku")
    return None if done is None else not done


def vagueness_target(row: dict) -> float | None:
    u = row.get("openai_underspecified")
    return None if u is None else float(u >= 2)


def _matrix(ids: list[str], feats: dict[str, dict[str, float]], names: list[str]):  # type: ignore[no-untyped-def]
    import numpy as np

    return np.array([[feats[i].get(n, 0.0) for n in names] for i in ids], dtype=float)


def _model_table(fitted, target: str, rows: int) -> dict:  # type: ignore[no-untyped-def]
    return {
        "target": target,
        "rows": rows,
        "intercept": round(float(fitted.intercept), 4),
        "features": [
            {"name": f, "mean": round(float(m), 4), "sd": round(float(sd), 4), "weight": round(float(w), 4)}
            for f, m, sd, w in zip(fitted.features, fitted.mean, fitted.sd, fitted.weights)
        ],
    }


def fit_models(rows: list[dict], feats: dict[str, dict[str, float]], salt: str = "") -> tuple[dict, dict]:
    """The scores.toml tables fitted on ``rows``, and a report of what the selection did."""
    import numpy as np

    from _fit import Fitted, fit, fold_of, forward_select, logistic, sigmoid

    report: dict = {}
    # Vagueness: annotators' "underspecified >= 2" (of 0-3), every labelled row.
    vrows = [r for r in rows if vagueness_target(r) is not None and r["instance_id"] in feats]
    vids = [r["instance_id"] for r in vrows]
    names = sorted({n for i in vids for n in feats[i]} | set(VAGUENESS_CANDIDATES))
    X = _matrix(vids, feats, names)
    y = np.array([vagueness_target(r) for r in vrows])
    folds = np.array([fold_of(salt + i) for i in vids])
    chosen, trace = forward_select(X, y, folds, names, VAGUENESS_CANDIDATES, L2, MAX_FEATURES, MIN_GAIN)
    vague = fit(X, y, names, chosen, L2)
    report["vagueness"] = trace
    tables = {"vagueness": _model_table(vague, "openai_underspecified >= 2 (annotators: the task needs guessing)", len(vids))}

    # Escalation: the share of 25 agent runs that failed (solve_rate) sets the direction; one run of
    # Haiku 4.5 (resolved_by) calibrates it into P(Haiku fails).
    erows = [r for r in rows if r.get("solve_rate") is not None and haiku_failed(r) is not None and r["instance_id"] in feats]
    eids = [r["instance_id"] for r in erows]
    tables["escalation"] = {}
    logits = {}
    for variant, candidates in (("text", ESCALATION_TEXT_CANDIDATES), ("repo", ESCALATION_REPO_CANDIDATES)):
        use = [i for i in eids if variant == "text" or feats[i].get("has_repo")]
        sub_rows = [r for r in erows if r["instance_id"] in set(use)]
        names = sorted({n for i in use for n in feats[i]} | set(candidates))
        X = _matrix(use, feats, names)
        X[:, names.index("vagueness")] = sigmoid(vague.linear(X, names))
        y = np.array([1.0 - r["solve_rate"] for r in sub_rows])
        folds = np.array([fold_of(salt + i) for i in use])
        fixed = ESCALATION_FIXED.get(variant)
        if fixed is None:
            chosen, trace = forward_select(X, y, folds, names, candidates, L2, MAX_FEATURES, MIN_GAIN)
        else:
            chosen, trace = prune_signs(X, y, names, fixed, candidates)
        difficulty = fit(X, y, names, chosen, L2)
        failed = np.array([float(haiku_failed(r)) for r in sub_rows])
        s = difficulty.linear(X, names)
        a, b = logistic(((s - s.mean()) / (s.std() or 1.0)).reshape(-1, 1), failed, 0.0)
        slope = float(b[0]) / (s.std() or 1.0)
        # Compose: P(Haiku fails) = sigmoid(a + slope * (s - mean(s))), s = difficulty's linear predictor.
        composed = Fitted(difficulty.features, difficulty.mean, difficulty.sd, [w * slope for w in difficulty.weights],
                          a + slope * (difficulty.intercept - float(s.mean())))
        report[f"escalation.{variant}"] = trace
        tables["escalation"][variant] = _model_table(
            composed, "Haiku 4.5 fails (resolved_by), direction fitted on 1 - solve_rate (25 runs)", len(use)
        ) | {"sets-tier": ESCALATION_SETS_TIER[variant]}
        logits[variant] = (sub_rows, composed.linear(X, names))

    # Cost: agent input tokens per task, log-linear in the escalation log-odds (harder tasks take more turns).
    cost_rows, z = logits["repo"]
    # The estimate is held inside the log-odds seen in the data: no extrapolation to tiny or huge tasks.
    cost: dict = {"output-per-input": OUTPUT_PER_INPUT, "min-logit": round(float(z.min()), 4), "max-logit": round(float(z.max()), 4)}
    for tier, agent in AGENTS.items():
        pairs = [(zi, r["agent_cost"][agent][0]) for zi, r in zip(z, cost_rows) if r.get("agent_cost", {}).get(agent)]
        zs = np.array([p[0] for p in pairs])
        p_in, p_out = DATA_PRICES[tier]
        log_tokens = np.log(np.array([usd / (p_in + OUTPUT_PER_INPUT * p_out) * 1e6 for _, usd in pairs]))
        slope, intercept = np.polyfit(zs, log_tokens, 1)
        cost[tier] = {"intercept": round(float(intercept), 4), "slope": round(float(slope), 4), "rows": len(pairs)}
    cost["haiku"] = {"tokens-like": "sonnet", "note": "no Haiku agent costs in the data: Sonnet 4.5's token use at Haiku's prices"}
    cost["basis"] = (
        f"mini-SWE-agent runs of Claude Sonnet 4.5 and Opus 4.5 on {cost['sonnet']['rows']} SWE-bench Verified tasks; "
        f"Haiku at Sonnet's token use; {OUTPUT_PER_INPUT:g} output tokens per input token"
    )
    tables["cost"] = cost
    return tables, report


def render_toml(tables: dict, meta: dict) -> str:
    """scores.toml, written the same way every time."""

    def value(v) -> str:  # type: ignore[no-untyped-def]
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return repr(round(v, 4))
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        "# The weights of promptlint's vagueness score and model advice: logistic models over the features",
        "# of promptlint/features.py. probability = 1 / (1 + exp(-(intercept + sum(weight * (value - mean) / sd)))).",
        "# Written by `python bench/fit_scores.py fit` from the SWE-bench dev rows; do not edit by hand",
        "# (tests/test_scores_fit.py checks that this file is what the script writes).",
        "",
        "[meta]",
    ]
    lines += [f"{k} = {value(v)}" for k, v in meta.items()]

    def model(name: str, table: dict) -> None:
        lines.extend(["", f"[{name}]"])
        for key in ("target", "rows", "intercept", "sets-tier"):
            if key in table:
                lines.append(f"{key} = {value(table[key])}")
        lines.append("features = [")
        for t in table["features"]:
            lines.append(f"  {{ name = {value(t['name'])}, mean = {value(t['mean'])}, sd = {value(t['sd'])}, weight = {value(t['weight'])} }},")
        lines.append("]")

    model("vagueness", tables["vagueness"])
    model("escalation.text", tables["escalation"]["text"])
    model("escalation.repo", tables["escalation"]["repo"])
    cost = tables["cost"]
    lines.extend(["", "[cost]"] + [f"{k} = {value(cost[k])}" for k in ("output-per-input", "min-logit", "max-logit", "basis")])
    for tier in ("haiku", "sonnet", "opus"):
        lines.extend(["", f"[cost.{tier}]"])
        lines += [f"{k} = {value(v)}" for k, v in cost[tier].items()]
    return "\n".join(lines) + "\n"


def data_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def fitted_toml(data: Path, features: Path) -> tuple[str, dict]:
    rows = load_rows(data)
    feats = load_features(features)
    tables, report = fit_models(rows, feats)
    meta = {"fitted-by": "bench/fit_scores.py fit", "data": data.name, "data-sha256": data_digest(data), "features": str(features.relative_to(ROOT)) if features.is_relative_to(ROOT) else features.name}
    return render_toml(tables, meta), report


def fit_command(args: argparse.Namespace) -> None:
    text, report = fitted_toml(args.data, args.features)
    for model, trace in report.items():
        print(f"{model}: " + " -> ".join(name if loss is None else f"{name} ({loss:.4f})" for name, loss in trace))
    args.out.write_text(text)
    print(f"wrote {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="compute the features of every dev row")
    ex.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ex.add_argument("--features", type=Path, default=FEATURES_CSV)
    ex.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    ex.add_argument("--workdir", type=Path, default=Path("/tmp/promptlint-bench-checkouts"))
    ex.add_argument("--no-repo", action="store_true", help="text features only")
    ex.add_argument("--reuse-repo-features", action="store_true", help="recompute the text features, keep the repository ones of --features")
    fi = sub.add_parser("fit", help="fit rules/scores.toml from the features and the labels")
    fi.add_argument("--data", type=Path, default=DEFAULT_DATA)
    fi.add_argument("--features", type=Path, default=FEATURES_CSV)
    fi.add_argument("--out", type=Path, default=SCORES_TOML)
    args = parser.parse_args()
    if args.command == "extract":
        extract(args)
    else:
        fit_command(args)


if __name__ == "__main__":
    main()
