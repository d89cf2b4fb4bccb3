"""Cohorts: accounts that share two popular pieces of evidence far more often than their popularity gives.

A ring that buys its cards from a few issuers nobody else uses and makes all its accounts
within hours leaves each account one BIN and one creation hour, each shared by hundreds:
too popular to project into the account graph, and a block of one or two columns per
account is not dense. Yet a BIN whose users were nearly all made in the same hours is
surprising against the background: chance puts ``users(a) * users(b) / N`` accounts on
both, and hundreds are. Each such pair of items is a cohort; cohorts that share an item
(a ring's five BINs and its three creation hours) make one cluster, cut where it is groups
that only touch (a company whose seats pay from a BIN a ring bought from), which scoring
judges like any other. Only infrastructure and creation count: templates are shared tooling,
and a card implies its BIN, an address its subnet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import poisson

from .clustering import split_touching_blocks
from .graph import EvidenceGraph

__all__ = ["cohort_clusters", "COHORT_KINDS"]

#: The evidence cohorts are looked for in.
COHORT_KINDS = ("bin", "created", "subnet", "link")
#: Items shared by fewer accounts are left to the projection and the dense blocks.
COHORT_POPULAR = 25
#: A cohort's accounts are at least this many times what chance puts on both items.
COHORT_LIFT = 20.0
#: ... and chance (Poisson) gives as many at most this often.
COHORT_CHANCE = 1e-12


def cohort_clusters(graph: EvidenceGraph, labels: np.ndarray, taken: np.ndarray, min_size: int, seed: int = 0) -> np.ndarray:
    """New cluster labels: the accounts ``taken`` leaves free that share a cohort's two items become one cluster
    per group of cohorts tied by a shared item, when there are ``min_size`` of them, cut where it is groups that
    only touch (:func:`.clustering.split_touching_blocks`); every other account keeps its label."""
    if graph.shared is None:
        return labels
    pairs = _item_pairs(graph, taken)
    if len(pairs) == 0:
        return labels
    cohorts = _surprising(pairs, graph.evidence["degree"].to_numpy(), graph.n_accounts)
    if len(cohorts) == 0:
        return labels
    new = _clusters(pairs, cohorts, labels, len(graph.evidence), min_size)
    return split_touching_blocks(graph, new, new != labels, min_size, seed)


def _item_pairs(graph: EvidenceGraph, taken: np.ndarray) -> pd.DataFrame:
    """Per free account, each pair of its popular items one of which the projection leaves out as a hub
    (columns account, a, b; a hub pair once, with a < b)."""
    account, item = graph.shared
    kind = graph.evidence["kind"].to_numpy()
    degree = graph.evidence["degree"].to_numpy()
    hub = graph.evidence["hub"].to_numpy(dtype=bool)
    usable = np.isin(kind, COHORT_KINDS) & (degree >= COHORT_POPULAR)
    keep = usable[item] & ~taken[account]
    rows = pd.DataFrame({"account": account[keep].astype(np.int64), "b": item[keep].astype(np.int64)})
    hubs = rows[hub[rows["b"].to_numpy()]].rename(columns={"b": "a"})
    pairs = hubs.merge(rows, on="account")
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    once = (a != b) & (~hub[b] | (a < b))
    return pairs[once].reset_index(drop=True)


def _surprising(pairs: pd.DataFrame, degree: np.ndarray, n_accounts: int) -> pd.DataFrame:
    """The item pairs far more accounts share than chance gives (columns a, b)."""
    counts = pairs.groupby(["a", "b"]).size().rename("both").reset_index()
    expected = degree[counts["a"].to_numpy()] * degree[counts["b"].to_numpy()] / n_accounts
    both = counts["both"].to_numpy()
    many = (both >= COHORT_POPULAR) & (both >= COHORT_LIFT * expected)
    rows = np.flatnonzero(many)
    many[rows] = poisson.sf(both[rows] - 1, expected[rows]) <= COHORT_CHANCE
    return counts.loc[many, ["a", "b"]]


def _clusters(pairs: pd.DataFrame, cohorts: pd.DataFrame, labels: np.ndarray, n_items: int, min_size: int) -> np.ndarray:
    """Cohorts tied by a shared item are one group; each group's accounts of ``min_size`` or more a new cluster
    (an account in cohorts of two groups goes to the first)."""
    hit = pairs.merge(cohorts, on=["a", "b"])
    # components over items: a cohort ties its two items
    a, b = cohorts["a"].to_numpy(), cohorts["b"].to_numpy()
    ties = coo_matrix((np.ones(len(a)), (a, b)), shape=(n_items, n_items))
    _, component = connected_components(ties, directed=False)
    group = pd.Series(component[hit["a"].to_numpy()], index=hit["account"].to_numpy())
    group = group[~group.index.duplicated()]
    sizes = group.value_counts()
    group = group[group.map(sizes).to_numpy() >= min_size]
    new = labels.copy()
    if len(group) == 0:
        return new
    _, number = np.unique(group.to_numpy(), return_inverse=True)
    new[group.index.to_numpy()] = int(labels.max(initial=-1)) + 1 + number
    return new
