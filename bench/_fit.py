"""Small, deterministic model fitting for rules/scores.toml (numpy only, so the reproducibility test
runs wherever promptlint's own dependencies are installed; scikit-learn is only a cross-check).

* L2-regularised logistic regression on standardised features, by Newton's method, with fractional
  targets (a share of 25 runs is a fine target) and an unpenalised intercept;
* forward selection with expected signs: a feature enters only if its weight points the way its
  meaning says (a missing error message cannot make a task *clearer*) and it improves the
  cross-validated log-loss by a margin; at most ``max_features`` enter;
* folds assigned from a hash of the row id, so every run and every machine splits the same way.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np


def fold_of(row_id: str, k: int = 5) -> int:
    return int(hashlib.sha256(row_id.encode()).hexdigest(), 16) % k


@dataclass
class Fitted:
    features: list[str]
    mean: list[float]
    sd: list[float]
    weights: list[float]  # per standardised feature
    intercept: float

    def linear(self, X: np.ndarray, names: list[str]) -> np.ndarray:
        if not self.features:
            return np.full(len(X), self.intercept)
        cols = [names.index(f) for f in self.features]
        Z = (X[:, cols] - np.array(self.mean)) / np.array(self.sd)
        return self.intercept + Z @ np.array(self.weights)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def logistic(Z: np.ndarray, y: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """(intercept, weights) minimising mean log-loss + l2/2 * |w|^2 (y may be fractional)."""
    n, d = Z.shape
    A = np.hstack([np.ones((n, 1)), Z])
    beta = np.zeros(d + 1)
    p0 = min(max(float(y.mean()), 1e-6), 1 - 1e-6)
    beta[0] = math.log(p0 / (1 - p0))
    penalty = np.full(d + 1, l2)
    penalty[0] = 0.0
    for _ in range(100):
        p = sigmoid(A @ beta)
        grad = A.T @ (p - y) / n + penalty * beta
        hess = (A.T * (p * (1 - p))) @ A / n + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return float(beta[0]), beta[1:]


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit(X: np.ndarray, y: np.ndarray, names: list[str], features: list[str], l2: float) -> Fitted:
    if not features:
        p = min(max(float(y.mean()), 1e-6), 1 - 1e-6)
        return Fitted([], [], [], [], math.log(p / (1 - p)))
    cols = [names.index(f) for f in features]
    sub = X[:, cols]
    mean = sub.mean(axis=0)
    sd = sub.std(axis=0)
    sd[sd == 0] = 1.0
    b, w = logistic((sub - mean) / sd, y, l2)
    return Fitted(list(features), mean.tolist(), sd.tolist(), w.tolist(), b)


def cv_loss(X: np.ndarray, y: np.ndarray, folds: np.ndarray, names: list[str], features: list[str], l2: float) -> float:
    losses = []
    for k in sorted(set(folds.tolist())):
        train, test = folds != k, folds == k
        model = fit(X[train], y[train], names, features, l2)
        losses.append(log_loss(y[test], sigmoid(model.linear(X[test], names))) * int(test.sum()))
    return sum(losses) / len(y)


def forward_select(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, names: list[str], candidates: dict[str, int],
    l2: float, max_features: int, min_gain: float,
) -> tuple[list[str], list[tuple[str, float]]]:
    """Greedy forward selection on cross-validated log-loss. ``candidates`` maps a feature to its
    expected sign (+1: more of it, more of the outcome; -1: less). Returns the chosen features and
    the trace (feature, CV loss after adding it)."""
    chosen: list[str] = []
    trace: list[tuple[str, float]] = []
    best = cv_loss(X, y, folds, names, [], l2)
    trace.append(("(intercept only)", best))
    while len(chosen) < max_features:
        scored = []
        for name in sorted(candidates):
            if name in chosen:
                continue
            trial = chosen + [name]
            model = fit(X, y, names, trial, l2)
            if model.weights[-1] * candidates[name] <= 0:
                continue  # against its meaning: not a feature we can explain
            if any(w * candidates[f] <= 0 for f, w in zip(model.features, model.weights)):
                continue
            scored.append((cv_loss(X, y, folds, names, trial, l2), name))
        if not scored:
            break
        loss, name = min(scored)
        if best - loss < min_gain:
            break
        chosen.append(name)
        best = loss
        trace.append((name, loss))
    return chosen, trace


def auc(scores: list[float] | np.ndarray, positives: list[bool] | np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half."""
    s = np.asarray(scores, dtype=float)
    pos = np.asarray(positives, dtype=bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if not n_pos or not n_neg:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
