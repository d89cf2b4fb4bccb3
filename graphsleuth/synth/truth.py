"""The ground truth of a population: which ring (and campaign) each account belongs to, and its kind and group."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrays import prefixed
from .kinds import KINDS
from .plan import AccountPlan

__all__ = ["truth_table"]


def truth_table(plan: AccountPlan) -> pa.Table:
    """truth.csv: each account's ring (empty for legitimate accounts), kind and group.

    A scenario with template banks (:attr:`~.scenario.Scenario.uses_campaigns`) adds a last
    column, ``campaign_id``: the bank a ring's templates come from, or the ring itself when its
    templates are its own (empty for legitimate accounts). Scenarios without banks keep the
    four columns they always had.
    """
    o = plan.order
    rings = plan.scenario.rings
    ring_names = np.array([r.name for r in rings] + [""], dtype=object)
    ring_of = np.where(plan.ring[o] >= 0, plan.ring[o], len(rings))
    ring_id = ring_names[ring_of]
    group_id = prefixed("g", pa.array(plan.group[o]).cast(pa.string()))
    columns = {
        "account_id": plan.account_id.take(pa.array(o)),
        "ring_id": pa.array(ring_id, type=pa.string()),
        "kind": pa.array(np.array(KINDS)[plan.kind[o]]),
        "group_id": group_id,
    }
    if plan.scenario.uses_campaigns:
        campaigns = np.array([plan.scenario.campaign_of(r) for r in rings] + [""], dtype=object)
        columns["campaign_id"] = pa.array(campaigns[ring_of], type=pa.string())
    return pa.table(columns)
