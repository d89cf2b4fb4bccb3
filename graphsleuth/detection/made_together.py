"""Accounts made together that send the same toolkit: runs of one template's senders created far closer
together than its senders are.

A ring that shares no card, BIN, proxy or device can still not hide when its accounts were made: an operator
that makes forty accounts in an afternoon and has them send its toolkit's prompts leaves forty of that
toolkit's senders created within hours, where its other senders (other operators, a few power users) were
created one every few weeks. The creation hour alone ties nothing (hundreds of customers sign up in the same
hours), and the template alone ties nothing (operators share toolkits); the two together are surprising
against the background.

The background is the population's own pace of creation: each account's place in the order of creation (its
rank, from 0 to 1) is uniform over all accounts, so a template sent by ``d`` accounts chosen at random puts
``d * width`` of its senders in a stretch of ranks ``width`` wide, however the population grew, slept at night
or signed up in waves. A run is a stretch of one template's senders each created within
``1 / (COHORT_LIFT * d)`` ranks of the one before; it is kept when it holds :data:`~.cohorts.COHORT_LEAST`
senders or more, at least :data:`~.cohorts.COHORT_LIFT` times what chance puts in its stretch, and chance
gives as many at most :data:`~.cohorts.COHORT_ALPHA` often over all the runs looked at. A template sent by a
tenth of all accounts or more never makes a run, nor does a ring's camouflage (popular templates, sent at the
population's rate). Only toolkits count: templates most of whose senders were made together or are in rings
already. A starter kit that thousands made one by one send is the public's, though a hackathon's participants,
made together, send it too (measured: without this, pieces of hackathons were flagged on five evaluation
seeds).

Runs that share accounts (one operator's accounts send several of its toolkit's templates) make one cluster;
two operators made at different times stay two, and so do one operator's bursts days apart, which only the
infrastructure and waves they share join into one ring (:mod:`.rings`): joining the runs of one template
while the stretch from the first to the last stayed ten times chance joined two hackathons five days apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import poisson

from ..evidence import Evidence
from .cohorts import COHORT_ALPHA, COHORT_LEAST, COHORT_LIFT, TOOLED_SHARE
from .features import known_creation_times
from .graph import EvidenceGraph

__all__ = ["made_together_clusters", "creation_rank"]


def made_together_clusters(
    graph: EvidenceGraph,
    rank: np.ndarray,
    labels: np.ndarray,
    taken: np.ndarray,
    min_size: int,
    seated: np.ndarray | None = None,
) -> np.ndarray:
    """New cluster labels: the accounts ``taken`` leaves free that are in a run of one template's senders made
    together (:func:`_runs`; ``rank``, each account's place in the order of creation, :func:`creation_rank`)
    become one cluster per group of runs that share accounts, when there are ``min_size`` of them; every
    other account keeps its label. Accounts ``seated`` on an organisation's domain are left as they are: a
    company onboards a team in a day and gives it its own tools."""
    if graph.shared is None or np.isnan(rank).all():
        return labels
    free = ~taken if seated is None else ~(taken | seated)
    runs = _toolkits_runs(graph, _runs(graph, rank, free), taken)
    if len(runs) == 0:
        return labels
    return _clusters(runs, labels, graph.n_accounts, min_size)


def creation_rank(evidence: Evidence, n_accounts: int, seed: int = 0) -> np.ndarray:
    """Each account's place in the order accounts were created, from 0 (the first) to 1 (the last); NaN when
    its creation time is unknown. Accounts created in the same instant are put in an order drawn with ``seed``,
    not the accounts table's: a table sorted by account id, whose creation times are days or one placeholder,
    would otherwise make a run of accounts that are only listed together."""
    rank = np.full(n_accounts, np.nan)
    position, created = known_creation_times(evidence)
    order = np.lexsort((np.random.default_rng(seed).permutation(len(created)), created))
    rank[position[order]] = (np.arange(len(order)) + 0.5) / max(len(order), 1)
    return rank


def _runs(graph: EvidenceGraph, rank: np.ndarray, free: np.ndarray) -> pd.DataFrame:
    """The runs of one template's free senders made far closer together than its senders are: columns run,
    template, account (one row per account of a kept run)."""
    account, item = graph.shared
    degree = graph.evidence["degree"].to_numpy(dtype=float)
    known = ~np.isnan(rank)
    n_known = int(known.sum())
    template = (graph.evidence["kind"].to_numpy() == "template") & (degree >= COHORT_LEAST) & (COHORT_LIFT * degree < n_known)
    keep = template[item] & free[account] & known[account]
    sends = pd.DataFrame({"template": item[keep].astype(np.int64), "account": account[keep].astype(np.int64)})
    if len(sends) == 0:
        return pd.DataFrame({"run": sends["template"], "template": sends["template"], "account": sends["account"]})
    sends["rank"] = rank[sends["account"].to_numpy()]
    sends = sends.sort_values(["template", "rank"], kind="stable", ignore_index=True)
    t, r = sends["template"].to_numpy(), sends["rank"].to_numpy()
    d = degree[t]
    close = np.r_[False, (t[1:] == t[:-1]) & (np.diff(r) <= 1.0 / (COHORT_LIFT * d[1:]))]
    sends["run"] = np.cumsum(~close)
    per_run = sends.groupby("run").agg(
        template=("template", "first"), size=("account", "size"), first=("rank", "min"), last=("rank", "max")
    )
    kept = per_run.index[_beyond_chance(per_run, degree)]
    return sends[sends["run"].isin(kept)][["run", "template", "account"]]


def _toolkits_runs(graph: EvidenceGraph, runs: pd.DataFrame, taken: np.ndarray) -> pd.DataFrame:
    """The runs of templates most of whose senders (:data:`~.cohorts.TOOLED_SHARE`) were made together (in a
    run) or are in rings already: operators' toolkits. A starter kit that thousands made one by one send is
    the public's, though a hackathon's participants made together send it too."""
    account, item = graph.shared
    ringed = np.bincount(item[taken[account]], minlength=len(graph.evidence))
    together = runs["template"].value_counts()  # a template's senders are distinct accounts
    templates = together.index.to_numpy(dtype=np.int64)
    share = (together.to_numpy() + ringed[templates]) / graph.evidence["degree"].to_numpy()[templates]
    return runs[runs["template"].isin(templates[share >= TOOLED_SHARE])]


def _beyond_chance(runs: pd.DataFrame, degree: np.ndarray) -> np.ndarray:
    """Per run (columns template, size, first, last): :data:`COHORT_LEAST` senders or more, :data:`COHORT_LIFT`
    times what chance puts in its stretch (with half a gap of chance's pace on either side), and as many at
    most :data:`COHORT_ALPHA` often over all the runs looked at."""
    d = degree[runs["template"].to_numpy(dtype=np.int64)]
    expected = d * (runs["last"].to_numpy() - runs["first"].to_numpy() + 1.0 / (COHORT_LIFT * d))
    size = runs["size"].to_numpy()
    kept = (size >= COHORT_LEAST) & (size >= COHORT_LIFT * expected)
    rows = np.flatnonzero(kept)
    kept[rows] = poisson.sf(size[rows] - 1, expected[rows]) <= COHORT_ALPHA / max(len(runs), 1)
    return kept


def _clusters(runs: pd.DataFrame, labels: np.ndarray, n_accounts: int, min_size: int) -> np.ndarray:
    """Runs that share accounts tied into one group; each group of ``min_size`` accounts or more a new cluster."""
    run_ids, run = np.unique(runs["run"].to_numpy(), return_inverse=True)
    account = runs["account"].to_numpy()
    n = n_accounts + len(run_ids)
    ties = coo_matrix((np.ones(len(account)), (account, n_accounts + run)), shape=(n, n))
    _, group = connected_components(ties, directed=False)
    members = np.unique(account)
    sizes = pd.Series(group[members]).value_counts()
    members = members[sizes.reindex(group[members]).to_numpy() >= min_size]
    new = labels.copy()
    if len(members) == 0:
        return new
    _, number = np.unique(group[members], return_inverse=True)
    new[members] = int(labels.max(initial=-1)) + 1 + number
    return new
