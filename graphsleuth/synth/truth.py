"""The ground truth of a population: which ring each account belongs to, and its kind and group."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrays import prefixed
from .plan import KINDS, AccountPlan

__all__ = ["truth_table"]


def truth_table(plan: AccountPlan) -> pa.Table:
    """truth.csv: each account's ring (empty for legitimate accounts), kind and group."""
    o = plan.order
    ring_names = np.array([r.name for r in plan.scenario.rings] + [""], dtype=object)
    ring_id = ring_names[np.where(plan.ring[o] >= 0, plan.ring[o], len(plan.scenario.rings))]
    group_id = prefixed("g", pa.array(plan.group[o]).cast(pa.string()))
    return pa.table(
        {
            "account_id": plan.account_id.take(pa.array(o)),
            "ring_id": pa.array(ring_id, type=pa.string()),
            "kind": pa.array(np.array(KINDS)[plan.kind[o]]),
            "group_id": group_id,
        }
    )
