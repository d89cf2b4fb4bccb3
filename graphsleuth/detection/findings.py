"""What a detection run found: the suspected rings and every cluster it looked at, as typed records.

:class:`Findings` is what detection returns and what the exporters and the
Neo4j store consume; each record turns into the JSON line written to
``rings.jsonl`` or ``clusters.jsonl`` through its ``to_dict()``. Nothing here
computes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

__all__ = ["Findings", "Ring", "Lineage", "Cluster", "SharedEvidence", "SharedValue", "PeakDay", "RunStats"]


@dataclass(frozen=True)
class SharedValue:
    """One piece of evidence (a card, an IP, a template, ...) and how many of a ring's accounts share it."""

    value: str
    accounts: int

    def to_dict(self) -> dict:
        return {"value": self.value, "accounts": self.accounts}


@dataclass(frozen=True)
class SharedEvidence:
    """One kind of a ring's evidence: how many distinct values, how many shared by 2+ members, the top ones."""

    distinct: int
    shared: int
    top: tuple[SharedValue, ...] = ()

    def to_dict(self) -> dict:
        return {"distinct": self.distinct, "shared": self.shared, "top": [item.to_dict() for item in self.top]}

    def with_values(self, rename) -> SharedEvidence:
        """The same counts with every top value passed through ``rename`` (pseudonyms, say)."""
        return replace(self, top=tuple(replace(item, value=rename(item.value)) for item in self.top))


@dataclass(frozen=True)
class PeakDay:
    """The day a ring sent most of its requests, and that day's share of them."""

    day: str
    requests: int
    share: float

    def to_dict(self) -> dict:
        return {"day": self.day, "requests": self.requests, "share": self.share}


@dataclass(frozen=True)
class Lineage:
    """Where a ring comes from, measured against the previous run's rings (:mod:`graphsleuth.investigation`).

    ``change`` is ``new``, ``same``, ``grown``, ``shrunk``, ``split_from`` (a piece of a previous
    ring whose id another piece kept) or ``merged_from`` (it kept its id and took in other
    previous rings); ``rings`` names the previous rings involved; ``added`` and ``removed``
    count the accounts that joined and left, against those rings.
    """

    change: str
    rings: tuple[str, ...] = ()
    added: int = 0
    removed: int = 0

    def to_dict(self) -> dict:
        return {"change": self.change, "rings": list(self.rings), "added": self.added, "removed": self.removed}


@dataclass(frozen=True)
class Ring:
    """One suspected ring: its evidence, its time spans, its score and why it was flagged, in plain words."""

    ring_id: str
    size: int
    score: float
    evidence: dict[str, SharedEvidence]
    created_from: str | None
    created_to: str | None
    creation_burst_share: float
    requests: int
    active_from: str | None
    active_to: str | None
    peak_day: PeakDay | None
    features: dict[str, float | int]
    explanation: str
    run_id: str = ""
    algorithm: str = ""
    seed: int = 0
    browser_link: str | None = None
    #: The campaign the ring belongs to: the rings that send the same templates of their own.
    campaign_id: str | None = None
    #: The explanation's reasons alone, strongest first (the explanation says them in one sentence).
    reasons: tuple[str, ...] = ()
    #: The data times (``as_of``) of the first and the latest run that found the ring, and its lineage
    #: against the previous run. ``graphsleuth.detect`` always sets them (a first run: ``new``, both
    #: times its own); detection alone leaves them None, and the record then shows them as null.
    first_seen: str | None = None
    last_seen: str | None = None
    lineage: Lineage | None = None
    #: The investigators' latest verdict on the ring (its verdicts.jsonl record, with what changed
    #: since, when a dismissed ring is flagged again), and its successors after a ban; only when present.
    verdict: dict | None = None
    successors: dict | None = None

    def to_dict(self) -> dict:
        """The ring's JSON record, as ``rings.jsonl`` holds it."""
        record = {
            "ring_id": self.ring_id,
            "size": self.size,
            "score": self.score,
            "evidence": {name: group.to_dict() for name, group in self.evidence.items()},
            "created_from": self.created_from,
            "created_to": self.created_to,
            "creation_burst_share": self.creation_burst_share,
            "requests": self.requests,
            "active_from": self.active_from,
            "active_to": self.active_to,
            "peak_day": None if self.peak_day is None else self.peak_day.to_dict(),
            "features": dict(self.features),
            "explanation": self.explanation,
            "run_id": self.run_id,
            "algorithm": self.algorithm,
            "seed": self.seed,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "lineage": None if self.lineage is None else self.lineage.to_dict(),
        }
        if self.campaign_id is not None:
            record["campaign_id"] = self.campaign_id
        if self.verdict is not None:
            record["verdict"] = dict(self.verdict)
        if self.successors is not None:
            record["successors"] = dict(self.successors)
        if self.browser_link is not None:
            record["browser_link"] = self.browser_link
        return record


@dataclass(frozen=True)
class Cluster:
    """One cluster of linked accounts that was scored, flagged or not, with the reason in plain words."""

    cluster_id: str
    size: int
    score: float
    flagged: bool
    features: dict[str, float | int]
    account_ids: tuple[str, ...]
    ring_id: str | None
    reason: str

    def to_dict(self, accounts: bool = False) -> dict:
        """The cluster's JSON record as ``clusters.jsonl`` holds it (with its account ids when ``accounts``)."""
        record = {
            "cluster_id": self.cluster_id,
            "size": self.size,
            "score": self.score,
            "flagged": self.flagged,
            "features": dict(self.features),
        }
        if accounts:
            record["account_ids"] = list(self.account_ids)
        record["ring_id"] = self.ring_id
        record["reason"] = self.reason
        return record


@dataclass
class RunStats:
    """How big a run was and how long each of its steps took."""

    accounts: int = 0
    edges: int = 0
    clusters_scored: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"accounts": self.accounts, "edges": self.edges, "clusters_scored": self.clusters_scored, "timings_s": dict(self.timings_s)}


@dataclass
class Findings:
    """The outcome of one detection run.

    ``members``: one row per account placed in a suspected ring, with columns
    ``account_id``, ``ring_id``, ``score``. ``rings``: one :class:`Ring` per
    suspected ring, best first. ``clusters``: every cluster of
    :data:`~graphsleuth.detection.scoring.MIN_RING_SIZE` or more accounts that
    was scored, flagged or not; investigators use it to see what was passed
    over and why. ``run_id`` identifies the run (a digest of input, algorithm
    and seed), so writing the same run twice replaces rather than duplicates it.
    """

    members: pd.DataFrame
    rings: list[Ring]
    clusters: list[Cluster]
    run_id: str
    algorithm: str
    seed: int
    stats: RunStats = field(default_factory=RunStats)
    #: The input rows skipped in lenient mode, with why (file, row, column, reason, value).
    rejects: pd.DataFrame | None = None
    #: The campaigns the rings make: rings that send the same templates of their own.
    campaigns: list = field(default_factory=list)

    def ring(self, ring_id: str) -> Ring:
        """The ring called ``ring_id`` (KeyError when there is none)."""
        for ring in self.rings:
            if ring.ring_id == ring_id:
                return ring
        raise KeyError(ring_id)
