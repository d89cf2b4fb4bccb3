"""What a cluster's payments say: cards its members share (inside it and across the population), the
BINs it buys its cards from far more than everybody, members billed by invoice; and, per member,
whether its own payments show the ring's pattern.

The payments are numbered once per graph (:mod:`.numbered`) and grouped by those numbers in every
scoring pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..evidence import Evidence
from .features import CHARACTERISTIC_LIFT
from .graph import EvidenceGraph
from .numbered import NumberedPayments, distinct_per_cluster, first_rows, numbered_payments, row_clusters, sorted_numbers

__all__ = ["payment_features", "measure_payments"]


def measure_payments(evidence: Evidence, graph: EvidenceGraph, size: pd.Series, cluster_of: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Per cluster: the payment features (:func:`payment_features`); per account: the payment signal."""
    pay_positions = evidence.account_positions("payments")
    pay_clusters = row_clusters(cluster_of, pay_positions)
    rows = graph.derived("numbered_payments", lambda: numbered_payments(evidence.payments, graph.sharers("card")))
    pay, ring_bins = payment_features(rows, pay_clusters, size)
    return pay, _member_payment(rows, pay_positions, pay_clusters, ring_bins, len(cluster_of))


def _population_card_sharing(cluster: np.ndarray, account: np.ndarray, holders: np.ndarray) -> pd.Series:
    """Per cluster: how many accounts of the whole population use its median member's most shared card
    (per row: its cluster, account number and its card's holders).

    Clustering cuts a ring of hundreds on a few dozen cards into pieces of a few accounts, often one
    card each, while every one of those cards pays for dozens of accounts: counted inside the piece,
    its cards look unshared and the piece shows one kind of signal where the ring shows two. The median
    member keeps one company card in a cluster of individuals from counting for all of them.
    """
    most = pd.DataFrame({"cluster": cluster, "account": account, "holders": holders})
    per_account = most.groupby(["cluster", "account"], sort=False)["holders"].max()
    return per_account.groupby(level=0).median()


def _ring_bins(rows: NumberedPayments, row_cluster: np.ndarray) -> pd.DataFrame:
    """(cluster, bin number, cards) where the cluster's cards come from the BIN far more than everybody's.

    A ring that buys one card per account still buys them from a few issuers;
    a large legitimate group's cards come from as many BINs as chance gives,
    however few distinct BINs that is against its number of cards. A BIN is
    the ring's when 3+ of the cluster's cards use it and its share of them is
    at least :data:`CHARACTERISTIC_LIFT` times its share of the other cards.
    """
    with_bin = np.flatnonzero((rows.bin >= 0) & (rows.card >= 0))
    cards = with_bin[first_rows(rows.account[with_bin], rows.card[with_bin])]
    everyone = cards[first_rows(rows.card[cards])]
    all_cards = np.bincount(rows.bin[everyone], minlength=int(rows.bin.max(initial=-1)) + 1).astype(float)
    # a BIN no card is first seen with (a card given two BINs) has no share to compare: never the ring's
    all_cards[all_cards == 0] = np.nan
    mine = cards[row_cluster[cards] >= 0]
    mine = mine[first_rows(row_cluster[mine], rows.card[mine])]
    per_bin = pd.DataFrame({"cluster": row_cluster[mine], "bin": rows.bin[mine]}).value_counts(sort=False).rename("cards").reset_index()
    total = pd.Series(row_cluster[mine]).value_counts(sort=False)
    cluster_cards = total.reindex(per_bin["cluster"]).to_numpy()
    inside = per_bin["cards"].to_numpy() / cluster_cards
    # Against the cards outside the cluster (a card two clusters share counts in both: rare, and harmless).
    others = np.maximum(all_cards[per_bin["bin"].to_numpy()] - per_bin["cards"].to_numpy(), 0)
    outside = others / np.maximum(len(everyone) - cluster_cards, 1)
    return per_bin[(per_bin["cards"].to_numpy() >= 3) & (inside >= CHARACTERISTIC_LIFT * outside)]


def _member_payment(
    rows: NumberedPayments, positions: np.ndarray, row_cluster: np.ndarray, ring_bins: pd.DataFrame, n_accounts: int
) -> np.ndarray:
    """Per account position: 1 when it shares a card with 2+ members, or pays from one of its ring's BINs."""
    scored = np.flatnonzero(row_cluster >= 0)
    if len(scored) == 0:
        return np.zeros(n_accounts)
    cluster, card = row_cluster[scored].astype(np.int64), rows.card[scored]
    carded = card >= 0
    # each (cluster, card) pair numbered, then its distinct accounts counted
    _, pair = sorted_numbers(cluster[carded] * (int(rows.card.max(initial=0)) + 1) + card[carded])
    n_ids = int(rows.account.max(initial=0)) + 1
    users = np.bincount(pd.unique(pair * n_ids + rows.account[scored][carded]) // n_ids, minlength=int(pair.max(initial=-1)) + 1)
    signal = np.zeros(len(scored), dtype=bool)
    signal[carded] = users[pair] >= 3
    if rows.has_bin and len(ring_bins):
        n_bins = int(rows.bin.max(initial=0)) + 1
        marks = ring_bins["cluster"].to_numpy(dtype=np.int64) * n_bins + ring_bins["bin"].to_numpy(dtype=np.int64)
        binned = rows.bin[scored] >= 0
        signal[binned] |= np.isin(cluster[binned] * n_bins + rows.bin[scored][binned], marks)
    return (np.bincount(positions[scored][signal], minlength=n_accounts) > 0).astype(float)


def payment_features(
    payments: pd.DataFrame | NumberedPayments, row_cluster: np.ndarray, size: pd.Series, card_holders: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per cluster: accounts per shared card, the share of its cards from its own few BINs, and the share of
    its members billed by invoice (payments of kind ``invoice``: a provider invoices the customers whose
    business it has checked).

    ``card_holders`` (accounts per card in the whole population, by card id) lets a card count as shared
    as it is everywhere, not only inside the cluster (:func:`_population_card_sharing`); ``payments`` may
    come numbered already (:func:`numbered_payments`, holders included).
    Also returns the clusters' characteristic BINs (see :func:`_ring_bins`).
    """
    rows = payments if isinstance(payments, NumberedPayments) else numbered_payments(payments, card_holders)
    scored = np.flatnonzero(row_cluster >= 0)
    cluster = row_cluster[scored].astype(np.int64)
    n_clusters = int(cluster.max(initial=-1)) + 1
    out = pd.DataFrame(index=size.index)
    ring_bins = pd.DataFrame({"cluster": [], "bin": [], "cards": []})
    out["invoiced_share"] = 0.0
    if len(scored) and rows.has_kind:
        invoiced = rows.invoice[scored]
        seats = pd.Series(distinct_per_cluster(cluster[invoiced], rows.account[scored][invoiced], n_clusters))
        out["invoiced_share"] = (seats.reindex(size.index, fill_value=0) / size).clip(0, 1)
    if len(scored) == 0:
        out["cards"] = 0
        out["bins"] = 0
        out["accounts_per_card"] = 0.0
        out["ring_bins"] = 0
        out["bin_concentration"] = 0.0
        return out, ring_bins
    out["cards"] = pd.Series(distinct_per_cluster(cluster, rows.card[scored], n_clusters)).reindex(size.index, fill_value=0)
    with_card = pd.Series(distinct_per_cluster(cluster, rows.account[scored], n_clusters)).reindex(size.index, fill_value=0)
    out["accounts_per_card"] = np.where(out["cards"] > 0, with_card / out["cards"].clip(lower=1), 0.0)
    if rows.holders is not None:
        holders = np.where(rows.card[scored] >= 0, rows.holders[np.maximum(rows.card[scored], 0)], 1.0)
        sharing = _population_card_sharing(cluster, rows.account[scored], holders).reindex(size.index).fillna(0.0).to_numpy()
        out["accounts_per_card"] = np.maximum(out["accounts_per_card"], sharing)
    if rows.has_bin and (rows.bin[scored] >= 0).any():
        out["bins"] = pd.Series(distinct_per_cluster(cluster, rows.bin[scored], n_clusters)).reindex(size.index, fill_value=0)
        ring_bins = _ring_bins(rows, row_cluster)
        on_ring_bins = ring_bins.groupby("cluster")["cards"].sum().reindex(size.index, fill_value=0)
        out["ring_bins"] = ring_bins.groupby("cluster").size().reindex(size.index, fill_value=0)
        many = out["cards"] >= 10
        out["bin_concentration"] = np.where(many, on_ring_bins / out["cards"].clip(lower=1), 0.0).clip(0.0, 1.0)
    else:
        out["bins"] = 0
        out["ring_bins"] = 0
        out["bin_concentration"] = 0.0
    return out, ring_bins
