"""The dense-block view turned into clusters that scoring judges like any other.

:mod:`.dense_blocks` finds groups of accounts that share far more
infrastructure than chance gives, on the account x evidence graph itself:
evidence shared by hundreds (a BIN a ring bought its cards from, a proxy
subnet) counts without being projected. Templates are left out, as when
pieces are joined into rings (:mod:`.rings`): operators share tooling, and
prompt content alone must not make a ring.

Each block's accounts that no flagged ring holds yet become a cluster of their
own, cut where it is two groups that only touch (two operators buying from the
same popular BINs peel to one block, as dense as either); scoring then decides,
on the same features and model as for Leiden's clusters, whether it is a ring.
"""

from __future__ import annotations

import numpy as np

from .clustering import split_touching_blocks
from .dense_blocks import find_dense_blocks
from .graph import EvidenceGraph

__all__ = ["block_clusters", "BLOCK_KINDS"]

#: The evidence the dense blocks are looked for in: infrastructure. Templates are shared tooling, and
#: lockstep tokens of a template several operators send can fall in the same hours by their schedules'
#: chance; clusters find the rings that share nothing but their waves.
BLOCK_KINDS = ("card", "bin", "ip", "subnet", "link")


def block_clusters(graph: EvidenceGraph, labels: np.ndarray, taken: np.ndarray, min_size: int, seed: int = 0) -> np.ndarray:
    """New cluster labels: the accounts of each dense block that ``taken`` (one flag per account) leaves free
    become a cluster (or several, :func:`split_touching_blocks`), when there are ``min_size`` of them; every
    other account keeps its label."""
    if graph.shared is None:
        return labels
    account, item = graph.shared
    kinds = graph.evidence["kind"].to_numpy()
    keep = np.isin(kinds, BLOCK_KINDS)[item]
    found = find_dense_blocks(
        account[keep].astype(np.int64), item[keep].astype(np.int64), graph.n_accounts, len(kinds), min_accounts=min_size, seed=seed
    )
    new = labels.copy()
    next_label = int(labels.max(initial=-1)) + 1
    for block in found.blocks:
        free = block.accounts[~taken[block.accounts]]
        if len(free) >= min_size:
            new[free] = next_label
            next_label += 1
    return split_touching_blocks(graph, new, new != labels, min_size, seed)
