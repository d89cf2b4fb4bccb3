"""What a detection run found: the suspected rings and every cluster it looked at.

:class:`Findings` is what :func:`graphsleuth.detect` returns and what the
exporters and the Neo4j store consume; nothing here computes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Findings"]


@dataclass
class Findings:
    """The outcome of one detection run.

    ``members``: one row per account placed in a suspected ring, with columns
    ``account_id``, ``ring_id``, ``score``.

    ``rings``: one record (a JSON-ready dict) per suspected ring, best first,
    with at least ``ring_id``, ``size``, ``score``, ``evidence`` (shared
    evidence with counts), ``created_from``, ``created_to``,
    ``explanation`` (plain words).

    ``clusters``: every cluster of two or more accounts that was scored,
    flagged or not, each with ``cluster_id``, ``size``, ``score``,
    ``flagged``, ``ring_id`` (None unless flagged), ``reason`` and
    ``account_ids``; investigators use it to see what was passed over and why.

    ``run_id`` identifies the run (a digest of input, algorithm and seed), so
    writing the same run twice replaces rather than duplicates it.
    """

    members: pd.DataFrame
    rings: list[dict]
    clusters: list[dict]
    run_id: str
    algorithm: str
    seed: int
    stats: dict = field(default_factory=dict)
