"""The links table: device fingerprints and phone numbers; lazy rings reuse both from small pools."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import hex_text, prefixed, scramble
from .kinds import COMPANY, HOUSEHOLD
from .plan import AccountPlan

__all__ = ["links_table"]


def links_table(plan: AccountPlan, rng: np.random.Generator) -> pa.Table:
    """Device fingerprints and phone numbers; lazy rings reuse both from small pools."""
    n, kind, group = plan.n, plan.kind, plan.group
    device = np.arange(n, dtype=np.int64)
    shared_device = (kind == HOUSEHOLD) & (rng.random(n) < 0.3)
    device[shared_device] = plan.group_first[group[shared_device]]
    phone_key = np.arange(n, dtype=np.int64)
    has_phone = rng.random(n) < np.where(kind == COMPANY, 0.5, 0.75)
    for i, ring in enumerate(plan.scenario.rings):
        m = np.flatnonzero(plan.ring == i)
        if ring.devices:
            device[m] = m[0] + rng.integers(0, ring.devices, len(m))
        has_phone[m] = True
        if ring.phones:
            phone_key[m] = m[0] + rng.integers(0, ring.phones, len(m))
    phones = np.flatnonzero(has_phone)
    acct = np.concatenate([np.arange(n), phones])
    link_kind = np.concatenate([np.zeros(n, np.int8), np.ones(len(phones), np.int8)])
    digits = (scramble(phone_key[phones], plan.seed * 13 + 3) % np.uint64(9_000_000_000) + np.uint64(1_000_000_000)).astype(np.int64)
    cc = np.array(
        [
            "+1",
            "+91",
            "+44",
            "+49",
            "+55",
            "+33",
            "+81",
            "+1",
            "+82",
            "+34",
            "+39",
            "+31",
            "+48",
            "+61",
            "+46",
            "+90",
            "+62",
            "+52",
            "+65",
            "+86",
        ]
    )
    phone_text = pc.binary_join_element_wise(pa.array(cc[plan.country[phones]]), pa.array(digits).cast(pa.string()), "")
    device_text = prefixed("fp_", hex_text(scramble(device, plan.seed * 17 + 9), 16))
    value = pa.concat_arrays([device_text, phone_text])
    order = np.lexsort((link_kind, plan.id_number[acct]))
    return pa.table(
        {
            "account_id": plan.account_id.take(pa.array(acct[order])),
            "kind": pa.array(np.array(["device", "phone"])[link_kind[order]]),
            "value": value.take(pa.array(order)),
        }
    )
