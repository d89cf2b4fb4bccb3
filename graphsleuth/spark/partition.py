"""Dividing the account graph into pieces that executors can cluster one by one.

CPM Leiden decomposes exactly over connected components: clustering each component alone
gives what clustering the whole graph gives. But the projected account graph is one giant
component (99.9% of the linked accounts at 100k, 97% at 1M): shared proxies, subnets, BINs and
creation hours chain everybody to everybody through weak ties. So:

1. Components that hold at most ``max_share`` of all edges are pieces as they are (exact).
2. A larger component is coarsened the way multilevel graph partitioners coarsen (heavy-edge
   matching, as in METIS), with a cap: every account starts as a piece of its own, each round
   every piece picks the neighbouring piece it is tied to most heavily (the summed weight of
   the edges between them), and the pieces so chained merge when the result stays within the
   cap; where it would not, only pairs that picked each other merge. Rounds go on until no
   piece can merge. Pieces grow along the heaviest ties first: a ring's members, tied by cards,
   devices, lockstep tokens and creation bursts several times over, end up together long
   before the weak ties between strangers are reached, and the ties left between pieces are
   the lightest (CPM asks a cluster for ``resolution``, 0.35, of evidence weight per pair).

Every edge inside a piece, light ones included, goes to Leiden; edges between pieces are the
only ones lost. A ring larger than the cap comes out in a few pieces, which detection's ring
joining puts together as it does Leiden's own pieces of large rings. With ``max_share`` 1 the
division is plain components (the giant-component fallback: one executor clusters the giant;
give it the memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["Partition", "divide", "MAX_PIECE_SHARE", "MIN_PIECE_EDGES"]

#: The largest share of all edges one piece may hold before it is cut further.
MAX_PIECE_SHARE = 0.05
#: A piece is never cut below this many edges: one task clusters it in about a second.
MIN_PIECE_EDGES = 100_000
#: Rounds of coarsening at most...
MAX_ROUNDS = 60
#: ...and coarsening stops once a round merges fewer than this share of the pieces.
SETTLED = 0.001


@dataclass
class Partition:
    """The piece of every account (-1: linked to nobody) and what the division cost.

    ``piece`` has one entry per account. Figures: how many pieces hold edges, the largest
    piece's share of all edges and of the linked accounts, the share of edges (and of their
    weight) between pieces (lost to the clustering), the rounds of coarsening, and the pieces still over the cap.
    """

    piece: np.ndarray
    pieces: int
    max_edge_share: float
    max_account_share: float
    cut_edge_share: float
    cut_weight_share: float
    rounds: int
    oversized: int

    def to_dict(self) -> dict:
        return {
            "pieces": self.pieces,
            "max_edge_share": round(self.max_edge_share, 4),
            "max_account_share": round(self.max_account_share, 4),
            "cut_edge_share": round(self.cut_edge_share, 4),
            "cut_weight_share": round(self.cut_weight_share, 4),
            "rounds": self.rounds,
            "oversized": self.oversized,
        }


def _components(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def divide(
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    n_accounts: int,
    max_share: float = MAX_PIECE_SHARE,
    min_edges: int = MIN_PIECE_EDGES,
) -> Partition:
    """Divide the account graph (edges ``src``-``dst`` with ``weight``) into pieces of at most ``max_share`` of its
    edges (but never fewer than ``min_edges``), as the module's docstring says."""
    src, dst, weight = np.asarray(src, np.int64), np.asarray(dst, np.int64), np.asarray(weight, float)
    n_edges = len(weight)
    linked = np.zeros(n_accounts, dtype=bool)
    linked[src] = True
    linked[dst] = True
    piece = _components(src, dst, n_accounts)
    max_edges = max(int(max_share * n_edges), int(min_edges), 1)
    per_piece = np.bincount(piece[src], minlength=n_accounts)
    big = per_piece > max_edges
    rounds = 0
    if big.any():
        inside_big = big[piece[src]]
        coarse, rounds = _coarsen(src[inside_big], dst[inside_big], weight[inside_big], n_accounts, max_edges)
        in_big = big[piece]
        piece = np.where(in_big, n_accounts + coarse, piece)  # coarsened pieces numbered after the components
        piece = pd.factorize(pd.Series(piece))[0].astype(np.int64)
    return _figures(src, dst, weight, piece, linked, rounds, max_edges)


def _coarsen(src, dst, weight, n: int, max_edges: int) -> tuple[np.ndarray, int]:
    """Heavy-edge coarsening with a cap (the module's docstring, step 2): the piece of each of ``n`` accounts, and the
    rounds run. Each round works on the ties between pieces, summed (far fewer rows than edges after a few rounds)."""
    piece = np.arange(n, dtype=np.int64)  # each account's piece
    inner = np.zeros(n)  # edges inside each piece
    pa, pb, w, count = _summed_pairs(np.minimum(src, dst), np.maximum(src, dst), weight, np.ones(len(src)))
    rounds = 0
    while rounds < MAX_ROUNDS and len(pa):
        rounds += 1
        target = _merge_round(pa, pb, w, count, inner, len(inner), max_edges)
        if target is None:
            break
        new, _ = pd.factorize(pd.Series(target))
        new = new.astype(np.int64)
        n_new = int(new.max()) + 1
        if len(inner) - n_new < SETTLED * len(inner):
            break  # the round merged next to nothing: what is left ties pieces that are full
        piece = new[piece]
        a, b = new[pa], new[pb]
        merged = a == b
        inner = np.bincount(new, weights=inner, minlength=n_new) + np.bincount(a[merged], weights=count[merged], minlength=n_new)
        keep = ~merged
        pa, pb, w, count = _summed_pairs(np.minimum(a, b)[keep], np.maximum(a, b)[keep], w[keep], count[keep])
    return piece, rounds


def _summed_pairs(a, b, w, count):
    """Ties between the same two pieces summed: (a, b, summed weight, summed edge count), a < b."""
    if len(a) == 0:
        return a, b, w, count
    frame = pd.DataFrame({"a": a, "b": b, "w": w, "c": count}).groupby(["a", "b"], sort=False)[["w", "c"]].sum()
    return (
        frame.index.get_level_values(0).to_numpy(np.int64),
        frame.index.get_level_values(1).to_numpy(np.int64),
        frame["w"].to_numpy(float),
        frame["c"].to_numpy(float),
    )


def _merge_round(pa, pb, w, count, inner, n: int, max_edges: int) -> np.ndarray | None:
    """One round: the piece each piece merges into (a name per piece; None when nothing can merge)."""
    fits = inner[pa] + inner[pb] + count <= max_edges
    if not fits.any():
        return None
    x = np.concatenate([pa[fits], pb[fits]])
    y = np.concatenate([pb[fits], pa[fits]])
    wy = np.concatenate([w[fits], w[fits]])
    order = np.lexsort((y, -wy, x))
    x, y = x[order], y[order]
    first = np.r_[True, x[1:] != x[:-1]]
    best = np.full(n, -1, dtype=np.int64)
    best[x[first]] = y[first]
    chooser = np.flatnonzero(best >= 0)
    # the chains of choices merge whole where the result stays within the cap...
    group = _components(chooser, best[chooser], n)
    size = np.bincount(group, weights=inner, minlength=n)
    same = group[pa] == group[pb]
    size += np.bincount(group[pa[same]], weights=count[same], minlength=n)
    whole = size <= max_edges
    target = np.arange(n, dtype=np.int64)
    chained = chooser[whole[group[chooser]]]
    target[chained] = n + group[chained]
    # ...elsewhere only pieces that chose each other
    rest = chooser[~whole[group[chooser]]]
    mutual = rest[(best[best[rest]] == rest) & (rest < best[rest])]
    target[best[mutual]] = mutual
    if len(chained) == 0 and len(mutual) == 0:
        return None
    return target


def _figures(src, dst, weight, piece, linked, rounds, max_edges) -> Partition:
    n_edges = len(weight)
    inside = piece[src] == piece[dst]
    per_piece = np.bincount(piece[src][inside], minlength=int(piece.max(initial=0)) + 1)
    accounts = np.bincount(piece[linked], minlength=len(per_piece))
    out = np.full(len(piece), -1, dtype=np.int64)
    out[linked] = piece[linked]
    total_weight = float(weight.sum())
    return Partition(
        piece=out,
        pieces=int((per_piece > 0).sum()),
        max_edge_share=float(per_piece.max(initial=0) / max(n_edges, 1)),
        max_account_share=float(accounts.max(initial=0) / max(int(linked.sum()), 1)),
        cut_edge_share=float((~inside).sum() / max(n_edges, 1)),
        cut_weight_share=float(weight[~inside].sum() / total_weight) if total_weight > 0 else 0.0,
        rounds=rounds,
        oversized=int((per_piece > max_edges).sum()),
    )
