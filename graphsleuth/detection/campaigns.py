"""Join the pieces of one large ring, and bring in its members that clustering left aside.

A ring of tens of thousands of accounts is held together less by any
identifier than by the templates its members all send. Clustering sees such
a ring as many dense pieces; each piece is flagged on its own. Pieces whose
characteristic templates (those a piece sends far more than anybody else)
overlap are one campaign, and their members are merged. The templates the
campaign as a whole sends far more than anybody else are its signature; an
account outside every flagged ring that spends a large share of its requests
on one campaign's signature templates joins that campaign.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..evidence import Evidence, arrow_text
from .scoring import characteristic_templates, row_clusters

__all__ = ["merge_campaigns", "SIGNATURE_OVERLAP", "SIGNATURE_SHARE", "SIGNATURE_TEMPLATES"]

#: Two flagged rings are one campaign when their signature templates overlap at least this much (Jaccard).
SIGNATURE_OVERLAP = 0.3
#: An outside account joins a campaign when at least this share of its requests use the signature...
SIGNATURE_SHARE = 0.4
#: ...and at least this many different signature templates.
SIGNATURE_TEMPLATES = 2


def _campaign_of_rings(own: pd.DataFrame) -> pd.Series:
    """Campaign number for each flagged ring, from overlapping signature templates."""
    rings = pd.Index(sorted(own["cluster"].unique()))
    code = rings.get_indexer(own["cluster"])
    sizes = np.bincount(code, minlength=len(rings))
    pairs = own.assign(r=code)[["r", "template_id"]]
    joined = pairs.merge(pairs, on="template_id")
    joined = joined[joined["r_x"] < joined["r_y"]]
    shared = joined.groupby(["r_x", "r_y"]).size().rename("shared").reset_index()
    a, b = shared["r_x"].to_numpy(), shared["r_y"].to_numpy()
    jaccard = shared["shared"].to_numpy() / (sizes[a] + sizes[b] - shared["shared"].to_numpy())
    keep = jaccard >= SIGNATURE_OVERLAP
    graph = coo_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(len(rings), len(rings)))
    _, campaign = connected_components(graph, directed=False)
    return pd.Series(campaign, index=rings)


def _signature_templates(
    evidence: Evidence, accounts: pd.Index, campaign: np.ndarray, in_campaign: np.ndarray, template_users: pd.Series | None = None
) -> pd.DataFrame:
    """The templates characteristic of each campaign as a whole (columns template_id, campaign).

    A small piece of a ring can count an ordinary template as its own by
    chance (4 of its 20 members happen to send it); over thousands of pieces
    such accidents add up to hundreds of ordinary templates, and their users
    would join the campaign. A campaign's signature is what its members send
    as a whole, far more than everybody else. Each template belongs to the
    campaign with most of its senders.
    """
    member = pd.Series(campaign, index=accounts[in_campaign])
    campaign_of = np.full(len(accounts), -1, dtype=np.int64)
    campaign_of[in_campaign] = campaign
    positions = evidence.account_positions("prompts")
    row_campaign = row_clusters(campaign_of, positions)
    used = characteristic_templates(
        evidence.prompts, member, member.value_counts(), len(accounts), row_cluster=row_campaign, users=template_users
    )
    own = used[used["characteristic"]].sort_values("accounts", ascending=False, kind="stable")
    return own.drop_duplicates("template_id").rename(columns={"cluster": "campaign"})[["template_id", "campaign"]]


def merge_campaigns(
    evidence: Evidence,
    accounts: pd.Index,
    labels: np.ndarray,
    flagged: np.ndarray,
    own_templates: pd.DataFrame,
    is_member: np.ndarray | None = None,
    template_users: pd.Series | None = None,
) -> np.ndarray:
    """New cluster labels: flagged rings of one campaign merged, signature users added.

    ``flagged`` lists the cluster numbers flagged as rings; ``own_templates``
    has their characteristic templates (columns cluster, template_id).
    ``is_member`` (one flag per account) marks the accounts of flagged rings
    that show the ring's signals: only they are carried into the campaign, so
    that households and companies that clustering put next to each piece do
    not dilute the campaign's features; the others are set apart on their own.
    Accounts of unflagged clusters keep their labels unless they join a campaign.
    ``template_users`` (how many accounts send each template, as the evidence
    graph counted them) saves counting them again over every prompt row.
    """
    own = own_templates[own_templates["cluster"].isin(flagged)][["cluster", "template_id"]]
    if len(own) == 0:
        return labels
    campaign_of_ring = _campaign_of_rings(own)
    base = int(labels.max()) + 1
    new = labels.copy()
    in_flagged = np.isin(labels, campaign_of_ring.index.to_numpy())
    in_ring = in_flagged & (is_member if is_member is not None else True)
    left_out = np.flatnonzero(in_flagged & ~in_ring)
    new[in_ring] = base + campaign_of_ring.reindex(labels[in_ring]).to_numpy()
    new[left_out] = base + len(campaign_of_ring) + np.arange(len(left_out))
    signature = _signature_templates(evidence, accounts, campaign_of_ring.reindex(labels[in_ring]).to_numpy(), in_ring, template_users)
    campaign = _campaign_joined(evidence, signature, in_ring, len(campaign_of_ring))
    joins = np.flatnonzero(campaign >= 0)
    new[joins] = base + campaign[joins]
    return new


def _campaign_joined(evidence: Evidence, signature: pd.DataFrame, in_ring: np.ndarray, n_campaigns: int) -> np.ndarray:
    """Per account: the campaign it joins, the one whose signature takes the largest share of its requests.

    -1 where no campaign takes :data:`SIGNATURE_SHARE` of the account's requests
    over at least :data:`SIGNATURE_TEMPLATES` of its signature templates, and
    for the rings' own members. Of two campaigns with equal shares the
    lower-numbered one is joined.
    Prompt rows are matched to signatures by Arrow's hash lookup and counted
    with bincounts: a pandas merge and group-by of 4.8M rows took 1.5 s.
    """
    n = len(in_ring)
    joined = np.full(n, -1, dtype=np.int64)
    if len(signature) == 0:
        return joined
    prompts = evidence.prompts
    position = evidence.account_positions("prompts")
    signature_of = pc.index_in(arrow_text(prompts["template_id"]), value_set=arrow_text(signature["template_id"]))
    signature_of = signature_of.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    outside = position >= 0
    outside[outside] = ~in_ring[position[outside]]
    account, template = position[outside], signature_of[outside]
    count = prompts["count"].to_numpy(dtype=np.float64)[outside]
    totals = np.bincount(account, weights=count, minlength=n)
    on = template >= 0
    account, template, count = account[on], template[on], count[on]
    campaign = signature["campaign"].to_numpy().astype(np.int64)[template]
    pair, pair_of_row = np.unique(account * n_campaigns + campaign, return_inverse=True)
    requests = np.bincount(pair_of_row, weights=count, minlength=len(pair))
    templates = np.bincount(np.unique(pair_of_row * len(signature) + template) // len(signature), minlength=len(pair))
    pair_account, pair_campaign = pair // n_campaigns, pair % n_campaigns
    share = requests / totals[pair_account]
    joins = (share >= SIGNATURE_SHARE) & (templates >= SIGNATURE_TEMPLATES)
    pair_account, pair_campaign, share = pair_account[joins], pair_campaign[joins], share[joins]
    best = np.lexsort((pair_campaign, -share, pair_account))  # per account: largest share first
    best = best[np.r_[True, pair_account[best][1:] != pair_account[best][:-1]]] if len(best) else best
    joined[pair_account[best]] = pair_campaign[best]
    return joined
