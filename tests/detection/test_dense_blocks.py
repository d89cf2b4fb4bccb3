"""Dense blocks on account x evidence graphs: planted rings found whole, background and popular columns left out."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import poisson

from graphsleuth.detection.dense_blocks import find_dense_blocks, poisson_surprise


def background(rng, n_acc=4000, n_popular=300, n_rare=40_000, mean_deg=6):
    """Random accounts: Zipf-popular columns (templates, BINs) plus rare ones (IPs, cards)."""
    deg = rng.poisson(mean_deg, n_acc) + 1
    acc = np.repeat(np.arange(n_acc), deg)
    p = 1.0 / np.arange(1, n_popular + 1) ** 1.1
    p /= p.sum()
    popular = rng.random(len(acc)) < 0.5
    ev = np.where(popular, rng.choice(n_popular, len(acc), p=p), n_popular + rng.integers(0, n_rare, len(acc)))
    return acc, ev, n_acc, n_popular + n_rare


def plant(rng, acc, ev, n_ev, members, n_cols, fill):
    """Members share n_cols fresh columns, each edge present with probability fill."""
    a = np.repeat(members, n_cols)
    b = np.tile(np.arange(n_ev, n_ev + n_cols), len(members))
    keep = rng.random(len(a)) < fill
    return np.concatenate([acc, a[keep]]), np.concatenate([ev, b[keep]]), n_ev + n_cols


def distinct(acc, ev, n_ev):
    packed = np.unique(acc.astype(np.int64) * n_ev + ev)
    return packed // n_ev, packed % n_ev


def jaccard(x, y):
    inter = np.intersect1d(x, y).size
    return inter / (len(x) + len(y) - inter)


@pytest.fixture(scope="module")
def planted_graph():
    rng = np.random.default_rng(42)
    acc, ev, n_acc, n_ev = background(rng)
    ring = np.sort(rng.choice(n_acc, 60, replace=False))
    acc, ev, n_ev = plant(rng, acc, ev, n_ev, ring, n_cols=15, fill=0.6)
    a, e = distinct(acc, ev, n_ev)
    return a, e, n_acc, n_ev, ring


def test_planted_block_found_in_random_background(planted_graph):
    a, e, n_acc, n_ev, ring = planted_graph
    blocks = find_dense_blocks(a, e, n_acc, n_ev).blocks
    assert len(blocks) == 1, [b.size for b in blocks]
    b = blocks[0]
    assert jaccard(b.accounts, ring) >= 0.95
    assert np.setdiff1d(b.accounts, ring).size == 0  # no background account pulled in
    assert set(b.evidence.tolist()) <= set(range(n_ev - 15, n_ev))  # only the ring's own columns
    assert b.score > 50 and b.lift > 20 and b.null_ratio > 1.5


def test_nothing_found_in_pure_background():
    rng = np.random.default_rng(7)
    acc, ev, n_acc, n_ev = background(rng)
    a, e = distinct(acc, ev, n_ev)
    res = find_dense_blocks(a, e, n_acc, n_ev)
    assert res.blocks == []
    assert res.null_density > 0


def test_column_shared_by_everyone_is_not_a_block(planted_graph):
    a, e, n_acc, n_ev, ring = planted_graph
    everyone = n_ev  # e.g. the default system-prompt template: every account uses it
    a2 = np.concatenate([a, np.arange(n_acc)])
    e2 = np.concatenate([e, np.full(n_acc, everyone)])
    blocks = find_dense_blocks(a2, e2, n_acc, n_ev + 1).blocks
    assert len(blocks) == 1
    assert everyone not in blocks[0].evidence
    assert jaccard(blocks[0].accounts, ring) >= 0.95
    # alone (no ring), the universal column yields nothing
    rng = np.random.default_rng(3)
    acc, ev, n_acc2, n_ev2 = background(rng)
    acc = np.concatenate([acc, np.arange(n_acc2)])
    ev = np.concatenate([ev, np.full(n_acc2, n_ev2)])
    a3, e3 = distinct(acc, ev, n_ev2 + 1)
    assert find_dense_blocks(a3, e3, n_acc2, n_ev2 + 1).blocks == []


def test_popular_columns_do_not_merge_separate_rings():
    """Three rings that also all use the same few popular templates come out as three blocks."""
    rng = np.random.default_rng(11)
    acc, ev, n_acc, n_ev = background(rng)
    rings = np.split(rng.choice(n_acc, 40 + 80 + 160, replace=False), [40, 120])
    for members, cols in zip(rings, (10, 14, 20)):
        acc, ev, n_ev = plant(rng, acc, ev, n_ev, np.sort(members), cols, 0.6)
        acc = np.concatenate([acc, np.repeat(members, 3)])  # camouflage: the 3 most popular templates
        ev = np.concatenate([ev, np.tile([0, 1, 2], len(members))])
    a, e = distinct(acc, ev, n_ev)
    blocks = find_dense_blocks(a, e, n_acc, n_ev).blocks
    assert len(blocks) == 3
    for members in rings:
        assert max(jaccard(b.accounts, members) for b in blocks) >= 0.95


def test_deterministic_and_edge_order_invariant(planted_graph):
    a, e, n_acc, n_ev, ring = planted_graph
    r1 = find_dense_blocks(a, e, n_acc, n_ev)
    r2 = find_dense_blocks(a, e, n_acc, n_ev)
    assert r1.null_density == r2.null_density
    assert len(r1.blocks) == len(r2.blocks)
    for x, y in zip(r1.blocks, r2.blocks):
        assert np.array_equal(x.accounts, y.accounts) and np.array_equal(x.evidence, y.evidence)
        assert x.density == y.density and x.score == y.score
    order = np.random.default_rng(5).permutation(len(a))
    r3 = find_dense_blocks(a[order], e[order], n_acc, n_ev)
    assert [b.accounts.tolist() for b in r3.blocks] == [b.accounts.tolist() for b in r1.blocks]


def test_poisson_surprise_matches_the_exact_tail():
    assert poisson_surprise(3, 5.0) == 0.0
    for k, mu in [(50, 1.0), (12, 2.5), (400, 30.0)]:
        assert poisson_surprise(k, mu) == pytest.approx(-poisson.logsf(k - 1, mu) / np.log(10), rel=0.02)


def test_input_checks():
    with pytest.raises(ValueError):
        find_dense_blocks(np.array([0, 5]), np.array([0, 1]), 3, 2)
    with pytest.raises(ValueError):
        find_dense_blocks(np.array([0, 1]), np.array([0]), 3, 2)
    assert find_dense_blocks(np.zeros(0, np.int64), np.zeros(0, np.int64), 3, 2).blocks == []
