"""rules/scores.toml is reproducible: it is what bench/fit_scores.py writes from the data, and the
committed features are what promptlint computes today. Skipped where the SWE-bench dev data is absent."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from promptlint.resources import loads_toml

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import _fit  # noqa: E402
import fit_scores  # noqa: E402
from _swebench import DEFAULT_DATA, load_rows  # noqa: E402

needs_data = pytest.mark.skipif(not DEFAULT_DATA.is_file(), reason=f"SWE-bench dev data not at {DEFAULT_DATA} (set PROMPTLINT_SWEBENCH_DEV)")


def _numbers_close(a, b, path="") -> None:  # type: ignore[no-untyped-def]
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _numbers_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            _numbers_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=2e-4), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@needs_data
def test_scores_toml_is_what_fit_scores_writes_from_the_data():
    text, _report = fit_scores.fitted_toml(DEFAULT_DATA, fit_scores.FEATURES_CSV)
    committed = (ROOT / "rules" / "scores.toml").read_text()
    _numbers_close(loads_toml(text), loads_toml(committed))


@needs_data
def test_committed_text_features_are_what_promptlint_computes_today():
    """A sample of rows (the same every run): the feature file must not go stale when features.py changes."""
    from promptlint.config import Config
    from promptlint.features import FEATURES
    from promptlint.pipeline import Linter

    committed = fit_scores.load_features(fit_scores.FEATURES_CSV)
    rows = [r for r in load_rows(DEFAULT_DATA) if _fit.fold_of("sample:" + r["instance_id"], 12) == 0]
    assert len(rows) >= 20
    capture = fit_scores.Capture()
    try:
        linter = Linter(Config())
        for row in rows:
            now = fit_scores.text_row(linter, capture, row["problem_statement"])
            for name, value in now.items():
                assert not FEATURES[name].needs_repo
                assert committed[row["instance_id"]][name] == pytest.approx(value, abs=1e-4), (row["instance_id"], name)
    finally:
        capture.restore()


def test_the_fitter_recovers_known_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 3))
    true = np.array([1.5, -0.8, 0.0])
    y = (rng.random(4000) < _fit.sigmoid(0.3 + X @ true)).astype(float)
    b, w = _fit.logistic(X, y, l2=0.0)
    assert b == pytest.approx(0.3, abs=0.1) and w == pytest.approx(true, abs=0.12)
    # Fractional targets (a share of runs) fit the same way.
    b2, w2 = _fit.logistic(X, _fit.sigmoid(0.3 + X @ true), l2=0.0)
    assert b2 == pytest.approx(0.3, abs=1e-6) and w2 == pytest.approx(true, abs=1e-6)


def test_forward_selection_keeps_signal_with_the_expected_sign_and_drops_noise():
    rng = np.random.default_rng(1)
    n = 1500
    X = rng.normal(size=(n, 4))
    y = (rng.random(n) < _fit.sigmoid(1.2 * X[:, 0] - 0.9 * X[:, 1])).astype(float)
    names = ["signal", "negative", "noise", "wrong_sign"]
    folds = np.array([_fit.fold_of(str(i)) for i in range(n)])
    chosen, trace = _fit.forward_select(X, y, folds, names, {"signal": +1, "negative": -1, "noise": +1, "wrong_sign": +1}, 0.01, 4, 0.001)
    assert chosen[:2] == ["signal", "negative"] and "noise" not in chosen
    # "negative" is real, but a candidate declared with the other sign never enters.
    chosen, _ = _fit.forward_select(X, y, folds, names, {"signal": +1, "negative": +1}, 0.01, 4, 0.001)
    assert chosen == ["signal"]


def test_the_fitter_agrees_with_scikit_learn():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 3))
    y = (rng.random(600) < _fit.sigmoid(X @ np.array([0.7, -0.4, 0.2]))).astype(float)
    l2 = 0.05
    b, w = _fit.logistic(X, y, l2)
    ref = sklearn.LogisticRegression(C=1 / (l2 * len(y)), tol=1e-10, max_iter=10_000).fit(X, y)
    assert w == pytest.approx(ref.coef_[0], abs=1e-4) and b == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_auc_counts_ties_half():
    assert _fit.auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert _fit.auc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert _fit.auc([3, 1, 2], [True, False, False]) == 1.0
