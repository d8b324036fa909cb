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
