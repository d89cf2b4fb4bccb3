"""The evidence tables numbered once per graph, for the scoring passes.

Each scoring pass groups the prompts and payments of the scored clusters' accounts. Grouping
millions of text ids again each pass (card, BIN, template and account ids) took seconds a pass at
1M accounts; numbered once, they are grouped with NumPy: by a hash where the order of the groups
does not matter, and by numbers in the ids' sorted order where it does, so that every figure and
every row comes out as grouping the text gave it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evidence import Evidence
from .graph import EvidenceGraph

__all__ = [
    "NumberedPayments",
    "NumberedPrompts",
    "distinct_per_cluster",
    "first_rows",
    "numbered_payments",
    "numbered_prompts",
    "row_clusters",
    "sorted_numbers",
]


def sorted_numbers(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` by a hash of the millions of keys and a sort of the distinct ones."""
    codes, distinct = pd.factorize(key)
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return distinct[order], rank[codes]


@dataclass
class NumberedPrompts:
    """The prompts table numbered once for every scoring pass (grouping millions of text ids again each pass
    took seconds at 1M accounts): each row's template number (-1: none) and account position (-1: unknown)."""

    template: np.ndarray
    #: The template id of each number, in sorted order (so numbers sort as the ids do).
    names: pd.Index
    position: np.ndarray
    count: np.ndarray

    def template_numbers(self, template_ids) -> np.ndarray:
        """The numbers of ``template_ids`` (-1: a template no prompt row names)."""
        return self.names.get_indexer(pd.Index(template_ids))


def numbered_prompts(evidence: Evidence, graph: EvidenceGraph) -> NumberedPrompts:
    """The evidence's prompts numbered (:class:`NumberedPrompts`), once per graph."""

    def number() -> NumberedPrompts:
        prompts = evidence.prompts
        template, names = pd.factorize(prompts["template_id"], sort=True)
        return NumberedPrompts(
            template.astype(np.int64), pd.Index(names), evidence.account_positions("prompts"), prompts["count"].to_numpy()
        )

    return graph.derived("numbered_prompts", number)


@dataclass
class NumberedPayments:
    """The payments table numbered once for every scoring pass: grouping millions of text ids again
    each pass took seconds at 1M accounts. Numbers follow first appearance; -1 is a missing value."""

    #: Per row: its account id's number, its card's (payment_id), its BIN's, whether it is an invoice.
    account: np.ndarray
    card: np.ndarray
    bin: np.ndarray
    invoice: np.ndarray
    has_kind: bool
    has_bin: bool
    #: Per card number: how many accounts of the whole population use it (None: not known).
    holders: np.ndarray | None


def numbered_payments(payments: pd.DataFrame, card_holders: pd.Series | None = None) -> NumberedPayments:
    """``payments`` numbered for scoring (``card_holders``: accounts per card in the population, by card id)."""
    n = len(payments)
    account = pd.factorize(payments["account_id"])[0].astype(np.int64)
    card, card_ids = pd.factorize(payments["payment_id"])
    has_bin = "bin" in payments.columns
    bins = pd.factorize(payments["bin"])[0].astype(np.int64) if has_bin else np.full(n, -1, dtype=np.int64)
    has_kind = "kind" in payments.columns
    invoice = (payments["kind"].astype("str").str.lower().to_numpy() == "invoice") if has_kind else np.zeros(n, dtype=bool)
    holders = None
    if card_holders is not None:
        holders = card_holders.reindex(np.asarray(card_ids)).fillna(1.0).to_numpy(dtype=float)
    return NumberedPayments(account, card.astype(np.int64), bins, invoice, has_kind, has_bin, holders)


def distinct_per_cluster(cluster: np.ndarray, value: np.ndarray, n_clusters: int) -> np.ndarray:
    """Per cluster number: how many distinct non-missing ``value`` numbers its rows hold."""
    known = value >= 0
    width = int(value.max(initial=0)) + 1
    return np.bincount(np.unique(cluster[known] * width + value[known]) // width, minlength=n_clusters)


def first_rows(*keys: np.ndarray) -> np.ndarray:
    """The positions of the first row of each distinct combination of ``keys`` (non-negative numbers), in row order."""
    key = np.zeros(len(keys[0]), dtype=np.int64)
    for values in keys:
        key = key * (int(values.max(initial=0)) + 1) + values
    _, first = np.unique(key, return_index=True)
    return np.sort(first)


def row_clusters(cluster_of: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The cluster of each table row's account (-1: unknown account, or not in a scored cluster)."""
    return np.where(positions >= 0, cluster_of[positions], -1)
