"""The division of the account graph into pieces (no Spark needed: the partition is NumPy over an edge list)."""

from __future__ import annotations

import numpy as np
import pytest

from graphsleuth.spark.partition import divide


def _clique(accounts, weight):
    a, b = np.triu_indices(len(accounts), 1)
    return np.asarray(accounts)[a], np.asarray(accounts)[b], np.full(len(a), weight)


def _graph(rings, chain_weight=0.2):
    """Dense rings (heavy edges inside) chained into one component by light edges between them."""
    src, dst, w, start = [], [], [], 0
    for size, weight in rings:
        s, d, x = _clique(range(start, start + size), weight)
        src.append(s), dst.append(d), w.append(x)
        start += size
    firsts = np.cumsum([0] + [size for size, _ in rings[:-1]])
    src.append(firsts[:-1]), dst.append(firsts[1:]), w.append(np.full(len(firsts) - 1, chain_weight))
    return np.concatenate(src), np.concatenate(dst), np.concatenate(w), start


def test_components_small_enough_stay_whole_and_nothing_is_cut():
    src, dst, w, n = _graph([(10, 2.0), (12, 1.5)])
    found = divide(src, dst, w, n + 5, max_share=1.0, min_edges=0)
    assert found.cut_edge_share == 0 and found.pieces == 1
    assert (found.piece[n:] == -1).all(), "accounts linked to nobody belong to no piece"


def test_a_giant_component_is_cut_at_its_weakest_ties_and_every_ring_stays_whole():
    rings = [(30, 2.0), (25, 1.2), (40, 0.9), (20, 3.0), (35, 1.0)]
    src, dst, w, n = _graph(rings)
    largest_ring_edges = 40 * 39 / 2
    found = divide(src, dst, w, n, max_share=(largest_ring_edges + 1) / len(w), min_edges=0)
    assert found.max_edge_share <= (largest_ring_edges + 1) / len(w)
    assert found.oversized == 0
    start = 0
    for size, _ in rings:
        assert len(set(found.piece[start : start + size])) == 1, "a ring was split although it fits in one piece"
        start += size
    assert found.cut_weight_share < 0.01, "only the light chain between rings is cut"


def test_a_ring_larger_than_the_cap_comes_out_in_pieces_none_above_the_cap():
    src, dst, w, n = _graph([(80, 1.0), (10, 2.0)])
    cap = 0.2
    found = divide(src, dst, w, n, max_share=cap, min_edges=0)
    assert found.max_edge_share <= cap
    assert found.oversized == 0
    assert len(set(found.piece[:80])) >= 2, "the large ring is divided"
    assert len(set(found.piece[80:])) == 1, "the small ring beside it stays whole"


def test_min_edges_keeps_small_graphs_whole():
    src, dst, w, n = _graph([(30, 2.0), (30, 2.0)])
    assert divide(src, dst, w, n, max_share=0.01, min_edges=10_000).pieces == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_linked_account_is_in_exactly_one_piece(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    src = rng.integers(0, n, 20_000)
    dst = rng.integers(0, n, 20_000)
    keep = src != dst
    src, dst = np.minimum(src, dst)[keep], np.maximum(src, dst)[keep]
    w = rng.exponential(0.7, len(src))
    found = divide(src, dst, w, n, max_share=0.05, min_edges=0)
    linked = np.zeros(n, bool)
    linked[src], linked[dst] = True, True
    assert ((found.piece >= 0) == linked).all()
    assert found.max_edge_share <= 0.05
    assert 0 < found.cut_edge_share < 1
