"""The account projection's sorting helpers give exactly what the plain NumPy calls give.

Leiden notices a difference in the 15th digit of one edge weight, so the fast paths must
be identical to the last bit, or the rings a user gets would change with the speed-up.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsleuth.detection.graph import _shuffled_groups, _summed_by_key

groups = st.lists(st.integers(min_value=0, max_value=40), min_size=0, max_size=300)


@settings(max_examples=60, deadline=None)
@given(groups, st.integers(min_value=0, max_value=2**32 - 1))
def test_shuffled_groups_is_lexsort_by_group_then_shuffle(group, seed):
    group = np.asarray(group, dtype=np.int64)
    shuffle = np.random.default_rng(seed).random(len(group))
    assert np.array_equal(_shuffled_groups(group, shuffle), np.lexsort((shuffle, group)))


@settings(max_examples=60, deadline=None)
@given(groups, st.integers(min_value=0, max_value=2**32 - 1))
def test_shuffled_groups_with_tied_shuffles_is_still_lexsort(group, seed):
    group = np.asarray(group, dtype=np.int64)
    shuffle = np.random.default_rng(seed).choice([0.125, 0.5, 0.875], len(group))
    assert np.array_equal(_shuffled_groups(group, shuffle), np.lexsort((shuffle, group)))


def test_shuffled_groups_beyond_the_packed_range_still_sorts():
    group = np.array([1 << 23, 5, 1 << 24, 5], dtype=np.int64)
    shuffle = np.array([0.5, 0.9, 0.1, 0.2])
    assert _shuffled_groups(group, shuffle).tolist() == [3, 1, 0, 2]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=0, max_size=400), st.integers(min_value=0, max_value=2**32 - 1))
def test_summed_by_key_is_unique_and_bincount_to_the_last_bit(keys, seed):
    keys = np.asarray(keys, dtype=np.int64)
    weights = np.random.default_rng(seed).random(len(keys)) * 10.0 ** np.random.default_rng(seed + 1).integers(-3, 4, len(keys))
    unique, summed = _summed_by_key(keys, weights)
    expected_keys, inverse = np.unique(keys, return_inverse=True)
    assert np.array_equal(unique, expected_keys)
    assert summed.tobytes() == np.bincount(inverse, weights=weights, minlength=len(expected_keys)).tobytes()


def test_graph_is_the_same_whether_reading_found_the_account_positions_or_not(tmp_path):
    """Reading keeps each row's account position and the graph's threads share it; looked up afresh, the graph must not change."""
    from graphsleuth.detection.graph import build_evidence_graph
    from graphsleuth.evidence import read_evidence
    from graphsleuth.synth import generate

    folder = tmp_path / "population"
    generate("demo", seed=3, out=folder, accounts=3000, force=True)
    kept = build_evidence_graph(read_evidence(folder), seed=1)
    fresh_evidence = read_evidence(folder)
    fresh_evidence._positions.clear()
    fresh = build_evidence_graph(fresh_evidence, seed=1)
    assert len(kept.weight) > 1000
    for name in ("source", "target", "weight"):
        assert getattr(kept, name).tobytes() == getattr(fresh, name).tobytes(), name
    assert kept.links.equals(fresh.links) and kept.evidence.equals(fresh.evidence)
