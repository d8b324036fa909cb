"""Fit the file ranker's weights (rules/_ranking.toml) on the "fit" half of the SWE-bench dev tasks.

    python bench/bench_localization.py --data ../shared/eval-data/swebench-dev.jsonl --dump /tmp/loc.pkl --no-ablation
    python bench/fit_ranking.py /tmp/loc.pkl --write rules/_ranking.toml

The model is a conditional logit over each task's candidates: P(file) = softmax(X w), fitted by
maximum likelihood of the gold files with an L2 penalty (damped Newton; numpy only). The penalty is
chosen by 5-fold cross-validation inside the fit half; the held half is never looked at here except
to print, after the choice, how the chosen weights do on it. Test files are left out of the
candidates as the live ranker leaves them out of the main list (unless the prompt is about tests).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from promptlint.repo.rank import FEATURES  # noqa: E402

# Features whose sign is known: a fit on a few hundred tasks must not flip them by chance.
NONNEGATIVE = {"named", "frame", "frame_last", "module", "code_import", "def_prose", "def_code", "def_prose_spec", "def_code_spec", "message", "content", "content_code", "content_head", "path", "symbol"}


def load(path: Path) -> list[dict]:
    rows = pickle.loads(path.read_bytes())
    out = []
    for r in rows:
        keep = [k for k, t in enumerate(r["is_test"]) if r["mentions_tests"] or not t or r["X"][k, FEATURES.index("named")] > 0]
        cands = [r["cands"][k] for k in keep]
        X = np.asarray(r["X"], dtype=np.float64)[keep]
        gold = np.asarray([c in r["gold"] for c in cands], dtype=bool)
        out.append({**r, "cands": cands, "X": X, "y": gold, "is_test_kept": [r["is_test"][k] for k in keep]})
    return out


def objective(w: np.ndarray, tasks: list[dict], lam: float) -> tuple[float, np.ndarray, np.ndarray]:
    f = len(w)
    value, grad, hess = -lam * float(w @ w), -2 * lam * w, -2 * lam * np.eye(f)
    for t in tasks:
        X, y = t["X"], t["y"]
        if not y.any() or len(y) < 2:
            continue
        s = X @ w
        s -= s.max()
        e = np.exp(s)
        p = e / e.sum()
        eg = e * y
        if eg.sum() <= 0:
            continue
        r = eg / eg.sum()
        value += float(np.log(eg.sum()) - np.log(e.sum()))
        mp, mr = p @ X, r @ X
        grad += mr - mp
        cov_p = (X * p[:, None]).T @ X - np.outer(mp, mp)
        cov_r = (X * r[:, None]).T @ X - np.outer(mr, mr)
        hess += cov_r - cov_p
    return value, grad, hess


def project(w: np.ndarray) -> np.ndarray:
    for k, name in enumerate(FEATURES):
        if name in NONNEGATIVE and w[k] < 0:
            w[k] = 0.0
    return w


def fit(tasks: list[dict], lam: float, iters: int = 60) -> np.ndarray:
    w = np.zeros(len(FEATURES))
    value, grad, hess = objective(w, tasks, lam)
    for _ in range(iters):
        try:
            step = np.linalg.solve(hess - 1e-6 * np.eye(len(w)), -grad)
        except np.linalg.LinAlgError:
            step = grad
        if step @ grad <= 0:  # not an ascent direction (the multi-gold term is not concave)
            step = grad
        t = 1.0
        while t > 1e-6:
            cand = project(w + t * step)
            cv, cg, ch = objective(cand, tasks, lam)
            if cv >= value - 1e-12:
                break
            t /= 2
        if abs(cv - value) < 1e-7:
            w, value = cand, cv
            break
        w, value, grad, hess = cand, cv, cg, ch
    return w


def evaluate(w: np.ndarray, tasks: list[dict]) -> dict[str, float]:
    hits = {1: 0, 5: 0, 10: 0}
    loglik = 0.0
    for t in tasks:
        s = t["X"] @ w
        order = sorted(range(len(s)), key=lambda j: (-s[j], t["cands"][j]))
        ranked = [t["cands"][j] for j in order]
        for k in hits:
            hits[k] += any(g in ranked[:k] for g in t["gold"])
        if t["y"].any():
            z = s - s.max()
            loglik += float(np.log((np.exp(z) * t["y"]).sum()) - np.log(np.exp(z).sum()))
        else:
            loglik += -10.0
    n = max(1, len(tasks))
    return {"Hit@1": hits[1] / n, "Hit@5": hits[5] / n, "Hit@10": hits[10] / n, "loglik": loglik / n}


def _top(w: np.ndarray, none: float, t: dict) -> tuple[float, bool]:
    s = t["X"] @ w
    j = min(range(len(s)), key=lambda k: (-s[k], t["cands"][k]))
    top = max(float(s.max()), none)
    p = float(np.exp(s[j] - top) / (np.exp(s - top).sum() + np.exp(none - top)))
    return p, bool(t["y"][j])


def fit_none(w: np.ndarray, tasks: list[dict]) -> float:
    """The score of "none of these" that makes P(top file) calibrated (max Bernoulli likelihood)."""
    usable = [t for t in tasks if len(t["cands"])]
    best = (-np.inf, 0.0)
    for none in np.arange(-12.0, 16.0, 0.1):
        ll = 0.0
        for t in usable:
            p, right = _top(w, float(none), t)
            p = min(max(p, 1e-6), 1 - 1e-6)
            ll += np.log(p) if right else np.log(1 - p)
        if ll > best[0]:
            best = (ll, float(none))
    return round(best[1], 2)


def calibration(w: np.ndarray, none: float, tasks: list[dict]) -> str:
    bins = [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01)]
    rows = {b: [0, 0] for b in bins}
    for t in tasks:
        if not len(t["cands"]):
            continue
        p, right = _top(w, none, t)
        for b in bins:
            if b[0] <= p < b[1]:
                rows[b][0] += 1
                rows[b][1] += right
    return ", ".join(f"P {lo:.1f}-{min(hi, 1):.1f}: {r}/{n}" for (lo, hi), (n, r) in rows.items() if n)


def fold_of(instance_id: str, k: int) -> int:
    return int(hashlib.sha1(("fold:" + instance_id).encode()).hexdigest(), 16) % k


def report(tasks: list[dict], weights_file: Path) -> None:
    """Per repository and per half with the weights in ``weights_file``, and an ablation (each
    evidence group's weights set to zero, and each group alone with the priors), re-ranking the
    dumped candidates: the live ranker's score on the same candidate pool."""
    from promptlint.repo.rank import GROUPS
    from promptlint.resources import load_toml

    data = load_toml(weights_file)["weights"]
    w = np.asarray([float(data.get(name, 0.0)) for name in FEATURES])

    def line(title: str, part: list[dict], wv: np.ndarray) -> str:
        e = evaluate(wv, part)
        all5 = sum(all(g in [t["cands"][j] for j in sorted(range(len(t["cands"])), key=lambda j: (-(t["X"][j] @ wv), t["cands"][j]))[:5]] for g in t["gold"]) for t in part) / max(1, len(part))
        return f"{title:<34} {len(part):>4}  {e['Hit@1']:.3f}  {e['Hit@5']:.3f}  {e['Hit@10']:.3f}  {all5:.3f}"

    print(f"{'':<34} {'n':>4}  Hit@1  Hit@5  Hit@10 All@5")
    for repo in sorted({t["repo"] for t in tasks}):
        print(line(repo, [t for t in tasks if t["repo"] == repo], w))
    for half in ("fit", "held"):
        print(line(f"{half} half", [t for t in tasks if t["half"] == half], w))
    print(line("all", tasks, w))
    held = [t for t in tasks if t["half"] == "held"]
    print("\nablation (held half | all)")
    for group, names in GROUPS.items():
        wv = np.asarray([0.0 if n in names else v for n, v in zip(FEATURES, w)])
        print(line(f"without {group}", held, wv) + "  |" + line("", tasks, wv)[34:])
    for group, names in GROUPS.items():
        if group == "priors":
            continue
        keep = set(names) | set(GROUPS["priors"])
        wv = np.asarray([v if n in keep else 0.0 for n, v in zip(FEATURES, w)])
        print(line(f"{group} (+priors) alone", held, wv) + "  |" + line("", tasks, wv)[34:])


def classify_misses(tasks: list[dict], weights_file: Path, half: str = "fit") -> None:
    """Why the tasks of one half miss (no gold file in the top 5), one primary reason each, from the
    dumped candidates: what the files above the gold one have that it lacks."""
    from promptlint.resources import load_toml

    data = load_toml(weights_file)["weights"]
    w = np.asarray([float(data.get(name, 0.0)) for name in FEATURES])
    k = {name: i for i, name in enumerate(FEATURES)}
    explicit = [k[n] for n in ("named", "frame", "frame_last", "module", "code_import")]
    defs = [k[n] for n in ("def_prose", "def_code")]
    reasons: dict[str, list[str]] = {}
    part = [t for t in tasks if t["half"] == half]
    for t in part:
        s = t["X"] @ w
        order = sorted(range(len(s)), key=lambda j: (-s[j], t["cands"][j]))
        top = order[:5]
        if any(t["y"][j] for j in top):
            continue
        if not t["y"].any():
            reason = "gold not among the candidates"
        else:
            g = max((j for j in range(len(s)) if t["y"][j]), key=lambda j: s[j])
            above = [j for j in top if s[j] > s[g]]
            tests = [j for j in above if t["is_test_kept"][j]]
            secondary = [j for j in above if t["X"][j, k["secondary"]] > 0]
            if t["X"][g, k["named"]] > 0:
                reason = "the gold file is named in the prompt, yet out-ranked"
            elif tests and len(above) - len(tests) < 5 and t["mentions_tests"]:
                reason = "out-ranked by test files (the prompt counted as about tests)"
            elif secondary and len(above) - len(secondary) < 5:
                reason = "out-ranked by docs or examples"
            elif any(t["X"][j, explicit].sum() > 0 for j in above) and t["X"][g, explicit].sum() == 0:
                reason = "out-ranked by files the prompt names, imports or has frames in"
            elif any(t["X"][j, defs].sum() > t["X"][g, defs].sum() for j in above[:2]):
                reason = "a name in the prompt is defined in other files (the gold one defines none of them)" if t["X"][g, defs].sum() == 0 else "names in the prompt are defined in several files, the gold one among them"
            else:
                reason = "words only: other files match the prompt's words better"
        reasons.setdefault(reason, []).append(t["id"])
    n_miss = sum(len(v) for v in reasons.values())
    print(f"{half} half: {len(part)} tasks, {n_miss} without a gold file in the top 5")
    for reason, ids in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(ids):>3}  {reason}")
        print("       " + " ".join(sorted(ids)))


LAMBDAS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def choose_lambda(tasks: list[dict], folds: int, grid=LAMBDAS, verbose: bool = False) -> float:  # type: ignore[no-untyped-def]
    """The L2 penalty with the best cross-validated Hit@1 + Hit@5 (+ a little log-likelihood)
    among ``tasks`` alone: nothing outside them is looked at."""
    best = None
    for lam in grid:
        scores = []
        for k in range(folds):
            train = [t for t in tasks if fold_of(t["id"], folds) != k]
            test = [t for t in tasks if fold_of(t["id"], folds) == k]
            if not train or not test:
                continue
            scores.append(evaluate(fit(train, lam), test))
        mean = {key: float(np.mean([s[key] for s in scores])) for key in scores[0]}
        if verbose:
            print(f"lambda {lam:<5} cross-validated on the fit half: " + " ".join(f"{k} {v:.3f}" for k, v in mean.items()))
        key = mean["Hit@1"] + mean["Hit@5"] + 0.1 * mean["loglik"]
        if best is None or key > best[0]:
            best = (key, lam)
    assert best is not None
    return best[1]


def ranked_candidates(w: np.ndarray, t: dict) -> list[str]:
    s = t["X"] @ w
    return [t["cands"][j] for j in sorted(range(len(s)), key=lambda j: (-s[j], t["cands"][j]))]


def hit_table(rankings: list[list[str]], golds: list[list[str]]) -> list[float]:
    n = max(1, len(golds))
    out = [sum(any(g in r[:k] for g in gold) for r, gold in zip(rankings, golds)) / n for k in (1, 5, 10)]
    return out + [sum(all(g in r[:5] for g in gold) for r, gold in zip(rankings, golds)) / n]


def cross_validate(tasks: list[dict], folds: int, baseline_file: Path | None) -> None:
    """Out-of-fold figures over every task: each task is ranked with weights fitted (penalty chosen
    by an inner cross-validation) on other tasks only. Two splits: ``folds`` folds by a hash of the
    instance id, and leave-one-repository-out (weights that never saw the repository: the case of a
    user's own repository). Printed per repository next to the mention+BM25 baseline on the same
    tasks (from bench_localization.py's --baseline-cache), when given."""
    import json

    inner = (0.3, 1.0, 3.0, 10.0)
    oof: dict[str, dict[str, list[str]]] = {"k-fold": {}, "repo-out": {}}
    for k in range(folds):
        train = [t for t in tasks if fold_of(t["id"], folds) != k]
        lam = choose_lambda(train, 3, inner)
        w = fit(train, lam)
        for t in tasks:
            if fold_of(t["id"], folds) == k:
                oof["k-fold"][t["id"]] = ranked_candidates(w, t)
        print(f"  fold {k}: lambda {lam}", file=sys.stderr)
    for repo in sorted({t["repo"] for t in tasks}):
        train = [t for t in tasks if t["repo"] != repo]
        lam = choose_lambda(train, 3, inner)
        w = fit(train, lam)
        for t in tasks:
            if t["repo"] == repo:
                oof["repo-out"][t["id"]] = ranked_candidates(w, t)
        print(f"  without {repo}: lambda {lam}", file=sys.stderr)
    base: dict[str, list[str]] = {}
    if baseline_file is not None:
        cache = json.loads(baseline_file.read_text())
        base = {t["id"]: cache[f"1:notests:{t['id']}"] for t in tasks if f"1:notests:{t['id']}" in cache}
    cols = ("Hit@1", "Hit@5", "Hit@10", "All@5")
    head = f"{'':<28} {'n':>4}  " + "   | ".join([" ".join(f"{c:>6}" for c in cols)] * (3 if base else 2))
    print(f"\nout-of-fold (every task ranked by weights fitted without it): {folds}-fold by task | leave-one-repository-out"
          + (" | mention+BM25 over non-test code files (same tasks)" if base else ""))
    print(head)

    def row(title: str, part: list[dict]) -> None:
        golds = [t["gold"] for t in part]
        cells = [hit_table([oof[s][t["id"]] for t in part], golds) for s in ("k-fold", "repo-out")]
        if base:
            have = [t for t in part if t["id"] in base]
            if len(have) < len(part):
                sys.exit(f"the baseline cache lacks {len(part) - len(have)} of these tasks")
            cells.append(hit_table([base[t["id"]] for t in part], golds))
        print(f"{title:<28} {len(part):>4}  " + "   | ".join(" ".join(f"{v:>6.3f}" for v in c) for c in cells))

    for repo in sorted({t["repo"] for t in tasks}):
        row(repo, [t for t in tasks if t["repo"] == repo])
    print("-" * len(head))
    for half in ("fit", "held"):
        row(f"{half} half", [t for t in tasks if t["half"] == half])
    row("all", tasks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dump", type=Path)
    parser.add_argument("--write", type=Path, help="write the fitted weights here (rules/_ranking.toml)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--drop", default="", help="comma-separated features to leave out (feature selection by CV on the fit half)")
    parser.add_argument("--report", type=Path, help="only print metrics and the ablation with this weights file")
    parser.add_argument("--misses", type=Path, help="only classify the fit half's misses with this weights file")
    parser.add_argument("--cv", action="store_true", help="only print out-of-fold figures over all tasks (k-fold and leave-one-repository-out)")
    parser.add_argument("--baseline-cache", type=Path, help="with --cv: bench_localization.py's baseline cache, to print the baseline on the same tasks")
    args = parser.parse_args()
    tasks = load(args.dump)
    if args.cv:
        cross_validate(tasks, args.folds, args.baseline_cache)
        return
    if args.report:
        report(tasks, args.report)
        return
    if args.misses:
        classify_misses(tasks, args.misses)
        return
    for name in filter(None, args.drop.split(",")):
        k = FEATURES.index(name)
        for t in tasks:
            t["X"][:, k] = 0.0
    fit_half = [t for t in tasks if t["half"] == "fit"]
    held_half = [t for t in tasks if t["half"] == "held"]
    print(f"{len(tasks)} tasks: fit {len(fit_half)}, held {len(held_half)}; gold among candidates: "
          f"fit {sum(t['y'].any() for t in fit_half)}, held {sum(t['y'].any() for t in held_half)}")
    lam = choose_lambda(fit_half, args.folds, verbose=True)
    w = fit(fit_half, lam)
    print(f"\nchosen lambda {lam}; fitted on all {len(fit_half)} fit-half tasks")
    for name, v in zip(FEATURES, w):
        print(f"  {name:<14} {v:+.3f}")
    fitted_none = fit_none(w, fit_half)
    # Every dev task has its file among the candidates, so the data cannot say how likely "none of
    # these" is (the fit runs to the grid's end). The prior: it is as likely as a file whose only
    # evidence is being the best match for the prompt's words, anywhere in its text.
    k = {name: i for i, name in enumerate(FEATURES)}
    none = round(float(w[k["content"]] + w[k["content_top"]] + w[k["content_head"]]), 4)
    print(f"  {'none':<14} {none:+.3f}   (score of 'none of these' = a words-only best match; the likelihood alone would take {fitted_none})")
    for label, part in (("fit", fit_half), ("held", held_half)):
        print(f"  calibration, {label} half: " + calibration(w, none, part))
    print("fit half:  " + " ".join(f"{k} {v:.3f}" for k, v in evaluate(w, fit_half).items()))
    print("held half: " + " ".join(f"{k} {v:.3f}" for k, v in evaluate(w, held_half).items()) + "   (candidates re-ranked offline)")
    if args.write:
        lines = [
            "# Weights of the file ranker (promptlint/repo/rank.py): score = sum of weight x feature, and",
            "# softmax(score) over the candidates is the chance that each is the file to change.",
            f"# Fitted by bench/fit_ranking.py (conditional logit, L2 lambda {lam} chosen by {args.folds}-fold",
            f"# cross-validation) on the {len(fit_half)} 'fit'-half SWE-bench dev tasks (sha1(instance_id) even);",
            "# the 'held' half is for measuring only. Regenerate, never edit by hand.",
            "",
            "[weights]",
        ]
        lines += [f"{name} = {v:.4f}" for name, v in zip(FEATURES, w)]
        lines += [f"none = {none:.4f}"]
        args.write.write_text("\n".join(lines) + "\n")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
