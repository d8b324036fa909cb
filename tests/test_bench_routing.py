"""The routing figures of bench/bench_escalation.py: ties in expectation, and the gain order as the bound."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from bench_escalation import routing, routing_ties  # noqa: E402

outcomes = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=30)


def test_a_tied_group_counts_at_its_mean():
    # Two tasks tie at the top: one gains (Opus only), one loses (Haiku only); sending one is worth 0.
    haiku, opus = [False, True, True], [True, False, True]
    assert routing_ties([1.0, 1.0, 0.0], haiku, opus, 1) == sum(haiku) / 3
    assert routing_ties([1.0, 1.0, 0.0], haiku, opus, 2) == sum(haiku) / 3


@given(outcomes, st.data())
def test_no_order_beats_the_gain_order(tasks, data):
    haiku, opus = [h for h, _ in tasks], [o for _, o in tasks]
    gain = [float(o) - float(h) for h, o in tasks]
    order = data.draw(st.permutations(range(len(tasks))))
    n = data.draw(st.integers(0, len(tasks)))
    x_routed = routing(order, haiku, opus, 100 * n / len(tasks))
    assert x_routed <= routing_ties(gain, haiku, opus, n) + 1e-12


@given(outcomes)
def test_distinct_keys_match_the_plain_order(tasks):
    haiku, opus = [h for h, _ in tasks], [o for _, o in tasks]
    key = [float(-i) for i in range(len(tasks))]  # no ties: task 0 first
    for n in range(len(tasks) + 1):
        assert abs(routing_ties(key, haiku, opus, n) - routing(list(range(len(tasks))), haiku, opus, 100 * n / len(tasks))) < 1e-12


# --- round 2 (--try-routing, --reach): the pure parts, on inputs whose answer is known ---

from bench_escalation import (  # noqa: E402
    aucs,
    auc_power,
    beats_random_at,
    binormal_shift,
    net_gain_by_band,
    random_share,
    within_fold_order,
)


def test_random_share_is_the_expectation_over_all_picks():
    import itertools

    haiku, opus = [True, False, False, True], [True, True, False, False]
    for n in range(5):
        picks = list(itertools.combinations(range(4), n))
        mean = sum(sum(opus[k] if k in p else haiku[k] for k in range(4)) / 4 for p in picks) / len(picks)
        assert abs(random_share(haiku, opus, n) - mean) < 1e-12


def test_beats_random_only_where_the_share_is_above_it():
    haiku, opus = [False] * 10, [True] * 5 + [False] * 5
    at_random = [random_share(haiku, opus, n) for n in (1, 2)]
    assert beats_random_at([at_random[0] + 0.01, at_random[1]], haiku, opus, xs=(10, 20)) == [10]


def test_within_fold_order_ranks_each_fold_on_its_own_scale():
    # Fold 0's scores are all far above fold 1's; by percentile, each fold's best comes first.
    key = {"a": 100.0, "b": 90.0, "c": 1.0, "d": 0.5}
    fold = {"a": 0, "b": 0, "c": 1, "d": 1}
    ids = ["a", "b", "c", "d"]
    order = [ids[n] for n in within_fold_order(key, fold, ids)]
    assert order[:2] == ["a", "c"] and order[2:] == ["b", "d"]


def test_aucs_match_the_pairwise_count_with_ties_at_half():
    scores = [0.1, 0.4, 0.4, 0.9, 0.2]
    labels = [False, True, False, True, False]
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    pairwise = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
    assert abs(float(aucs([scores], [labels])[0][0]) - pairwise) < 1e-12


def test_net_gain_by_band_counts_gains_and_losses():
    rows = net_gain_by_band([0.0, 0.0, 0.9], haiku=[False, True, True], opus=[True, False, True])
    first = rows[0]
    assert first[1:4] == (2, 1, 1) and first[4] == 0.0


def test_power_is_the_test_size_at_chance_and_rises_with_the_auc():
    assert abs(binormal_shift(0.5)) < 1e-12
    at_chance, _ = auc_power(32, 220, 0.5, draws=2000, seed=1, null_draws=4000)
    strong, _ = auc_power(32, 220, 0.75, draws=500, seed=1, null_draws=4000)
    assert 0.02 <= at_chance <= 0.08 and strong > 0.95
