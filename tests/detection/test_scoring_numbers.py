"""Scoring groups numbered tables (ids numbered once per graph) where it grouped text: the same figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsleuth.detection.features import CHARACTERISTIC_LIFT
from graphsleuth.detection.graph import build_evidence_graph
from graphsleuth.detection.numbered import numbered_prompts, row_clusters
from graphsleuth.detection.payments import payment_features
from graphsleuth.detection.scoring import characteristic_templates
from graphsleuth.evidence import evidence_from_text

# ids whose text order differs from their order of appearance, and a few that share a prefix
TEMPLATES = ["t10", "t2", "T", "t1", "é", "a b", "t"]
CARDS = ["c9", "c10", "c1", "C"]
BINS = ["411111", "", "52", "4111"]


def _evidence(seed: int, n_accounts: int, n_prompts: int, n_payments: int):
    rng = np.random.default_rng(seed)
    ids = [f"u{i}" for i in range(n_accounts)]
    accounts = pd.DataFrame({"account_id": ids})
    prompts = pd.DataFrame(
        {
            "account_id": rng.choice(ids, n_prompts),
            "template_id": rng.choice(TEMPLATES, n_prompts),
            "count": rng.integers(1, 50, n_prompts).astype(str),
        }
    )
    payments = pd.DataFrame(
        {"account_id": rng.choice(ids, n_payments), "payment_id": rng.choice(CARDS, n_payments), "bin": rng.choice(BINS, n_payments)}
    ).drop_duplicates(["account_id", "payment_id"])
    tables = {"accounts": accounts, "prompts": prompts, "payments": payments}
    return evidence_from_text(tables, {name: f"{name}.csv" for name in tables}, "population"), rng


def _payments_by_text(payments: pd.DataFrame, row_cluster: np.ndarray) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Cards, BINs and characteristic BINs per cluster as grouping the text ids gives them."""
    pay = payments[row_cluster >= 0].assign(cluster=row_cluster[row_cluster >= 0])
    grouped = pay.groupby("cluster")
    cards = grouped["payment_id"].nunique()
    bins = grouped["bin"].nunique()
    all_cards = payments.assign(cluster=row_cluster).dropna(subset=["bin"]).drop_duplicates(["account_id", "payment_id"])
    everyone = all_cards.drop_duplicates("payment_id")
    mine = all_cards[all_cards["cluster"] >= 0].drop_duplicates(["cluster", "payment_id"])
    per_bin = mine.groupby(["cluster", "bin"]).size().rename("cards").reset_index()
    total = mine.groupby("cluster").size().reindex(per_bin["cluster"]).to_numpy()
    others = np.maximum(everyone["bin"].value_counts().reindex(per_bin["bin"]).to_numpy() - per_bin["cards"].to_numpy(), 0)
    outside = others / np.maximum(len(everyone) - total, 1)
    ring = per_bin[(per_bin["cards"] >= 3) & (per_bin["cards"] / total >= CHARACTERISTIC_LIFT * outside)]
    return cards, bins, ring.groupby("cluster").size()


def _populations(rows: st.SearchStrategy[int]):
    """Draws of (seed, accounts, rows of the table under test, clusters)."""
    return given(
        st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=3, max_value=40), rows, st.integers(min_value=1, max_value=4)
    )


@settings(max_examples=40, deadline=None)
@_populations(st.integers(min_value=0, max_value=300))
def test_own_templates_from_numbered_prompts_are_those_of_the_text(seed, n_accounts, n_prompts, n_clusters):
    evidence, rng = _evidence(seed, n_accounts, n_prompts, 0)
    graph = build_evidence_graph(evidence)
    labels = rng.integers(-1, n_clusters, graph.n_accounts)
    labels[labels < 0] = -1
    sizes = pd.Series(np.bincount(labels[labels >= 0], minlength=n_clusters)).rename_axis("cluster")
    size = sizes[sizes > 0]
    cluster_of = np.where(np.isin(labels, size.index), labels, -1)
    member = pd.Series(cluster_of[cluster_of >= 0], index=graph.accounts[cluster_of >= 0])
    row_cluster = row_clusters(cluster_of, evidence.account_positions("prompts"))
    users = graph.sharers("template")
    by_text = characteristic_templates(evidence.prompts, member, size, graph.n_accounts, row_cluster=row_cluster, users=users)
    numbered = numbered_prompts(evidence, graph)
    by_number = characteristic_templates(evidence.prompts, member, size, graph.n_accounts, row_cluster, users, numbered)
    pd.testing.assert_frame_equal(by_number, by_text, check_dtype=False)


@settings(max_examples=40, deadline=None)
@_populations(st.integers(min_value=1, max_value=120))
def test_payment_figures_from_numbered_payments_are_those_of_the_text(seed, n_accounts, n_payments, n_clusters):
    evidence, rng = _evidence(seed, n_accounts, 0, n_payments)
    payments = evidence.payments
    row_cluster = row_clusters(rng.integers(-1, n_clusters, n_accounts), evidence.account_positions("payments"))
    size = pd.Series(10, index=pd.RangeIndex(n_clusters, name="cluster"))
    out, ring_bins = payment_features(payments, row_cluster, size)
    cards, bins, ring = _payments_by_text(payments, row_cluster)
    assert out["cards"].tolist() == cards.reindex(size.index, fill_value=0).tolist()
    if payments["bin"].notna().any() and (row_cluster >= 0).any():
        assert out["bins"].tolist() == bins.reindex(size.index, fill_value=0).tolist()
        assert out["ring_bins"].tolist() == ring.reindex(size.index, fill_value=0).tolist()
