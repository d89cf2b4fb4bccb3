"""Score clusters of linked accounts and explain, in plain words, why a ring was flagged.

Sharing a card or an IP is not suspicious by itself: households, companies
and campuses do it every day. A cluster is scored on what separates an
extraction ring from such groups:

* coordination: its requests concentrate on templates that are rare outside
  the cluster, or its members send the same template in the same hour far
  more often than chance (lockstep);
* creation bursts: many members were created within hours of each other,
  far more densely than accounts are created overall;
* payment pattern: many accounts on a few shared cards, or many distinct
  cards from a handful of issuers (BINs) (:mod:`.payments`);
* organisation: a shared email domain that belongs to the cluster (a
  company's or a university's) speaks for a legitimate group
  (:mod:`.organisations`).

All features are computed with vectorised group-bys over the accounts of
clusters large enough to be a ring.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evidence import Evidence
from .events import event_excuse
from .features import CHARACTERISTIC_LIFT, on_held_network, population_features
from .graph import EvidenceGraph, lockstep_tokens, template_hours
from .model import RingModel, ring_model
from .numbered import NumberedPrompts, numbered_prompts, row_clusters, sorted_numbers
from .organisations import (
    ORGANISATION_NAMED,
    account_domains,
    domain_codes,
    network_members,
    off_hours_line,
    off_hours_members,
    organisation_excuse,
    organisation_share,
    ring_tooling_share,
    scripted_seats,
    seats_sending,
    sends_ring_tooling,
)
from .payments import measure_payments

__all__ = [
    "score_clusters",
    "ClusterScores",
    "characteristic_templates",
    "ring_id_of",
    "row_clusters",
    "MEMBER_COORDINATION",
    "MIN_RING_SIZE",
    "FLAG_THRESHOLD",
    "FEATURE_WEIGHTS",
    "SIGNAL_LEVELS",
    "WEAK_COORDINATION",
    "PLATFORM_SPREAD",
    "CARD_SHARING_NAMED",
    "signal_kinds",
    "platform_users",
    "signal_strength",
    "SIGNALS_NEEDED",
]

#: Smallest cluster that can be a suspected ring.
MIN_RING_SIZE = 10
#: Clusters scoring at least this are flagged as suspected rings; None: the fitted model's own threshold.
FLAG_THRESHOLD = None
#: How much each kind of signal adds to a member's score (a member shows its ring's signals or does not).
FEATURE_WEIGHTS = {"coordination": 0.45, "burst": 0.30, "payment": 0.25, "network": 0.25}
#: A cluster shows a kind of signal when its feature reaches this level; below it, the kind counts as far as
#: the feature goes towards it (:func:`signal_strength`).
SIGNAL_LEVELS = {"template_share": 0.3, "lockstep_share": 0.3, "burst_share": 0.3, "payment": 0.5, "network": 0.5}
#: A ring needs signals worth two kinds, one of them in full: one kind alone has innocent explanations, and a
#: template share of 0.29 beside a proxy pool of its own says about as much as one of 0.31.
SIGNALS_NEEDED = 2.0
#: From this share, coordination (templates of its own, lockstep) counts as a member's signal and is named in
#: a ring's explanation; below it a cluster has "no templates of its own and no lockstep activity".
WEAK_COORDINATION = 0.2
#: Members created over half a year or more (``creation_spread`` 1) joined one by one, as a platform's users do;
#: a campaign makes its accounts within months.
PLATFORM_SPREAD = 1.0
#: Card sharing starts to count at this many accounts per card and counts in full at the second figure.
CARD_SHARING = (2.0, 5.0)
#: From this many accounts per card, a ring's card sharing is named in its explanation.
CARD_SHARING_NAMED = 3.0
#: A member of a flagged cluster stays in the ring when it shows two kinds of the ring's
#: signals, or spends at least this share of its activity coordinated with the ring
#: (its characteristic templates, or lockstep). A household pulled in through a residential
#: proxy's IP shows none; a company's seats share their card and little else. A hydra ring's
#: members hide a third or more of their traffic among ordinary prompts, so the bar is below half.
MEMBER_COORDINATION = 0.3
#: A member shows a network signal on (this many members share, this many) IP addresses its cluster
#: holds, any address in a subnet it holds counting too (a small piece of a large ring shares few of
#: its pool's addresses, all in the pool's subnets). An operator's accounts rotate through its proxies;
#: a household shares its one home address (which a residential proxy may also use), and a company's
#: seats, which share their office's, are left out by their email domain. Measured beside no network
#: signal and one address of any kind on the family's tuning and validation seeds (benchmarks/README.md).
MEMBER_NETWORK = (5, 2)
#: A member on this many addresses its cluster holds shows the ring's network well enough on its own: an
#: operator's account rotates through its pool, where a household has one home address and a phone.
MEMBER_NETWORK_ALONE = 3
#: Half-width of the window in which an account's creation counts as part of a burst.
BURST_HALF_WINDOW_S = 12 * 3600
#: A burst is this many times denser than account creation overall.
BURST_RATIO = 8.0


def ring_id_of(account_ids: np.ndarray) -> str:
    """A stable ring id: a digest of the sorted member ids."""
    digest = hashlib.sha1("\n".join(sorted(map(str, account_ids))).encode()).hexdigest()
    return f"ring-{digest[:10]}"


def _burst_share(created: np.ndarray, cluster: np.ndarray, size: np.ndarray, global_span: float) -> np.ndarray:
    """Per account: 1 if created within a burst of its cluster, else 0 (NaN times never count)."""
    out = np.zeros(len(created))
    ok = ~np.isnan(created)
    if ok.sum() == 0:
        return out
    idx = np.flatnonzero(ok)
    t = created[idx] - created[idx].min()
    order = np.lexsort((t, cluster[idx]))
    # One line of time per cluster, each far enough from the next that windows never cross:
    # clusters in rank order, not by number, so the keys stay small enough to be exact.
    sorted_cluster = cluster[idx][order]
    rank = np.cumsum(np.r_[0, sorted_cluster[1:] != sorted_cluster[:-1]])
    sorted_key = rank * (t.max() + 4.0 * BURST_HALF_WINDOW_S) + t[order]
    left = np.searchsorted(sorted_key, sorted_key - BURST_HALF_WINDOW_S, side="left")
    right = np.searchsorted(sorted_key, sorted_key + BURST_HALF_WINDOW_S, side="right")
    neighbours = right - left - 1
    expected = (size[idx][order] - 1) * (2 * BURST_HALF_WINDOW_S) / global_span
    burst = (neighbours >= 3) & (neighbours >= BURST_RATIO * expected)
    out[idx[order]] = burst
    return out


def characteristic_templates(
    prompts: pd.DataFrame,
    member: pd.Series,
    size: pd.Series,
    n_accounts: int,
    row_cluster: np.ndarray | None = None,
    users: pd.Series | None = None,
    numbered: NumberedPrompts | None = None,
) -> pd.DataFrame:
    """Templates that a cluster uses far more than everybody else, one row per (cluster, template).

    A template is characteristic of a cluster when at least 3 members and 20%
    of them send it, and the share of members who send it is at least
    :data:`CHARACTERISTIC_LIFT` times the share of the other accounts who do. Columns:
    cluster, template_id, accounts, requests, characteristic (bool).

    ``member`` maps account ids to clusters; ``row_cluster``, when given, is
    the same per prompt row already (-1: no cluster), which saves looking up
    millions of ids again. ``users``, when given, is the number of accounts
    that send each template (by template id), as the evidence graph counted it.
    With both, ``numbered`` (:func:`numbered_prompts`) lets the rows be grouped
    by numbers instead of text.
    """
    if numbered is not None and row_cluster is not None and users is not None:
        return _characteristic_numbered(numbered, size, n_accounts, row_cluster, users)
    p = prompts[["account_id", "template_id", "count"]]
    if users is None:
        users = p.groupby("template_id")["account_id"].nunique()
    if row_cluster is None:
        row_cluster = member.reindex(p["account_id"]).fillna(-1).to_numpy().astype(np.int64)
    inside_any = row_cluster >= 0
    mine = p[inside_any].assign(cluster=row_cluster[inside_any])
    used = mine.groupby(["cluster", "template_id"]).agg(accounts=("account_id", "nunique"), requests=("count", "sum")).reset_index()
    n = size.reindex(used["cluster"]).to_numpy()
    inside = used["accounts"].to_numpy() / n
    # Against the accounts outside the cluster: a ring of a tenth of the population that alone sends a
    # template would otherwise be only ten times as likely to send it as "everybody", itself included.
    senders_outside = np.maximum(users.reindex(used["template_id"]).to_numpy() - used["accounts"].to_numpy(), 0)
    outside = senders_outside / np.maximum(n_accounts - n, 1)
    used["characteristic"] = (used["accounts"] >= np.maximum(3, 0.2 * n)) & (inside >= CHARACTERISTIC_LIFT * outside)
    return used


def _characteristic_numbered(
    numbered: NumberedPrompts, size: pd.Series, n_accounts: int, row_cluster: np.ndarray, users: pd.Series
) -> pd.DataFrame:
    """:func:`characteristic_templates` on numbered prompts: the same rows, in the same order."""
    rows = np.flatnonzero((row_cluster >= 0) & (numbered.template >= 0))
    n_templates = max(len(numbered.names), 1)
    key, pair = sorted_numbers(row_cluster[rows].astype(np.int64) * n_templates + numbered.template[rows])
    n_ids = int(numbered.position.max(initial=0)) + 1
    accounts = np.bincount(pd.unique(pair * n_ids + numbered.position[rows]) // n_ids, minlength=len(key))
    requests = np.bincount(pair, weights=numbered.count[rows], minlength=len(key)).astype(numbered.count.dtype)
    template = key % n_templates
    used = pd.DataFrame(
        {
            "cluster": key // n_templates,
            "template_id": numbered.names.take(template).array,
            "accounts": accounts.astype(np.int64),
            "requests": requests,
        }
    )
    n = size.reindex(used["cluster"]).to_numpy()
    inside = used["accounts"].to_numpy() / n
    senders = users.reindex(numbered.names).to_numpy(dtype=float)[template]
    outside = np.maximum(senders - used["accounts"].to_numpy(), 0) / np.maximum(n_accounts - n, 1)
    used["characteristic"] = (used["accounts"] >= np.maximum(3, 0.2 * n)) & (inside >= CHARACTERISTIC_LIFT * outside)
    return used


def _template_share(used: pd.DataFrame) -> pd.Series:
    """Per cluster: share of its requests on its characteristic templates."""
    total = used.groupby("cluster")["requests"].sum()
    own = used[used["characteristic"]].groupby("cluster")["requests"].sum().reindex(total.index, fill_value=0)
    return own / total


def _lockstep_share(graph: EvidenceGraph, prompts: pd.DataFrame, cluster_of: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Per cluster: share of members' template-hours spent in lockstep with 2+ other members.

    ``cluster_of`` gives each account's cluster, or -1 for accounts not scored.
    Also returns the same share per account (an array over all accounts), so
    that one member who once sent a popular template in a busy hour is not
    taken for a ring member.
    """
    hours, tokens = graph.template_hours, graph.lockstep
    if hours is None:
        hours = template_hours(prompts, graph.accounts)
        tokens = lockstep_tokens(hours)
    n = graph.n_accounts
    if len(tokens) == 0:
        return pd.Series(dtype=float), np.zeros(n)
    account = tokens["account"].to_numpy()
    cluster = cluster_of[account]
    scored = cluster >= 0
    frame = pd.DataFrame({"cluster": cluster[scored], "token": tokens["token"].to_numpy()[scored], "account": account[scored]})
    # (account, token) pairs are distinct, so a group's size counts its accounts
    together = (frame.groupby(["cluster", "token"])["account"].transform("size") >= 3).to_numpy()
    in_step = np.bincount(frame["account"].to_numpy()[together], minlength=n)
    hour_account = hours["account"].to_numpy()
    per_account = np.bincount(hour_account, minlength=n)
    by_account = np.clip(in_step / np.maximum(per_account, 1), 0, 1)
    hour_cluster = cluster_of[hour_account]
    total = pd.Series(hour_cluster[hour_cluster >= 0]).value_counts()
    steps = pd.Series(frame["cluster"].to_numpy()[together]).value_counts().reindex(total.index, fill_value=0)
    return (steps / total).clip(0, 1), by_account


def _member_template_share(row_cluster: np.ndarray, own_templates: pd.DataFrame, n_accounts: int, numbered: NumberedPrompts) -> np.ndarray:
    """Per account position: share of its requests on its own cluster's characteristic templates (0 outside clusters)."""
    rows = np.flatnonzero(row_cluster >= 0)
    n_templates = max(len(numbered.names), 1)
    number = numbered.template_numbers(own_templates["template_id"])
    marks = (own_templates["cluster"].to_numpy(dtype=np.int64) * n_templates + number)[number >= 0]
    on_own = (numbered.template[rows] >= 0) & np.isin(row_cluster[rows].astype(np.int64) * n_templates + numbered.template[rows], marks)
    count = numbered.count[rows].astype(np.float64)
    position = numbered.position[rows]
    total = np.bincount(position, weights=count, minlength=n_accounts)
    own = np.bincount(position, weights=np.where(on_own, count, 0.0), minlength=n_accounts)
    return np.divide(own, total, out=np.zeros(n_accounts), where=total > 0)


#: The columns of :func:`score_clusters` that depend only on a cluster's own members.
_MEASURED = [
    "cluster",
    "size",
    "template_share",
    "lockstep_share",
    "coordination",
    "burst_share",
    "cards",
    "accounts_per_card",
    "bins",
    "ring_bins",
    "bin_concentration",
    "invoiced_share",
    "card_sharing",
    "payment",
    "network_share",
    "template_exclusivity",
    "template_coordination",
    "event_share",
    "after_event_share",
    "created_at_event",
    "working_spread",
    "volume",
    "creation_spread",
    "office_hours_share",
]


@dataclass
class ClusterScores:
    """What scoring found out about the clusters of one labelling.

    ``table``: one row per cluster of at least the minimum size, with its
    features, score and flag (columns cluster, size, coordination,
    template_share, lockstep_share, burst_share, accounts_per_card, cards,
    bins, ring_bins, bin_concentration, payment, organisation_share, score,
    flagged). ``own_templates``: each cluster's characteristic templates (see
    :func:`characteristic_templates`). ``member_scores``: per account id, how
    much it shows its cluster's signals (0: not a member of the ring).
    """

    table: pd.DataFrame
    own_templates: pd.DataFrame
    member_scores: pd.Series

    @classmethod
    def empty(cls) -> ClusterScores:
        """The scores of no cluster at all."""
        return cls(pd.DataFrame(columns=["cluster", "size", "score", "flagged"]), _no_templates(), pd.Series(dtype=float))

    @property
    def flagged(self) -> np.ndarray:
        """The numbers of the clusters flagged as suspected rings."""
        return self.table.loc[self.table["flagged"], "cluster"].to_numpy() if len(self.table) else np.zeros(0, dtype=np.int64)


def score_clusters(
    evidence: Evidence,
    graph: EvidenceGraph,
    labels: np.ndarray,
    min_size: int = MIN_RING_SIZE,
    threshold: float | None = FLAG_THRESHOLD,
    previous: ClusterScores | None = None,
    previous_labels: np.ndarray | None = None,
    model: RingModel | None = None,
) -> ClusterScores:
    """Score every cluster of at least ``min_size`` accounts in ``labels``; clusters are numbered as there.

    ``previous`` is an earlier result for ``previous_labels`` (before rings were
    joined, say): a cluster whose members are the same in both keeps its
    measured features and member scores, which depend on its members alone;
    the organisation share, score and flag of every cluster are worked out
    again, since which domains are an organisation's depends on all labels.
    """
    sizes = np.bincount(labels)
    big = np.flatnonzero(sizes >= min_size)
    if len(big) == 0:
        return ClusterScores.empty()
    kept = _unchanged_clusters(labels, big, previous, previous_labels)
    domains = account_domains(evidence, graph)
    organisation = organisation_share(domains, labels, pd.Series(sizes[big], index=big))
    measured, own_templates, member_scores = _measure_clusters(evidence, graph, labels, sizes, big[~np.isin(big, kept)], organisation)
    if len(kept):
        old = previous.table.set_index("cluster", drop=False).loc[kept, _MEASURED]
        measured = pd.concat([old, measured]).sort_index()
        old_own = previous.own_templates
        own_templates = pd.concat([old_own[old_own["cluster"].isin(kept)], own_templates], ignore_index=True)
        old_members = previous.member_scores
        member_scores = pd.concat([old_members[np.isin(labels[graph.accounts.get_indexer(old_members.index)], kept)], member_scores])
    features = measured
    size = features["size"]
    features["organisation_share"] = organisation.reindex(size.index).to_numpy()
    features["off_hours_line"] = off_hours_line(evidence, graph)
    features["seats_sending"] = _seats_sending(evidence, graph, domains, labels, features, own_templates)
    model = model or ring_model()
    features["score"] = model.probability(features).round(4)
    creation_known = _creation_known(evidence)
    features["signals"] = signal_kinds(features, creation_known=creation_known)
    features["signal_strength"] = signal_strength(features, creation_known=creation_known)
    flag_at = model.threshold if threshold is None else threshold
    features["flagged"] = _flagged(features, flag_at)
    features["ring_tooling_share"] = _organisations_ring_tooling(evidence, labels, features, own_templates)
    if sends_ring_tooling(features).any():
        features["signals"] = signal_kinds(features, creation_known=creation_known)
        features["signal_strength"] = signal_strength(features, creation_known=creation_known)
        features["flagged"] = _flagged(features, flag_at)
    return ClusterScores(features.reset_index(drop=True), own_templates, member_scores)


def _flagged(features: pd.DataFrame, flag_at: float) -> pd.Series:
    """Per cluster: scored at ``flag_at`` or more, with signals worth :data:`SIGNALS_NEEDED` kinds, one in full."""
    return (features["score"] >= flag_at) & (features["signals"] >= 1) & (features["signal_strength"] >= SIGNALS_NEEDED)


def _seats_sending(
    evidence: Evidence, graph: EvidenceGraph, domains: np.ndarray, labels: np.ndarray, features: pd.DataFrame, own_templates: pd.DataFrame
) -> np.ndarray:
    """Per cluster: for those on organisations' domains, the share of the organisation's seats that send its own
    templates (:func:`.organisations.seats_sending`); 0 for the others."""
    organisations = features.index[features["organisation_share"].to_numpy() >= ORGANISATION_NAMED].to_numpy()
    codes = graph.derived("domain_codes", lambda: domain_codes(domains))
    share = seats_sending(codes, labels, organisations, own_templates, evidence.prompts, evidence.account_positions("prompts"))
    return share.reindex(features.index, fill_value=0.0).to_numpy()


def _organisations_ring_tooling(evidence: Evidence, labels: np.ndarray, features: pd.DataFrame, own_templates: pd.DataFrame) -> pd.Series:
    """Per cluster: for the unflagged ones an organisation's excuse explains, the share of their requests on the
    flagged clusters' characteristic templates (:func:`.organisations.ring_tooling_share`); 0 for the others."""
    flagged = features["flagged"].to_numpy()
    organisations = features.index[organisation_excuse(features)[0].to_numpy() & ~flagged].to_numpy()
    templates = own_templates.loc[own_templates["cluster"].isin(features.index[flagged]), "template_id"].unique()
    share = ring_tooling_share(evidence, labels, organisations, templates)
    return share.reindex(features.index, fill_value=0.0)


def signal_kinds(table: pd.DataFrame, creation_known: bool = True) -> pd.Series:
    """How many kinds of signal each cluster shows: tooling (templates of its own), timing (lockstep, its own or
    its templates'), creation bursts, payment pattern, a network of its own (not an organisation's), an
    organisation that does not keep office hours. A ring needs two: one alone has innocent explanations.

    A cluster on one organisation's domain is explained as that organisation: its office network, the card
    it pays its seats with and the days it onboarded them are what a company has, and count for nothing;
    its own templates are its internal tools, one signal, and the schedule its seats send them on (in step,
    or all together on its first day at work) is its jobs', no timing. When it does not keep office hours
    (:func:`off_hours_organisation`), or its seats send many times what an ordinary account does
    (:data:`STAFF_VOLUME`) and its hours do not show otherwise (:func:`keeps_office_hours`), or they send a
    flagged ring's own templates (:data:`~.organisations.RING_TOOLING`), the excuse is contradicted and
    everything counts again; unless the provider bills it by invoice (:data:`INVOICED_CHECKED`), or its seats
    were made over months (:func:`grown_organisation`: a customer that grew, as an evaluation company running
    nightly suites has).

    An event's participants (:func:`~.events.event_excuse`: made for it, active within its two days, at an
    ordinary account's rate) sign up together, sit at its venue and send in the same hours: their burst,
    network and timing are the event's and count for nothing; their templates and any payment pattern remain.

    A platform's users send its prompts from its servers: templates of their own and a network of their own,
    and nothing a campaign adds (timing, a burst, a payment pattern), from accounts made one by one over half a
    year or more (:data:`PLATFORM_SPREAD`), are the platform's, one signal. ``creation_known`` says whether the
    accounts' creation times are known: without them, no cluster is taken for a platform's users.
    """
    kinds = _signals(table)
    if creation_known:
        kinds["network"] &= ~_platform(kinds, table)
    return kinds.astype(int).sum(axis=1)


def signal_strength(table: pd.DataFrame, creation_known: bool = True) -> pd.Series:
    """How many kinds of signal each cluster's signals are worth: each kind :func:`signal_kinds` counts is worth
    1, and a kind below its level (:data:`SIGNAL_LEVELS`) as far as its feature goes towards it, under the same
    excuses (an organisation's card and onboarding count for nothing). An organisation whose excuse holds is
    worth its full kinds only: its internal templates and its office network, the traces its seats leave, are
    what a company has. A platform's users are worth their one signal, their templates: without a full signal
    of a campaign's, its traces of one add nothing."""
    parts = _signal_parts(table)
    strength = parts.sum(axis=1).where(~organisation_excuse(table)[0], (parts >= 1.0).sum(axis=1))
    if creation_known:
        strength = strength.where(~_platform(parts >= 1.0, table), 1.0)
    return strength


def platform_users(table: pd.DataFrame) -> pd.Series:
    """Per cluster: templates and a network of its own and nothing a campaign adds (timing, a burst, a payment
    pattern, off hours), from accounts made one by one over half a year or more (:data:`PLATFORM_SPREAD`): a
    platform's users, whose network :func:`signal_kinds` does not count."""
    return _platform(_signals(table), table)


def _signals(table: pd.DataFrame) -> pd.DataFrame:
    """Per cluster, each kind of signal :func:`signal_kinds` counts (columns of booleans), before the platform rule."""
    return _signal_parts(table) >= 1.0


def _signal_parts(table: pd.DataFrame) -> pd.DataFrame:
    """Per cluster and kind of signal, how far its feature goes towards its level (:data:`SIGNAL_LEVELS`): 1 at
    or above it, the feature over the level below it (never 1 there); 0 where an organisation explains it."""
    organisation = table["organisation_share"] if "organisation_share" in table.columns else 0.0
    explained, off_hours = organisation_excuse(table)
    # An organisation's seats sending its own templates on a shared schedule is its jobs running: what would
    # show a campaign under its name (off hours, heavy volume, a ring's templates, one script) takes the excuse.
    timing = np.fmax(table["lockstep_share"], table["template_coordination"]).where(~explained, 0.0)
    event = event_excuse(table)
    features = {
        "tooling": (table["template_share"], "template_share"),
        "timing": (timing.where(~event, 0.0), "lockstep_share"),
        "creation": (table["burst_share"].where(~(explained | event), 0.0), "burst_share"),
        "payment": (table["payment"].where(~explained, 0.0), "payment"),
        "network": (table["network_share"].where(~event, 0.0) * (1.0 - organisation * ~scripted_seats(table)), "network"),
    }
    below_one = np.nextafter(1.0, 0.0)
    parts = {
        kind: np.where(value >= SIGNAL_LEVELS[level], 1.0, np.minimum(value / SIGNAL_LEVELS[level], below_one))
        for kind, (value, level) in features.items()
    }
    return pd.DataFrame({**parts, "off_hours": off_hours.astype(float)}, index=table.index)


def _platform(kinds: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    if "creation_spread" not in table.columns:
        return pd.Series(False, index=table.index)
    campaign = kinds["timing"] | kinds["creation"] | kinds["payment"] | kinds["off_hours"]
    return kinds["tooling"] & kinds["network"] & ~campaign & (table["creation_spread"] >= PLATFORM_SPREAD)


def _creation_known(evidence: Evidence) -> bool:
    """Whether the accounts' creation times are known (a ``created_at`` column with a value)."""
    return "created_at" in evidence.accounts.columns and bool(evidence.accounts["created_at"].notna().any())


def _no_templates() -> pd.DataFrame:
    return pd.DataFrame(columns=["cluster", "template_id", "accounts", "requests", "characteristic"])


def _by_position(evidence: Evidence, column: str) -> pd.Series:
    """A column of the accounts table, one value per account position (as in the graph)."""
    values = evidence.accounts[column]
    positions = evidence.account_positions("accounts")
    if np.array_equal(positions, np.arange(len(positions))):
        return values.reset_index(drop=True)
    return pd.Series(values.to_numpy(), index=positions).sort_index().reset_index(drop=True)


def _unchanged_clusters(
    labels: np.ndarray, big: np.ndarray, previous: ClusterScores | None, previous_labels: np.ndarray | None
) -> np.ndarray:
    """The clusters in ``big`` with the same number and members in ``previous_labels``, scored in ``previous``."""
    if previous is None or previous_labels is None or len(previous.table) == 0:
        return np.zeros(0, dtype=np.int64)
    moved = labels != previous_labels
    touched = np.union1d(labels[moved], previous_labels[moved])
    return big[~np.isin(big, touched) & np.isin(big, previous.table["cluster"].to_numpy())]


#: Threads that measure clusters side by side: the templates' features on one, creation
#: bursts and payments on the caller's. pandas' group-bys and Arrow's kernels release the GIL:
#: scoring the clusters of 1M accounts took 4.4 s one part after another, 2.7 s side by side.
_MEASURERS = 1


def _measure_clusters(
    evidence: Evidence, graph: EvidenceGraph, labels: np.ndarray, sizes: np.ndarray, clusters: np.ndarray, organisation: pd.Series
):
    """The features of ``clusters`` that depend on their members alone, their own templates and member scores
    (``organisation``: each cluster's :func:`organisation_share`, for its seats' off-hours signal)."""
    in_scope = np.isin(labels, clusters)
    member = pd.Series(labels[in_scope], index=graph.accounts[in_scope])
    size = pd.Series(sizes[clusters], index=clusters)
    cluster_of = np.where(in_scope, labels, -1)
    features = pd.DataFrame({"cluster": clusters, "size": sizes[clusters]}).set_index("cluster", drop=False)
    with ThreadPoolExecutor(_MEASURERS, thread_name_prefix="graphsleuth-score") as pool:
        from_templates = pool.submit(_template_features, evidence, graph, member, size, cluster_of)
        burst_share, burst = _burst_features(evidence, in_scope, member, sizes)
        payment, member_pay = measure_payments(evidence, graph, size, cluster_of)
        templates, own_templates, member_template, member_lockstep = from_templates.result()
    for name, values in templates.items():
        features[name] = values.reindex(clusters).fillna(0.0).to_numpy()
    features["coordination"] = features[["template_share", "lockstep_share"]].max(axis=1)
    features["burst_share"] = burst_share.reindex(clusters).fillna(0).to_numpy()
    for column in payment.columns:
        features[column] = payment[column].reindex(clusters).fillna(0).to_numpy()
    low, full = CARD_SHARING
    features["card_sharing"] = np.clip((features["accounts_per_card"] - low) / (full - low), 0, 1)
    features["payment"] = np.maximum(features["card_sharing"], features["bin_concentration"])
    on_held, held_ips = on_held_network(graph, cluster_of, MEMBER_NETWORK[0])
    for name, values in population_features(evidence, graph, cluster_of, clusters, own_templates, on_held).items():
        features[name] = values.to_numpy()
    member_pay = member_pay[in_scope]
    coordination = np.maximum(member_template[in_scope], member_lockstep[in_scope])
    member_score = (
        FEATURE_WEIGHTS["coordination"] * coordination + FEATURE_WEIGHTS["burst"] * burst + FEATURE_WEIGHTS["payment"] * member_pay
    )
    # Like a ring, a member needs two kinds of signal, or strong coordination on its own:
    # a company's seats share their corporate card, and that alone must not keep them in a ring.
    member_signals = (coordination >= WEAK_COORDINATION).astype(int) + (burst > 0).astype(int) + (member_pay > 0).astype(int)
    member_signals += off_hours_members(evidence, graph, cluster_of, organisation)[in_scope]
    member_signals += network_members(evidence, graph, held_ips, MEMBER_NETWORK[1])[in_scope]
    rotating = network_members(evidence, graph, held_ips, MEMBER_NETWORK_ALONE)[in_scope]
    member_score = member_score + FEATURE_WEIGHTS["network"] * rotating
    member_score = np.where((member_signals >= 2) | (coordination >= MEMBER_COORDINATION) | rotating, member_score, 0.0)
    return features[_MEASURED], own_templates, pd.Series(member_score, index=member.index)


def _template_features(evidence: Evidence, graph: EvidenceGraph, member: pd.Series, size: pd.Series, cluster_of: np.ndarray):
    """Per cluster: template and lockstep shares; the clusters' own templates; per account: both shares.

    Returns ({"template_share": ..., "lockstep_share": ...} by cluster, own templates,
    member template share, member lockstep share), the last two over all accounts.
    """
    n = graph.n_accounts
    prompts = evidence.prompts
    if "template_id" not in prompts.columns or len(prompts) == 0 or len(size) == 0:
        own_templates = _no_templates()
        none = pd.Series(dtype=float)
        return {"template_share": none, "lockstep_share": none}, own_templates, np.zeros(n), np.zeros(n)
    positions = evidence.account_positions("prompts")
    row_cluster = row_clusters(cluster_of, positions)
    numbered = numbered_prompts(evidence, graph)
    used = characteristic_templates(prompts, member, size, n, row_cluster=row_cluster, users=graph.sharers("template"), numbered=numbered)
    own_templates = used[used["characteristic"]]
    lockstep, member_lockstep = _lockstep_share(graph, prompts, cluster_of)
    member_template = _member_template_share(row_cluster, own_templates, n, numbered)
    return {"template_share": _template_share(used), "lockstep_share": lockstep}, own_templates, member_template, member_lockstep


def _burst_features(evidence: Evidence, in_scope: np.ndarray, member: pd.Series, sizes: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Per cluster: the share of members created in a burst; per member (in ``member``'s order): 1 if so."""
    created = _by_position(evidence, "created_at") if "created_at" in evidence.accounts.columns else None
    if created is None or not created.notna().any():
        return pd.Series(dtype=float), np.zeros(len(member))
    seconds = created[in_scope].astype("int64").to_numpy() / 1e9
    seconds[created[in_scope].isna().to_numpy()] = np.nan
    all_s = created.dropna().astype("int64").to_numpy() / 1e9
    span = max(np.percentile(all_s, 95) - np.percentile(all_s, 5), 30 * 86400.0)
    burst = _burst_share(seconds, member.to_numpy(), sizes[member.to_numpy()], span)
    return pd.Series(burst).groupby(member.to_numpy()).mean(), burst
