"""Campaigns: rings tied only by the tooling they share.

Operators share distillation tooling: public toolkits come with banks of
chain-of-thought, tool-use, coding and grading templates, and several
operators send the same ones, each on its own schedule from its own
infrastructure. Such rings stay separate rings (:mod:`.rings` joins pieces
only through infrastructure and timing); the rings whose own templates overlap
make one campaign, which an investigator sees as one line of business behind
several operators.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["Campaign", "group_campaigns", "SIGNATURE_OVERLAP"]

#: Two rings are one campaign when their own templates overlap at least this much (Jaccard).
SIGNATURE_OVERLAP = 0.3


@dataclass(frozen=True)
class Campaign:
    """Rings that send the same templates of their own: their ids, sizes, and the templates they share."""

    campaign_id: str
    ring_ids: tuple[str, ...]
    size: int
    shared_templates: tuple[tuple[str, int], ...]
    explanation: str

    def to_dict(self) -> dict:
        return {
            "campaign_id": self.campaign_id,
            "rings": list(self.ring_ids),
            "size": self.size,
            "shared_templates": [{"value": value, "rings": rings} for value, rings in self.shared_templates],
            "explanation": self.explanation,
        }


def group_campaigns(ring_ids: list[str], sizes: list[int], templates: list[set[str]]) -> tuple[list[int], list[Campaign]]:
    """The campaign of each ring (an index into the campaigns returned), and the campaigns.

    ``templates`` holds each ring's own templates. A ring whose templates overlap
    no other's is a campaign of its own.
    """
    n = len(ring_ids)
    if n == 0:
        return [], []
    vocabulary = sorted(set().union(*templates)) if templates else []
    column = {template: i for i, template in enumerate(vocabulary)}
    rows = np.repeat(np.arange(n), [len(t) for t in templates])
    cols = np.array([column[t] for ts in templates for t in sorted(ts)], dtype=np.int64)
    has = csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n, max(len(vocabulary), 1)))
    shared = (has @ has.T).tocoo()
    count = np.asarray(has.sum(axis=1)).ravel()
    union = count[shared.row] + count[shared.col] - shared.data
    keep = (shared.row < shared.col) & (shared.data / np.maximum(union, 1) >= SIGNATURE_OVERLAP)
    ties = coo_matrix((np.ones(keep.sum()), (shared.row[keep], shared.col[keep])), shape=(n, n))
    _, label = connected_components(ties, directed=False)
    campaigns, index_of = [], {}
    for ring in np.argsort(-np.asarray(sizes), kind="stable"):  # campaigns in order of their largest ring
        if label[ring] not in index_of:
            index_of[label[ring]] = len(campaigns)
            campaigns.append(_campaign([r for r in range(n) if label[r] == label[ring]], ring_ids, sizes, templates))
    return [index_of[label[r]] for r in range(n)], campaigns


def _campaign(rings: list[int], ring_ids: list[str], sizes: list[int], templates: list[set[str]]) -> Campaign:
    rings = sorted(rings, key=lambda r: (-sizes[r], ring_ids[r]))
    ids = tuple(ring_ids[r] for r in rings)
    digest = hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()[:10]
    senders = pd.Series([t for r in rings for t in templates[r]]).value_counts() if len(rings) > 1 else pd.Series(dtype=int)
    shared = tuple(sorted(((str(t), int(c)) for t, c in senders[senders >= 2].items()), key=lambda tc: (-tc[1], tc[0])))
    total = int(sum(sizes[r] for r in rings))
    if len(rings) == 1:
        text = f"one ring of {sizes[rings[0]]:,} accounts; no other ring sends its templates"
    else:
        sized = ", ".join(f"{sizes[r]:,}" for r in rings)
        text = (
            f"{len(rings)} rings of {sized} accounts send {len(shared)} of the same templates of their own, "
            "each from its own infrastructure and on its own schedule"
        )
    return Campaign(f"campaign-{digest}", ids, total, shared, text)
