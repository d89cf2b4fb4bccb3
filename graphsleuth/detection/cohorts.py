"""Cohorts: accounts that share two popular pieces of evidence far more often than their popularity gives.

A ring that buys its cards from a few issuers nobody else uses and makes all its accounts
within hours leaves each account one BIN and one creation hour, each shared by hundreds:
too popular to project into the account graph, and a block of one or two columns per
account is not dense. Yet a BIN whose users were nearly all made in the same hours is
surprising against the background: chance puts ``users(a) * users(b) / N`` accounts on
both, and hundreds are. Each such pair of items is a cohort. So is a proxy subnet whose
75 users all pay from one of a ring's fourteen prepaid BINs: a handful of accounts on each
(subnet, BIN) pair, where chance gives half of one, over a thousand pairs.

Cohorts that share an item tie their items into a group (a ring's fourteen BINs and its
eighty subnets); the accounts that hold two items of one group make a cluster, cut where it
is groups that only touch (a company whose seats pay from a BIN a ring bought from), which
scoring judges like any other. So do an operator's waves: a ring sending one template nobody
else sends in four waves of a thousand accounts each leaves every account two or three of the
waves' lockstep tokens, hubs too large to project. Infrastructure, creation and lockstep count,
not templates alone: templates are shared tooling. A card implies its BIN, an address its
subnet, so neither counts beside them.

A template counts beside a BIN or a device when most of the item's users send it, far more of
them than chance gives: ninety accounts that each pay from a rare BIN nobody else buys from and
send the same distillation prompts show nothing else in common (made evenly, no proxy, a card
each). It counts as the item's second item for its senders and ties no groups: two operators
who send one toolkit's templates from their own BINs stay two.

Last of all, templates alone, for the accounts nothing else ties: a ring made evenly, with no
card, BIN or proxy in common, that sends a dozen prompts nobody else sends. Two templates most
of whose senders are free accounts, sent together by far more of them than chance gives, are a
cohort; the accounts that send two templates of one group make a cluster, kept only when at
least two of its templates are its own (most of their senders are its members). A starter kit
that thousands send is nobody's own, and scoring still asks for a second kind of signal besides
the templates (a burst, waves, a card pattern, a network): content alone flags nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, triu
from scipy.sparse.csgraph import connected_components
from scipy.stats import poisson

from .clustering import split_touching_blocks
from .graph import EvidenceGraph

__all__ = ["cohort_clusters", "template_cohort_clusters", "private_template_clusters", "COHORT_KINDS", "OWN_TEMPLATES"]

#: The evidence cohorts are looked for in: infrastructure, creation hours and lockstep tokens.
COHORT_KINDS = ("bin", "created", "subnet", "link", "lockstep")
#: Items shared by fewer accounts are left to the projection and the dense blocks.
COHORT_POPULAR = 25
#: Two pieces of infrastructure are a cohort when at least this many accounts share them...
COHORT_LEAST = 4
#: ... at least this many times what chance puts on both...
COHORT_LIFT = 10.0
#: ... and chance (Poisson) gives as many this rarely over all the pairs looked at: about one pair in a
#: hundred populations of strangers.
COHORT_ALPHA = 0.01
#: The timing kinds: a creation hour is shared by every ring and company made in it, a lockstep token by a
#: class in its lecture hours and by operators whose schedules send a shared toolkit's template in the same
#: hour...
TIMING_KINDS = ("created", "lockstep")
#: ... so a pair with one is a cohort only when one of the two is a hub of the projection (an operator's
#: waves of a thousand accounts are) and the pair is this strong: this many accounts...
TIMING_LEAST = 25
#: ... this many times chance...
TIMING_LIFT = 20.0
#: ... and chance gives as many at most this often.
TIMING_CHANCE = 1e-12


#: The infrastructure whose users a template makes a cohort of, when they send it far more often than chance
#: gives (the thresholds above: COHORT_LEAST, COHORT_LIFT, COHORT_ALPHA). Not subnets: a campus's students
#: send their assignment's template from its subnet...
TOOLED_KINDS = ("bin", "link")
#: ...and at least this share of the item's users send its templates: the item is theirs, not one a ring shares
#: with the population (a popular BIN two rings and thousands of customers pay from).
TOOLED_SHARE = 0.5
#: A cluster of private templates' senders (:func:`private_template_clusters`) is kept when at least this many
#: of its templates are its own: most of their senders (:data:`TOOLED_SHARE`) are its members.
OWN_TEMPLATES = 2


def cohort_clusters(graph: EvidenceGraph, labels: np.ndarray, taken: np.ndarray, min_size: int, seed: int = 0) -> np.ndarray:
    """New cluster labels: the accounts ``taken`` leaves free that hold two items of one group of cohorts become
    one cluster per group, when there are ``min_size`` of them, cut where it is groups that only touch
    (:func:`.clustering.split_touching_blocks`); every other account keeps its label."""
    if graph.shared is None:
        return labels
    held = _popular_items(graph, taken)
    cohorts = _cohorts(held, graph)
    if len(cohorts) == 0:
        return labels
    new = _clusters(held, cohorts, labels, len(graph.evidence), min_size)
    return split_touching_blocks(graph, new, new != labels, min_size, seed)


def template_cohort_clusters(graph: EvidenceGraph, labels: np.ndarray, taken: np.ndarray, min_size: int, seed: int = 0) -> np.ndarray:
    """New cluster labels: the accounts ``taken`` leaves free that hold a BIN or a device and a template most of
    its users send (:func:`_tooled_cohorts`) become one cluster per item, when there are ``min_size`` of them,
    cut where it is groups that only touch; every other account keeps its label.

    The last resort, for accounts nothing else ties: run before the clusters, it cut a ring of 1,630 that paid
    from several BINs of its own into a piece per BIN (templates join no pieces), which the clusters held
    whole."""
    if graph.shared is None:
        return labels
    held = _popular_items(graph, taken)
    tooled = _tooled_cohorts(held, graph, taken)
    if len(tooled) == 0:
        return labels
    new = _clusters(held, np.zeros((0, 2), dtype=np.int64), labels, len(graph.evidence), min_size, tooled)
    return split_touching_blocks(graph, new, new != labels, min_size, seed)


def private_template_clusters(
    graph: EvidenceGraph, labels: np.ndarray, taken: np.ndarray, min_size: int, seed: int = 0, seated: np.ndarray | None = None
) -> np.ndarray:
    """New cluster labels: the accounts ``taken`` leaves free that send two templates of one group of private
    templates (:func:`_private_cohorts`) become one cluster per group, when there are ``min_size`` of them, cut
    where it is groups that only touch, and kept when :data:`OWN_TEMPLATES` of its templates are its own;
    every other account keeps its label.

    The very last resort: a ring that shares no card, BIN, proxy or device and was made evenly is tied by the
    prompts only it sends. Run on accounts no ring holds, it cannot join two rings found otherwise. Accounts
    ``seated`` on an organisation's domain are tied by it already, and their own templates are its tools (a
    class's assignments): they are left as they are. The cut needs the account graph's edges (uncut, a
    hackathon's hundreds of participants who send its starter kit and nobody else does were flagged on nine
    tuning seeds); where another engine holds them (Spark), nothing is grouped."""
    if graph.shared is None or graph.edge_count is not None:
        return labels
    if seated is not None:
        taken = taken | seated
    held = _private_templates(graph, taken)
    cohorts = _private_cohorts(held, graph)
    if len(cohorts) == 0:
        return labels
    new = _clusters(held, cohorts, labels, len(graph.evidence), min_size)
    new = split_touching_blocks(graph, new, new != labels, min_size, seed)
    moved = new != labels
    return np.where(moved & ~np.isin(new, _with_own_templates(held, graph, new, moved)), labels, new)


def _private_templates(graph: EvidenceGraph, taken: np.ndarray) -> coo_matrix:
    """Free accounts x the templates most of whose senders are free (a 0/1 matrix): no hub, at least
    :data:`COHORT_LEAST` free senders."""
    account, item = graph.shared
    kind = graph.evidence["kind"].to_numpy()
    degree = graph.evidence["degree"].to_numpy()
    sent = ~taken[account] & (kind == "template")[item]
    free_senders = np.bincount(item[sent], minlength=len(kind))
    private = (free_senders >= COHORT_LEAST) & (free_senders >= TOOLED_SHARE * degree) & ~graph.evidence["hub"].to_numpy(dtype=bool)
    return _shared_matrix(graph, sent & private[item])


def _private_cohorts(held: coo_matrix, graph: EvidenceGraph) -> np.ndarray:
    """The pairs of private templates far more free accounts send both of than chance gives, one (a, b) row each."""
    a, b, count, expected = _item_pairs(held, graph)
    many = _beyond_chance(count, expected, COHORT_LEAST, COHORT_LIFT, COHORT_ALPHA / max(len(count), 1))
    return np.column_stack([a[many], b[many]])


def _with_own_templates(held: coo_matrix, graph: EvidenceGraph, labels: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """The new clusters (accounts ``moved``) with :data:`OWN_TEMPLATES` or more templates of their own: sent by
    :data:`COHORT_LEAST` of their members or more, who are most (:data:`TOOLED_SHARE`) of its senders."""
    sends = pd.DataFrame({"cluster": labels[held.row], "template": held.col})[moved[held.row]]
    inside = sends.value_counts().rename("members").reset_index()
    degree = graph.evidence["degree"].to_numpy()[inside["template"].to_numpy()]
    own = inside[(inside["members"] >= COHORT_LEAST) & (inside["members"].to_numpy() >= TOOLED_SHARE * degree)]
    per_cluster = own.groupby("cluster").size()
    return per_cluster.index[per_cluster.to_numpy() >= OWN_TEMPLATES].to_numpy()


def _popular_items(graph: EvidenceGraph, taken: np.ndarray) -> coo_matrix:
    """Free accounts x the popular items of the cohorts' kinds they hold (a 0/1 matrix)."""
    account, item = graph.shared
    kind = graph.evidence["kind"].to_numpy()
    usable = np.isin(kind, COHORT_KINDS) & (graph.evidence["degree"].to_numpy() >= COHORT_POPULAR)
    return _shared_matrix(graph, usable[item] & ~taken[account])


def _shared_matrix(graph: EvidenceGraph, keep: np.ndarray) -> coo_matrix:
    """The (account, item) pairs of ``graph.shared`` that ``keep`` selects, as a 0/1 accounts x items matrix."""
    account, item = graph.shared
    return coo_matrix(
        (np.ones(int(keep.sum()), dtype=np.int32), (account[keep], item[keep])), shape=(graph.n_accounts, len(graph.evidence))
    )


def _cohorts(held: coo_matrix, graph: EvidenceGraph) -> np.ndarray:
    """The item pairs far more accounts share than chance gives, one (a, b) row each."""
    a, b, count, expected = _item_pairs(held, graph)
    kind = graph.evidence["kind"].to_numpy()
    hub = graph.evidence["hub"].to_numpy(dtype=bool)
    timing = np.isin(kind[a], TIMING_KINDS) | np.isin(kind[b], TIMING_KINDS)
    least = np.where(timing, TIMING_LEAST, COHORT_LEAST)
    lift = np.where(timing, TIMING_LIFT, COHORT_LIFT)
    chance = np.where(timing, TIMING_CHANCE, COHORT_ALPHA / max(len(count), 1))
    many = _beyond_chance(count, expected, least, lift, chance, ~timing | hub[a] | hub[b])
    return np.column_stack([a[many], b[many]])


def _item_pairs(held: coo_matrix, graph: EvidenceGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each pair of items (a < b) some account in ``held`` holds both of: a, b, how many accounts do, and how
    many chance puts on both (``users(a) * users(b) / N``)."""
    both = triu((held.T.tocsr() @ held.tocsr()).tocoo(), k=1).tocoo()
    degree = graph.evidence["degree"].to_numpy()
    return both.row, both.col, both.data, degree[both.row] * degree[both.col] / graph.n_accounts


def _beyond_chance(count, expected, least, lift, chance, eligible=True) -> np.ndarray:
    """Per pair of items: shared by at least ``least`` accounts, ``lift`` times the ``expected`` count, and
    that many or more at most ``chance`` often (Poisson tail), where ``eligible``."""
    many = (count >= least) & (count >= lift * expected) & eligible
    rows = np.flatnonzero(many)
    many[rows] = poisson.sf(count[rows] - 1, expected[rows]) <= np.broadcast_to(chance, np.shape(count))[rows]
    return many


def _tooled_cohorts(held: coo_matrix, graph: EvidenceGraph, taken: np.ndarray) -> pd.DataFrame:
    """(infrastructure item, template) pairs far more free accounts share than chance gives: the users of a
    rare BIN who nearly all send the same templates. Columns item, template, account: one row per account that
    holds both."""
    account, item = graph.shared
    kind = graph.evidence["kind"].to_numpy()
    degree = graph.evidence["degree"].to_numpy()
    free = ~taken[account]
    tool = free & (kind == "template")[item] & (degree >= COHORT_LEAST)[item]
    on_tooled_kind = np.isin(kind[held.col], TOOLED_KINDS)
    infra, on_infra = held.col[on_tooled_kind], held.row[on_tooled_kind]
    if len(infra) == 0 or not tool.any():
        return _no_tools()
    shape = (graph.n_accounts, len(kind))
    infra_matrix = coo_matrix((np.ones(len(infra), dtype=np.int32), (on_infra, infra)), shape=shape).tocsr()
    tool_matrix = _shared_matrix(graph, tool).tocsr()
    both = (infra_matrix.T @ tool_matrix).tocoo()
    a, b, count = both.row, both.col, both.data
    expected = degree[a] * degree[b] / graph.n_accounts
    many = _beyond_chance(count, expected, COHORT_LEAST, COHORT_LIFT, COHORT_ALPHA / max(len(count), 1))
    if not many.any():
        return _no_tools()
    pairs = pd.DataFrame({"item": a[many], "template": b[many]})
    users = pd.DataFrame({"account": on_infra, "item": infra}).merge(pairs, on="item")
    sends = pd.DataFrame({"account": account[tool].astype(np.int64), "template": item[tool].astype(np.int64)})
    tooled = users.merge(sends, on=["account", "template"])
    senders = tooled.drop_duplicates(["item", "account"])["item"].value_counts()
    mostly = senders.index[senders.to_numpy() >= TOOLED_SHARE * degree[senders.index.to_numpy()]]
    return tooled[tooled["item"].isin(mostly)]


def _no_tools() -> pd.DataFrame:
    return pd.DataFrame({"item": np.zeros(0, np.int64), "template": np.zeros(0, np.int64), "account": np.zeros(0, np.int64)})


def _clusters(
    held: coo_matrix, cohorts: np.ndarray, labels: np.ndarray, n_items: int, min_size: int, tooled: pd.DataFrame | None = None
) -> np.ndarray:
    """Cohorts tied by a shared item are one group; the accounts holding two of a group's items, ``min_size``
    or more, a new cluster (an account holding two items of two groups goes to the one it holds most of).
    A template tied to an item of infrastructure (``tooled``, :func:`_tooled_cohorts`) counts as a second item
    of that item's group for the accounts that send it, but ties no groups: it is shared tooling."""
    tooled = _no_tools() if tooled is None else tooled
    own = tooled["item"].to_numpy(dtype=np.int64)  # each its own group, or its cohorts'
    a, b = np.concatenate([cohorts[:, 0], own]), np.concatenate([cohorts[:, 1], own])
    _, group = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n_items, n_items)), directed=False)
    tied = np.zeros(n_items, dtype=bool)
    tied[a] = tied[b] = True
    keep = tied[held.col]
    per = pd.DataFrame({"account": held.row[keep], "group": group[held.col[keep]]})
    if len(tooled):
        sent = pd.DataFrame(
            {"account": tooled["account"].to_numpy(dtype=np.int64), "group": group[tooled["item"].to_numpy(dtype=np.int64)]}
        )
        per = pd.concat([per, sent.drop_duplicates()], ignore_index=True)
    per = per.value_counts().rename("items").reset_index()
    per = per[per["items"] >= 2].sort_values(["account", "items", "group"], ascending=[True, False, True]).drop_duplicates("account")
    sizes = per["group"].map(per["group"].value_counts())
    per = per[sizes.to_numpy() >= min_size]
    new = labels.copy()
    if len(per) == 0:
        return new
    _, number = np.unique(per["group"].to_numpy(), return_inverse=True)
    new[per["account"].to_numpy()] = int(labels.max(initial=-1)) + 1 + number
    return new
