"""Community detection on the account graph.

Leiden with the Constant Potts Model (CPM) is the default. CPM asks each
cluster to be denser than a fixed ``resolution`` in evidence weight per pair
of accounts, whatever the size of the whole graph, so a ring of 40 accounts
is found as readily in a million accounts as in five thousand; modularity's
resolution limit merges or misses small rings as the graph grows.
Louvain (modularity), connected components and label propagation are
available for comparison.
"""

from __future__ import annotations

import random

import igraph as ig
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, reverse_cuthill_mckee

from ..interrupts import interrupts_deferred
from .graph import EvidenceGraph
from .rings import rejoined_by_chance

__all__ = ["ALGORITHMS", "DEFAULT_RESOLUTION", "find_clusters", "find_communities", "split_merged_rings", "split_touching_blocks"]

ALGORITHMS = ("leiden", "louvain", "components", "label_propagation")
#: Evidence weight per pair of accounts a cluster must exceed to hold together.
DEFAULT_RESOLUTION = 0.35
#: The finer resolution at which a cluster is checked for rings that were merged.
SPLIT_RESOLUTION = 1.0
#: Two parts stay apart when the density between them is below this share of the sparser part's own.
SEPARATION = 0.5


def _edge_pairs(source: np.ndarray, target: np.ndarray, chunk: int = 500_000):
    """The edges as (int, int) tuples, made a chunk at a time.

    igraph reads a NumPy edge array element by element through Python objects
    (13 s and 2.5 GB for 12 million edges); tuples of plain ints from a lazy
    iterator take 5 s and a quarter of the memory.
    """
    for start in range(0, len(source), chunk):
        yield from zip(source[start : start + chunk].tolist(), target[start : start + chunk].tolist())


def _linked_accounts(graph: EvidenceGraph) -> np.ndarray:
    """:func:`_order_linked_accounts`, worked out once per graph however many groupings ask."""
    return graph.derived("linked_accounts", lambda: _order_linked_accounts(graph))


def _order_linked_accounts(graph: EvidenceGraph) -> np.ndarray:
    """The accounts that share evidence with another, numbered so that linked accounts sit close together.

    An account with no edge is a cluster of its own whatever the algorithm (no
    objective gains from putting it with accounts it shares nothing with), so
    the algorithms never see it: a fifth of the accounts of a 1M population.
    The others are put in reverse Cuthill-McKee order, which numbers each
    account's neighbours close to it and to each other: Leiden looks up the
    clusters of a node's neighbours in random node order, and with neighbours
    side by side those reads share cache lines. Leiden at 1M took 14.2 s on the
    linked accounts in this order, 15.4 s in account order, and 17.2 s with the
    unlinked accounts too.
    """
    linked = np.zeros(graph.n_accounts, dtype=bool)
    linked[graph.source] = True
    linked[graph.target] = True
    accounts = np.flatnonzero(linked)
    if len(accounts) == 0:
        return accounts
    local = _numbering(accounts, graph.n_accounts)
    u, v = local[graph.source], local[graph.target]
    n = len(accounts)
    adjacency = csr_matrix((np.ones(2 * len(u), dtype=np.int8), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
    return accounts[reverse_cuthill_mckee(adjacency, symmetric_mode=True)]


def _numbering(accounts: np.ndarray, n_accounts: int) -> np.ndarray:
    """Each account's position in ``accounts`` (-1 where it is not there)."""
    local = np.full(n_accounts, -1, dtype=np.int64)
    local[accounts] = np.arange(len(accounts))
    return local


def _igraph(graph: EvidenceGraph, accounts: np.ndarray) -> ig.Graph:
    """The account graph on ``accounts`` (which must hold every edge's ends), node i being ``accounts[i]``."""
    local = _numbering(accounts, graph.n_accounts)
    g = ig.Graph(n=len(accounts), edges=_edge_pairs(local[graph.source], local[graph.target]), directed=False)
    g.es["weight"] = graph.weight
    return g


def _for_every_account(labels: np.ndarray, accounts: np.ndarray, n_accounts: int) -> np.ndarray:
    """Cluster numbers found for ``accounts`` spread over all accounts; each other account alone after them."""
    out = np.empty(n_accounts, dtype=np.int64)
    alone = np.ones(n_accounts, dtype=bool)
    alone[accounts] = False
    out[accounts] = labels
    out[alone] = int(labels.max(initial=-1)) + 1 + np.arange(int(alone.sum()))
    return out


def find_clusters(
    graph: EvidenceGraph,
    algorithm: str = "leiden",
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
    split_resolution: float | None = SPLIT_RESOLUTION,
) -> np.ndarray:
    """A cluster number for every account (accounts with no evidence in common get their own).

    With Leiden, each cluster found at ``resolution`` is checked at the finer
    ``split_resolution``: parts that are much denser inside than between them
    are separate rings that happen to touch, and are split; parts of one
    uniformly dense ring are kept together (see :func:`split_merged_rings`).

    ``seed`` seeds igraph's random number generator for this call only, so
    runs are reproducible without touching the caller's random state.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    accounts = _linked_accounts(graph)
    with interrupts_deferred():  # igraph's C code throughout: building the graph, Leiden, subgraphs
        g = _igraph(graph, accounts)
        coarse = _run(g, algorithm, resolution, seed)
        if algorithm == "leiden" and split_resolution:
            fine = _finer(g, coarse, split_resolution, seed)
    coarse = _for_every_account(coarse, accounts, graph.n_accounts)
    if algorithm != "leiden" or not split_resolution:
        return coarse
    fine_everywhere = -1 - coarse  # the unlinked accounts are too small to split, like other small clusters
    fine_everywhere[accounts] = fine
    return split_merged_rings(graph, coarse, fine_everywhere)


def find_communities(graph: EvidenceGraph, seed: int = 0) -> np.ndarray:
    """A community number for every account under modularity (accounts with no evidence in common get their own).

    Leiden under CPM (:func:`find_clusters`) holds a cluster together only where its evidence per pair of
    accounts exceeds the resolution, and the projection gives each account a bounded weight: a ring of thousands
    tied sparsely by proxies of its own (each account on three or four of 410 addresses that fifty of its
    accounts share) comes out in pieces of eight, each too small to show what the ring shows. Modularity weighs
    a group's ties against what its accounts' own ties predict: a ring whose ties stay among its accounts is one
    community however sparse they are.
    """
    accounts = _linked_accounts(graph)
    with interrupts_deferred():
        communities = _run(_igraph(graph, accounts), "modularity", 1.0, seed)
    return _for_every_account(communities, accounts, graph.n_accounts)


def _finer(g: ig.Graph, coarse: np.ndarray, resolution: float, seed: int, min_size: int = 20) -> np.ndarray:
    """Leiden at a finer resolution, run only where it can split something: clusters of ``min_size``+."""
    sizes = np.bincount(coarse)
    inside = np.flatnonzero(sizes[coarse] >= min_size)
    fine = -1 - coarse  # smaller clusters stay as they are (negative labels never meet Leiden's)
    if len(inside):
        fine[inside] = _run(g.induced_subgraph(inside.tolist()), "leiden", resolution, seed)
    return fine


def split_merged_rings(graph: EvidenceGraph, coarse: np.ndarray, fine: np.ndarray, separation: float = SEPARATION) -> np.ndarray:
    """Refine ``coarse`` clusters by ``fine`` ones, merging back parts that are not well separated.

    Parts are the intersections of coarse and fine clusters. Two parts of the
    same coarse cluster are merged when the evidence weight per pair between
    them reaches ``separation`` times the density inside the sparser of the
    two (a single account counts as dense as the part it joins).
    """
    # (coarse, fine) pairs as one integer each: fine labels run from -1 - max(coarse) up
    offset = int(coarse.max(initial=0)) + 1
    part, _ = pd.factorize(coarse.astype(np.int64) * (offset + int(fine.max(initial=0)) + 1) + (fine + offset))
    n_parts = part.max() + 1
    size = np.bincount(part, minlength=n_parts).astype(float)
    pu, pv = part[graph.source], part[graph.target]
    same_coarse = coarse[graph.source] == coarse[graph.target]
    inside = pu == pv
    within = np.bincount(pu[inside], weights=graph.weight[inside], minlength=n_parts)
    pairs_inside = size * (size - 1) / 2
    density = np.divide(within, pairs_inside, out=np.full(n_parts, np.inf), where=pairs_inside > 0)
    between = same_coarse & ~inside
    a, b = np.minimum(pu[between], pv[between]), np.maximum(pu[between], pv[between])
    frame = pd.DataFrame({"a": a, "b": b, "w": graph.weight[between]}).groupby(["a", "b"], sort=False)["w"].sum().reset_index()
    a, b, w = frame["a"].to_numpy(), frame["b"].to_numpy(), frame["w"].to_numpy()
    cross = w / (size[a] * size[b])
    # A lone account joins the part it is tied to as densely as that part's own members are;
    # two lone accounts are never joined to each other, which would chain strangers together.
    merge = cross >= separation * np.minimum(density[a], density[b])
    adjacency = coo_matrix((np.ones(merge.sum()), (a[merge], b[merge])), shape=(n_parts, n_parts))
    _, group = connected_components(adjacency, directed=False)
    return group[part].astype(np.int64)


def _run(g: ig.Graph, algorithm: str, resolution: float, seed: int) -> np.ndarray:
    """The communities ``algorithm`` finds, igraph's random numbers seeded for this call only (``modularity``:
    Leiden under modularity, two iterations, for the cut of dense blocks; the others are :data:`ALGORITHMS`)."""
    previous = ig.set_random_number_generator(random.Random(seed))
    try:
        if algorithm == "leiden":
            parts = g.community_leiden(objective_function="CPM", weights="weight", resolution=resolution, n_iterations=1)
        elif algorithm == "modularity":
            parts = g.community_leiden(objective_function="modularity", weights="weight", n_iterations=2)
        elif algorithm == "louvain":
            parts = g.community_multilevel(weights="weight")
        elif algorithm == "components":
            parts = g.connected_components()
        else:
            parts = g.community_label_propagation(weights="weight")
    finally:
        ig.set_random_number_generator(previous if previous is not None else random)
    return np.asarray(parts.membership, dtype=np.int64)


def split_touching_blocks(graph: EvidenceGraph, labels: np.ndarray, inside: np.ndarray, min_size: int, seed: int = 0) -> np.ndarray:
    """Labels with each block of ``inside`` accounts cut where it is two or more groups that only touch.

    A dense block of the account x evidence graph can be the union of two rings that each
    hold their own cards and proxies and meet on a popular BIN: peeling keeps the union, as
    dense as either. Each block's accounts are split into their communities under modularity
    (on the ties inside the block), and communities are joined again where the ties between
    them are not far fewer than chance gives (:func:`~graphsleuth.detection.rings.rejoined_by_chance`,
    as flagged pieces are joined into rings): one ring's parts split by the BIN they paid
    with are still tied through its proxies and waves, two operators on one popular BIN
    hardly at all. Each part of ``min_size`` or more becomes a cluster of its own, and the
    rest of the block stays one.
    """
    accounts = np.flatnonzero(inside)
    if len(accounts) == 0:
        return labels
    same = inside[graph.source] & inside[graph.target] & (labels[graph.source] == labels[graph.target])
    local = _numbering(accounts, graph.n_accounts)
    u, v, weight = local[graph.source[same]], local[graph.target[same]], graph.weight[same]
    with interrupts_deferred():
        g = ig.Graph(n=len(accounts), edges=_edge_pairs(u, v), directed=False)
        g.es["weight"] = weight
        communities = _modularity_parts(g, labels[accounts], seed)
    part = rejoined_by_chance(u, v, weight, communities, within=labels[accounts])
    out = labels.copy()
    part_size = np.bincount(part)[part]
    block_size = np.bincount(labels[accounts])[labels[accounts]]
    apart = (part_size >= min_size) & (part_size < block_size)
    if apart.any():
        _, number = np.unique(part[apart], return_inverse=True)
        out[accounts[apart]] = int(labels.max(initial=-1)) + 1 + number
    return out


def _modularity_parts(g: ig.Graph, block: np.ndarray, seed: int) -> np.ndarray:
    """Each block's communities under modularity (on the block alone), numbered apart across blocks.

    Leiden with two iterations: at 1M accounts, on a block of 20,797 accounts and 1.2M ties, 3.8 s against
    Louvain's 9.2 s (Leiden run to convergence, 22 s), and the same rings on the family's 60 tuning and
    validation populations."""
    out = np.empty(g.vcount(), dtype=np.int64)
    base = 0
    for number in np.unique(block):
        nodes = np.flatnonzero(block == number)
        found = _run(g.induced_subgraph(nodes.tolist()), "modularity", 0.0, seed)
        out[nodes] = base + found
        base += int(found.max(initial=-1)) + 1
    return out
