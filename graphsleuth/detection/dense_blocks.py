"""Dense blocks: a second view of the evidence, beside the Leiden clusters.

Many blocks of accounts that share far more evidence (cards, BINs, IPs, /24s,
lockstep tokens, devices, phones) with one another than a random background
with the same degrees would give, found on the account x evidence graph itself
rather than on its projection, so that evidence shared by thousands (a BIN a
ring bought 800 cards from) weighs in without being projected. Greedy peeling
in the manner of Fraudar (Hooi et al., 2016), batched as in Bahmani et al.
(2012), repeated block after block as in M-Zoom and D-Cube. Pure NumPy/SciPy,
vectorised: no per-node Python.

Algorithm
---------
1. Working graph.  Columns (evidence) seen by one account cannot tie accounts and
   are dropped; degrees ``d`` and ``|E|`` below are those of the working graph.
   Each column gets Fraudar's weight ``w_b = 1 / log(d_b + 5)``.
2. Density of a node set ``S = A u B`` (Fraudar's weighted edges per node, minus a
   share ``gamma`` of what the configuration / independence background puts there)::

       g(S) = ( sum_{ab in E, a in A, b in B} w_b
                - gamma * (sum_A d_a) * (sum_B w_b d_b) / |E| ) / (|A| + |B|)

   ``gamma = 0`` is Fraudar.  ``gamma = 1`` scores the whole graph 0, but then the
   marginal gain of an account in the full graph is ``sum_b (w_b - mean w)`` over
   its edges: members of a large ring whose own columns are popular (a template
   1,000 ring accounts use) are peeled first.  ``gamma = 0.5`` (default) keeps the
   popular-column blob of heavy users down without that failure.
3. Bulk greedy peeling (Charikar / Fraudar greedy, batched as in Bahmani et al.
   2012): per pass every node whose marginal gain is below ``(1 + eps) * g`` goes,
   and at least a fraction (``coarse_fraction`` while > 50k nodes remain, then
   ``min_fraction``) of least gain.  A pass is two ``np.bincount`` plus a
   compaction of the remaining edges; O(log n / fraction) passes.
4. One round: peel the graph; take the largest stage whose density is within
   ``slack`` of the best (but not below the chance threshold); cut it into
   connected components; re-peel each component alone, keep its densest core,
   drop core columns that its accounts do not hold ``column_lift`` x above their
   background share (a popular column must not glue two rings together) and cut
   again (``refine``).  Each core with ``min_accounts`` accounts is a candidate.
5. Chance filter.  The same peeling runs once on a degree-preserving shuffle of
   the working edges; a candidate is significant if its density beats
   ``null_margin`` x the densest set found there and its Poisson surprise
   ``-log10 P(X >= edges)``, ``X ~ Poisson(sum_A d_a * sum_B d_b / |E|)``, is at
   least ``min_score``.
6. Growth.  A peeled core is only the densest part of a ring.  Each significant
   core grows by the accounts tied to its columns far above chance (>= 2 ties,
   Poisson surprise above ``log10(candidates) + expand_alpha``), then by the
   columns tied to those accounts, twice; an account joins one block only.
7. Repeat (M-Zoom / D-Cube style): the blocks' accounts leave, background peeled
   early leaves for good, and the next round peels what is left, until a round's
   best density is below the threshold or ``patience`` rounds find nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from math import lgamma, log

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import gammaln

__all__ = ["Block", "DenseBlockResult", "column_weights", "find_dense_blocks", "poisson_surprise"]


@dataclass(frozen=True)
class Block:
    """One dense block; ``accounts`` / ``evidence`` are sorted node numbers of the input."""

    accounts: np.ndarray
    evidence: np.ndarray
    density: float  # g of the block (see module docstring)
    score: float  # Poisson surprise -log10 P(edges >= observed | background)
    n_edges: int = 0
    expected_edges: float = 0.0  # sum_A d_a * sum_B d_b / |E|
    lift: float = 0.0  # n_edges / expected_edges
    weighted_lift: float = 0.0  # weighted edges / weighted expected edges
    fraudar_density: float = 0.0  # weighted edges per node, uncorrected (Fraudar's g)
    null_ratio: float = 0.0  # core density / densest set found in the shuffled background
    round: int = 0  # peeling round that found it
    core_accounts: int = 0  # the peeled core before growing
    core_evidence: int = 0
    core_density: float = 0.0  # what the chance filter judged
    significant: bool = True

    @property
    def size(self) -> int:
        return len(self.accounts)


@dataclass
class DenseBlockResult:
    """Blocks plus what the run measured."""

    blocks: list[Block]
    rejected: list[Block] = field(default_factory=list)  # candidates that failed the chance filter
    null_density: float = 0.0  # densest set the peeling found in the degree-preserving shuffle
    threshold: float = 0.0  # null_margin * null_density
    rounds: int = 0
    passes: int = 0
    seconds: float = 0.0


def column_weights(degree: np.ndarray, c: float = 5.0) -> np.ndarray:
    """Fraudar's column weights ``1 / log(degree + c)``."""
    return 1.0 / np.log(np.asarray(degree, dtype=np.float64) + c)


def poisson_surprise(observed: float, expected: float) -> float:
    """``-log10 P(X >= observed)`` for ``X ~ Poisson(expected)``, stable for huge ratios.

    Uses ``pmf(k) / (1 - mu / (k + 1))``, an upper bound of the tail for ``k > mu``
    (so the surprise is, if anything, understated).
    """
    k, mu = float(observed), float(expected)
    if k <= mu or k <= 0:
        return 0.0
    mu = max(mu, 1e-300)
    log_tail = k * log(mu) - mu - lgamma(k + 1.0) - log(1.0 - mu / (k + 1.0))
    return max(0.0, -log_tail / log(10.0))


def _log10_tail(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Vectorised :func:`poisson_surprise`."""
    k = np.asarray(k, np.float64)
    mu = np.maximum(np.asarray(mu, np.float64), 1e-300)
    out = np.zeros(np.broadcast(k, mu).shape)
    m = k > mu
    kk, mm = k[m], mu[m]
    log_tail = kk * np.log(mm) - mm - gammaln(kk + 1.0) - np.log1p(-mm / (kk + 1.0))
    out[m] = np.maximum(0.0, -log_tail / np.log(10.0))
    return out


# ----------------------------------------------------------------------------- model


@dataclass
class _Model:
    """Background (working-graph degrees, weights, |E|) and the peeling settings."""

    da: np.ndarray
    db: np.ndarray
    w: np.ndarray
    E: int
    gamma: float = 0.5
    eps: float = 0.1
    min_fraction: float = 0.02
    coarse_fraction: float = 0.25
    fine_below: int = 50_000
    column_lift: float = 2.0

    def __post_init__(self):
        self.inv_E = 1.0 / self.E
        self.wdb = self.w * self.db

    def stats(self, A, B, eb_in) -> dict:
        """Statistics of block (A, B) (global ids) whose internal edges end in columns ``eb_in``."""
        n_edges = int(len(eb_in))
        Ow = float(self.w[eb_in].sum())
        DA = float(self.da[A].sum())
        expected = DA * float(self.db[B].sum()) * self.inv_E
        expected_w = DA * float(self.wdb[B].sum()) * self.inv_E
        n = len(A) + len(B)
        return dict(
            n_edges=n_edges,
            expected_edges=expected,
            lift=n_edges / expected if expected > 0 else np.inf,
            weighted_lift=Ow / expected_w if expected_w > 0 else np.inf,
            density=(Ow - self.gamma * expected_w) / n if n else 0.0,
            fraudar_density=Ow / n if n else 0.0,
            score=poisson_surprise(n_edges, expected),
        )


# ----------------------------------------------------------------------------- peeling


@dataclass
class _Peel:
    rem_a: np.ndarray  # pass in which each account was peeled
    rem_b: np.ndarray  # ... each column
    g: np.ndarray  # density at the start of each pass
    best_pass: int
    best_g: float


def _peel(ea, eb, ua, ub, m: _Model) -> _Peel:
    """Bulk greedy peeling of the edge list (ea, eb) in compact ids; ua/ub map them to global ids.

    The stage at the start of pass p is ``{nodes with rem >= p}``.  Node and edge
    arrays are compacted every pass, so a pass costs O(remaining nodes + edges).
    """
    cda, cdb, cw = m.da[ua], m.db[ub], m.w[ub]
    na, nb = len(cda), len(cdb)
    rem_a = np.empty(na, np.int32)
    rem_b = np.empty(nb, np.int32)
    ia, ib = np.arange(na), np.arange(nb)
    wdb = cw * cdb
    ew = cw[eb]
    DA, WB = float(cda.sum()), float(wdb.sum())
    history: list[float] = []
    best_g, best_pass, p = -np.inf, 0, 0
    while len(ia) + len(ib) > 0:
        n_alive = len(ia) + len(ib)
        wdeg = np.bincount(ea, weights=ew, minlength=len(ia))
        cnt = np.bincount(eb, minlength=len(ib))
        g = (float(wdeg.sum()) - m.gamma * DA * WB * m.inv_E) / n_alive
        history.append(g)
        if g > best_g:
            best_g, best_pass = g, p
        ma = wdeg - (m.gamma * m.inv_E * WB) * cda  # marginal gains
        mb = cw * (cnt - (m.gamma * m.inv_E * DA) * cdb)
        # strict, with a tolerance: at gamma = 1 every column of the full graph sits at exactly 0
        tau = g + m.eps * abs(g) - 1e-9 * max(1.0, abs(g))
        rma = (ma < tau) | (wdeg == 0)
        rmb = (mb < tau) | (cnt == 0)
        frac = m.coarse_fraction if n_alive > m.fine_below else m.min_fraction
        need = int(np.ceil(frac * n_alive))
        n_rm = int(rma.sum()) + int(rmb.sum())
        if n_rm < need:  # also the `need` nodes of least gain (ties by position: deterministic)
            both = np.concatenate([ma, mb])
            thr = np.partition(both, need - 1)[need - 1]
            low = both < thr
            low[np.flatnonzero(both == thr)[: need - int(low.sum())]] = True
            rma |= low[: len(ma)]
            rmb |= low[len(ma) :]
        rem_a[ia[rma]] = p
        rem_b[ib[rmb]] = p
        ka, kb = ~rma, ~rmb
        keep = ka[ea] & kb[eb]
        new_a = np.cumsum(ka) - 1
        new_b = np.cumsum(kb) - 1
        ea, eb, ew = new_a[ea[keep]], new_b[eb[keep]], ew[keep]
        ia, ib, cda, cdb, cw, wdb = ia[ka], ib[kb], cda[ka], cdb[kb], cw[kb], wdb[kb]
        DA, WB = float(cda.sum()), float(wdb.sum())
        p += 1
    return _Peel(rem_a, rem_b, np.asarray(history), best_pass, float(best_g))


# ----------------------------------------------------------------------------- helpers


def _compact(ea, eb):
    """Relabel the nodes that occur in (ea, eb) to 0..n-1; returns the ids and the maps back."""
    ua, ea_c = np.unique(ea, return_inverse=True) if len(ea) < 200_000 else _unique_inverse(ea)
    ub, eb_c = np.unique(eb, return_inverse=True) if len(eb) < 200_000 else _unique_inverse(eb)
    return ea_c.astype(np.int64).ravel(), eb_c.astype(np.int64).ravel(), ua, ub


def _unique_inverse(x: np.ndarray):
    """``np.unique(x, return_inverse=True)`` for non-negative ints via a dense map (no sort)."""
    present = np.zeros(int(x.max()) + 1, bool)
    present[x] = True
    pos = np.cumsum(present) - 1
    return np.flatnonzero(present), pos[x]


def _distinct(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values; sort-based (np.unique's hash path is ~20x slower on 10M int64)."""
    x = np.sort(x)
    keep = np.empty(len(x), bool)
    keep[:1] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x[keep]


def _distinct_counts(x: np.ndarray):
    """Sorted distinct values of x and how often each occurs."""
    x = np.sort(x)
    if len(x) == 0:
        return x, np.zeros(0, np.int64)
    start = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]]))
    return x[start], np.diff(np.append(start, len(x)))


def _group(labels, n):
    """Order and slice bounds that group items by label 0..n-1."""
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n))])
    return order, bounds


def _pieces(xa, xb, min_accounts, min_evidence, model: _Model | None = None):
    """Connected components of an edge list (global ids).

    With a ``model`` (``column_lift`` > 0), columns are first kept only if the edge
    list's accounts hold at least 2 of their edges and ``column_lift`` times their
    background share ``d_b * sum_A d_a / |E|``.  Returns ([(xa, xb) of each component
    with enough accounts and columns], accounts of the other components).
    """
    if model is not None and model.column_lift > 0 and len(xa):
        ca, cb, ua, ub = _compact(xa, xb)
        cnt = np.bincount(cb, minlength=len(ub))
        mu = model.db[ub] * (float(model.da[ua].sum()) * model.inv_E)
        ok = ((cnt >= 2) & (cnt >= model.column_lift * mu))[cb]
        xa, xb = xa[ok], xb[ok]
    if len(xa) == 0:
        return [], np.zeros(0, np.int64)
    ca, cb, ua, ub = _compact(xa, xb)
    n = len(ua) + len(ub)
    adj = coo_matrix((np.ones(len(ca), np.int8), (ca, cb + len(ua))), shape=(n, n)).tocsr()
    _, lab = connected_components(adj, directed=False)
    la, lb = lab[: len(ua)], lab[len(ua) :]
    ncomp = int(lab.max()) + 1
    good = (np.bincount(la, minlength=ncomp) >= min_accounts) & (np.bincount(lb, minlength=ncomp) >= min_evidence)
    order, bounds = _group(la[ca], ncomp)
    pieces = [(xa[order[bounds[c] : bounds[c + 1]]], xb[order[bounds[c] : bounds[c + 1]]]) for c in np.flatnonzero(good)]
    return pieces, ua[~good[la]]


def _refine(xa, xb, model: _Model, min_accounts, min_evidence, depth):
    """Re-peel one piece alone, keep its densest core, filter its columns and cut it again.

    Equally dense blocks joined by a popular column peel to their union; dropping
    columns held at chance level and cutting again separates them.  Recurses
    ``depth`` levels while the core keeps shrinking.  Returns ([(xa, xb) of each
    core], accounts to retire, passes).
    """
    ca, cb, ua, ub = _compact(xa, xb)
    pl = _peel(ca, cb, ua, ub, model)
    passes = len(pl.g)
    sa, sb = pl.rem_a >= pl.best_pass, pl.rem_b >= pl.best_pass
    if sa.sum() < min_accounts or sb.sum() < min_evidence:
        return [], ua[sa], passes  # the densest part is too small: retire it, leave the rest
    keep = sa[ca] & sb[cb]
    pieces, small = _pieces(xa[keep], xb[keep], min_accounts, min_evidence, model)
    if depth <= 1 or (len(pieces) == 1 and len(pieces[0][0]) == len(xa)):
        return pieces, small, passes
    out, gone = [], [small]
    for pa, pb in pieces:
        sub, g2, p2 = _refine(pa, pb, model, min_accounts, min_evidence, depth - 1)
        out += sub if sub else [(pa, pb)]  # a piece whose own core is too small stays whole
        gone.append(g2)
        passes += p2
    return out, np.concatenate(gone), passes


def _one_round(ea, eb, model: _Model, slack, floor, prune_at, min_accounts, min_evidence, refine, depth):
    """Peel the (global-id) edge list once and cut the chosen stage into candidate cores.

    Returns (cores [(A, B, internal-edge columns)], accounts to retire, best density,
    passes, (background accounts, background columns)).  Retired: the cores' accounts
    and those of stage pieces too small to report; the rest stays for later rounds.
    Background: nodes peeled before the density first reached ``prune_at`` (later
    rounds would peel them first again).
    """
    ca, cb, ua, ub = _compact(ea, eb)
    pl = _peel(ca, cb, ua, ub, model)
    passes = len(pl.g)
    early = np.flatnonzero(pl.g >= prune_at)
    p0 = int(early[0]) if len(early) else len(pl.g)
    background = (ua[pl.rem_a < p0], ub[pl.rem_b < p0])
    # the largest stage within `slack` of the best, but never below `floor` (the chance threshold)
    target = min(pl.best_g, max(pl.best_g - slack * abs(pl.best_g), floor))
    stage = int(np.flatnonzero(pl.g >= target)[0]) if target < pl.best_g else pl.best_pass
    sa, sb = pl.rem_a >= stage, pl.rem_b >= stage
    sel = sa[ca] & sb[cb]
    pieces, _ = _pieces(ea[sel], eb[sel], min_accounts, min_evidence)
    in_piece = np.zeros(len(model.da), bool)
    for xa, _ in pieces:
        in_piece[xa] = True
    stage_acc = ua[sa]
    retire = [stage_acc[~in_piece[stage_acc]]]
    cores = []
    for xa, xb in pieces:
        if refine:
            found, gone, extra = _refine(xa, xb, model, min_accounts, min_evidence, depth)
            passes += extra
            retire.append(gone)
        else:
            found = [(xa, xb)]
        for ya, yb in found:
            A = np.unique(ya)
            cores.append((A, np.unique(yb), yb))
            retire.append(A)
    return cores, np.concatenate(retire), pl.best_g, passes, background


# ----------------------------------------------------------------------------- growth


def _attach(N, sets_other, deg, deg_other, E, alpha, fixed, allowed=None):
    """Nodes of one side significantly tied to each block's member set on the other side.

    ``N`` is the CSR adjacency from the other side (row = node of the other side,
    indices = its neighbours on this side).  Node r has ``k`` neighbours in block j's
    set against ``mu = deg[r] * sum(deg_other[set_j]) / E`` expected; it joins if
    ``k >= 2`` and ``-log10 P(Poisson(mu) >= k) >= log10(nodes with k >= 1) + alpha``
    (a Bonferroni bound over the nodes tested).  With ``allowed`` (the account side)
    only allowed nodes join, each to the block it is most surprisingly tied to;
    otherwise (columns) a node joins every block it passes for.  ``fixed[j]`` (the
    core) always stays.  Costs the edges incident to the sets, not the whole graph.
    """
    nb = len(sets_other)
    sub = N[np.concatenate(sets_other)]
    owner = np.repeat(np.repeat(np.arange(nb), [len(x) for x in sets_other]), np.diff(sub.indptr))
    keys, k = _distinct_counts(sub.indices.astype(np.int64) * nb + owner)
    r, j = keys // nb, keys % nb
    if allowed is not None:
        ok = allowed[r]
        r, j, k = r[ok], j[ok], k[ok]
    D = np.array([deg_other[x].sum() for x in sets_other])
    s = _log10_tail(k, deg[r] * D[j] / E)
    thr = np.log10(np.maximum(np.bincount(j, minlength=nb), 1)) + alpha
    ok = (k >= 2) & (s >= thr[j])
    r, j, s = r[ok], j[ok], s[ok]
    if allowed is not None and len(r):
        order = np.lexsort((j, -s))
        first = np.unique(r[order], return_index=True)[1]
        r, j = r[order[first]], j[order[first]]
    order = np.argsort(j, kind="stable")
    r, j = r[order], j[order]
    bounds = np.searchsorted(j, np.arange(nb + 1))
    return [np.union1d(fixed[b], r[bounds[b] : bounds[b + 1]]) for b in range(nb)]


def _grow(cores, X, XT, free, da, db, E, iters, alpha):
    """Grow cores (A0, B0): accounts tied to B, then columns tied to A, ``iters`` times, then accounts."""
    A0 = [a for a, _ in cores]
    B0 = [b for _, b in cores]
    allowed = free.copy()
    for a in A0:
        allowed[a] = False  # another block's core is not up for grabs
    A, B = list(A0), list(B0)
    for _ in range(iters):
        A = _attach(XT, B, da, db, E, alpha, A0, allowed)
        B = _attach(X, A, db, da, E, alpha, B0)
    A = _attach(XT, B, da, db, E, alpha, A0, allowed)
    return A, B


def _inner_columns(X, A, B):
    """Column of every edge of CSR matrix X inside block (A, B)."""
    sub = X[A]
    inb = np.zeros(X.shape[1], bool)
    inb[B] = True
    return sub.indices[inb[sub.indices]]


# ----------------------------------------------------------------------------- API


def _working_graph(account, evidence, n_accounts, n_evidence, min_column_degree):
    db_all = np.bincount(evidence, minlength=n_evidence)
    keep = db_all[evidence] >= min_column_degree
    wa, wb = account[keep], evidence[keep]
    da = np.bincount(wa, minlength=n_accounts).astype(np.float64)
    db = np.bincount(wb, minlength=n_evidence).astype(np.float64)
    return wa, wb, da, db


def find_dense_blocks(
    account: np.ndarray,
    evidence: np.ndarray,
    n_accounts: int,
    n_evidence: int,
    column_weight: np.ndarray | None = None,
    max_blocks: int = 50,
    min_accounts: int = 10,
    min_evidence: int = 2,
    *,
    gamma: float = 0.5,
    eps: float = 0.1,
    min_fraction: float = 0.02,
    coarse_fraction: float = 0.25,
    slack: float = 0.5,
    refine: bool = True,
    refine_depth: int = 2,
    column_lift: float = 2.0,
    expand: bool = True,
    expand_iters: int = 2,
    expand_alpha: float = 1.0,
    min_column_degree: int = 2,
    null: bool = True,
    null_margin: float = 1.5,
    min_score: float = 10.0,
    prune_ratio: float = 0.5,
    max_rounds: int = 200,
    patience: int = 3,
    seed: int = 0,
) -> DenseBlockResult:
    """Find many dense, chance-unlikely blocks in an account x evidence bipartite graph.

    Parameters (see the module docstring for the algorithm)
    ----------
    account, evidence : equal-length int arrays; edge i joins account[i] and
        evidence[i] (in [0, n_accounts) and [0, n_evidence)).  Edges should be
        distinct: a duplicate counts twice.
    column_weight : per-evidence weight; default ``1 / log(deg + 5)``.
    max_blocks : stop after this many significant blocks.
    min_accounts, min_evidence : smallest core reported.
    gamma : share of the background mass subtracted (0 = Fraudar's density).
    eps, min_fraction, coarse_fraction : peel per pass every node with marginal gain
        below ``(1 + eps) * density``, and at least that fraction of the nodes
        (``coarse_fraction`` while more than 50,000 remain).
    slack : cut the largest stage within ``slack`` (relative) of the round's best
        density, not below the threshold, so one round yields many blocks.
    refine, refine_depth, column_lift : re-peel each piece alone, keep its densest
        core, drop columns its accounts hold less than ``column_lift`` x their
        background share, and cut again (``refine_depth`` levels).
    expand, expand_iters, expand_alpha : grow significant cores by accounts and
        columns tied to them far above chance (Bonferroni-bounded Poisson test).
    min_column_degree : columns with fewer accounts are left out (and out of the
        background degrees).
    null, null_margin, min_score : a significant core is ``null_margin`` times
        denser than the densest set the peeling finds in a degree-preserving shuffle
        of the edges, and has Poisson surprise >= ``min_score`` (-log10 p).
    prune_ratio : accounts and columns peeled before the density reached
        ``prune_ratio`` x the threshold leave the search after the round.
    max_rounds, patience : stop after that many rounds, or ``patience`` rounds in a
        row without a significant block.
    seed : seeds the shuffle (the only randomness).

    Significant blocks come in the order found (denser rounds first); an account
    is in at most one block.
    """
    t_start = time.perf_counter()
    account = np.asarray(account, dtype=np.int64)
    evidence = np.asarray(evidence, dtype=np.int64)
    if account.shape != evidence.shape or account.ndim != 1:
        raise ValueError("account and evidence must be 1-d arrays of the same length")
    if len(account) and (account.min() < 0 or account.max() >= n_accounts):
        raise ValueError("account node numbers out of range")
    if len(evidence) and (evidence.min() < 0 or evidence.max() >= n_evidence):
        raise ValueError("evidence node numbers out of range")
    wa, wb, da, db = _working_graph(account, evidence, n_accounts, n_evidence, min_column_degree)
    E = len(wa)
    if E == 0:
        return DenseBlockResult([])
    w = column_weights(db) if column_weight is None else np.asarray(column_weight, np.float64)
    if w.shape != (n_evidence,):
        raise ValueError("column_weight must have one entry per evidence node")
    model = _Model(da, db, w, E, gamma, eps, min_fraction, coarse_fraction, 50_000, column_lift)

    # ---- chance level: the densest set the same peeling finds in a degree-preserving shuffle
    null_density = 0.0
    if null:
        packed = _distinct(wa * np.int64(n_evidence) + wb[np.random.default_rng(seed).permutation(E)])
        ca, cb, ua, ub = _compact(packed // n_evidence, packed % n_evidence)
        pl = _peel(ca, cb, ua, ub, model)
        null_density = max(pl.best_g, 0.0)
        del packed, ca, cb, ua, ub, pl
    threshold = null_margin * null_density

    # ---- rounds
    alive = np.ones(n_accounts, bool)  # still searched
    free = np.ones(n_accounts, bool)  # in no block yet (may join one when blocks grow)
    col_alive = np.ones(n_evidence, bool)
    mats: list = []  # CSR adjacency both ways, built on first growth
    found, rounds, passes, n_sig, idle = [], 0, 0, 0, 0
    ea, eb = wa, wb
    while rounds < max_rounds and n_sig < max_blocks:
        sel = alive[ea] & col_alive[eb]
        ea, eb = ea[sel], eb[sel]
        if len(ea) == 0:
            break
        cores, retire, best_g, n_pass, (bg_a, bg_b) = _one_round(
            ea, eb, model, slack, threshold, prune_ratio * threshold, min_accounts, min_evidence, refine, refine_depth
        )
        rounds += 1
        passes += n_pass
        alive[retire] = False
        alive[bg_a] = False
        col_alive[bg_b] = False
        batch = []
        for A, B, xb in cores:
            st = model.stats(A, B, xb)
            ok = st["density"] > threshold and st["score"] >= min_score
            st.update(core_accounts=len(A), core_evidence=len(B), core_density=st["density"])
            batch.append([A, B, st, ok])
        sig = [i for i, b in enumerate(batch) if b[3]]
        if expand and sig:
            if not mats:
                X = csr_matrix((np.ones(E), (wa, wb)), shape=(n_accounts, n_evidence))
                mats.extend([X, X.T.tocsr()])
            GA, GB = _grow([(batch[i][0], batch[i][1]) for i in sig], mats[0], mats[1], free, da, db, E, expand_iters, expand_alpha)
            for i, A, B in zip(sig, GA, GB):
                st = model.stats(A, B, _inner_columns(mats[0], A, B))
                for key in ("core_accounts", "core_evidence", "core_density"):
                    st[key] = batch[i][2][key]
                batch[i][:3] = [A, B, st]
                alive[A] = False
        for A, B, st, ok in batch:
            if ok:
                free[A] = False
            found.append((A, B, st, rounds, ok))
        n_sig += len(sig)
        if best_g <= threshold:
            break  # nothing left denser than chance makes
        idle = 0 if sig else idle + 1
        if idle >= patience:
            break

    blocks, rejected = [], []
    for A, B, st, r, ok in found:
        if ok and len(blocks) >= max_blocks:
            continue
        blk = Block(
            accounts=A,
            evidence=B,
            round=r,
            significant=bool(ok),
            null_ratio=st["core_density"] / null_density if null_density > 0 else np.inf,
            **st,
        )
        (blocks if ok else rejected).append(blk)
    return DenseBlockResult(blocks, rejected, null_density, threshold, rounds, passes, time.perf_counter() - t_start)
